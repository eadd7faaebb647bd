"""Changes RESULTS.md measured before the app made them, kept so old commands still run.

The index and query changes RESULTS.md recommended are in the app now, and so is the
last one, ``cap``: a count the kept counters cannot answer stops at
``issues.queries.COUNT_CAP`` and the page shows "1,000+" with a link to count exactly.
``--try-fixes cap`` therefore changes nothing and says so.
"""

from __future__ import annotations

from django.db import connection

TRIAL_INDEX = "bench_trial_issue_recent"


def drop_index() -> None:
    """Drop the trial index an earlier version of ``--try-fixes`` may have left."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {TRIAL_INDEX}")


def apply(which: set[str]) -> list[str]:
    """Nothing left to try: "cap" is how the app counts now."""
    from issues.queries import COUNT_CAP

    if "cap" in which:
        return [f"none: counts are capped at {COUNT_CAP:,} by the app itself"]
    return []
