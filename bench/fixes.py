"""A change bench/RESULTS.md measured but the app does not make, for one run only.

The index and query changes RESULTS.md recommended are in the app now. What
remains is a product decision, ``cap``: with a search word, count only the
newest 5,000 matches, so that a common word (电梯 is in one issue of ten) costs
a bounded scan; the page would show "5,000+". ``--try-fixes cap`` replaces
``status_counts`` in this process only.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Count

from issues.queries import status_counts as uncapped_status_counts

TRIAL_INDEX = "bench_trial_issue_recent"
COUNT_CAP = 5000


def drop_index() -> None:
    """Drop the trial index an earlier version of ``--try-fixes`` may have left."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {TRIAL_INDEX}")


def status_counts_capped(user, filters) -> dict[str, int]:
    from issues import queries
    from issues.models import Issue

    if not filters.q or filters.mine:
        return uncapped_status_counts(user, filters)
    newest = (
        queries._filtered(user, filters).order_by("-created", "-id").values("pk")[: COUNT_CAP + 1]
    )
    rows = Issue.objects.filter(pk__in=newest).order_by().values("status").annotate(n=Count("*"))
    return {row["status"]: row["n"] for row in rows}


def apply(which: set[str]) -> list[str]:
    """Apply "cap" if asked; returns what was applied."""
    from issues import queries

    applied = []
    if "cap" in which:
        queries.status_counts = status_counts_capped
        applied.append(f"counts of a search capped at {COUNT_CAP:,}")
    return applied
