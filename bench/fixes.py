"""The changes bench/RESULTS.md recommends, applied for one run only (``--try-fixes``).

Nothing here edits the app: the index is created under a name of the
benchmark's own (and dropped again by a run without ``--try-fixes``), and the
two query changes replace functions in this process only. They are exactly
the diffs in RESULTS.md, so "after" figures measure what the diffs would give.

1. An index on (created DESC, id DESC). The inbox of anyone who sees more
   than one community (staff of several, street admins) filters by
   ``community_id IN (…)`` and orders by (-created, -id); ``issue_inbox``
   (community, -created, -id) serves only one community in that order, so
   PostgreSQL read every visible issue and sorted them. With this index it
   reads the newest rows and stops after a page.
2. Keyset pages with a range on the first key: ``(created < x) OR (created =
   x AND id < y)`` is not an index condition, so a page N deep walked N pages
   of the index; adding the redundant ``created <= x`` makes it one.
3. ``status_counts`` counts DISTINCT only when the "mine" filter joins
   assigned members (COUNT(DISTINCT) sorts every row, spilling to disk), and
   otherwise counts rows, ``COUNT(*)``: ``COUNT(id)`` needs the id of each row,
   which keeps PostgreSQL from answering from the (community, status) index
   ``issue_status`` alone (an index-only scan).
4. ``more``: the "Show more" request (htmx, target ``more-issues``) renders
   only the rows, yet the view computed ``status_counts`` for it too; skip it.
5. ``cap`` (a product decision, so not in the default set): with a search
   word, count only the newest 5,000 matches, so that a common word (电梯 is
   in one issue of ten) costs a bounded scan; the page would show "5,000+".
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q

TRIAL_INDEX = "bench_trial_issue_recent"
APPLIED: list[str] = []


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def add_index() -> None:
    _execute(f"CREATE INDEX IF NOT EXISTS {TRIAL_INDEX} ON issues_issue (created DESC, id DESC)")
    _execute("ANALYZE issues_issue")


def drop_index() -> None:
    _execute(f"DROP INDEX IF EXISTS {TRIAL_INDEX}")


def after_with_range(keys: tuple[str, ...], values: list) -> Q:
    from deliberation.paging import _after_unpatched

    first = keys[0]
    op = "lte" if first.startswith("-") else "gte"
    return Q(**{f"{first.lstrip('-')}__{op}": values[0]}) & _after_unpatched(keys, values)


def status_counts(user, filters) -> dict[str, int]:
    from issues.queries import _filtered

    rows = (
        _filtered(user, filters)
        .order_by()
        .values("status")
        .annotate(n=Count("pk", distinct=True) if filters.mine else Count("*"))
    )
    return {row["status"]: row["n"] for row in rows}


COUNT_CAP = 5000


def status_counts_capped(user, filters) -> dict[str, int]:
    from issues.models import Issue
    from issues.queries import _filtered

    if not filters.q or filters.mine:
        return status_counts(user, filters)
    newest = _filtered(user, filters).order_by("-created", "-id").values("pk")[: COUNT_CAP + 1]
    rows = Issue.objects.filter(pk__in=newest).order_by().values("status").annotate(n=Count("*"))
    return {row["status"]: row["n"] for row in rows}


def _skip_counts_for_more(view):
    """The inbox view, without status_counts when htmx asks for more rows only."""
    import functools

    from issues import queries

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.headers.get("HX-Target") != "more-issues":
            return view(request, *args, **kwargs)
        counting = queries.status_counts
        queries.status_counts = lambda user, filters: {}
        try:
            return view(request, *args, **kwargs)
        finally:
            queries.status_counts = counting

    return wrapped


def apply(which: set[str]) -> list[str]:
    """Apply some of "index", "keyset", "counts", "more", "cap"; returns what was applied."""
    from deliberation import paging
    from issues import queries

    if "index" in which:
        add_index()
        APPLIED.append("index (created DESC, id DESC)")
    if "keyset" in which:
        if not hasattr(paging, "_after_unpatched"):
            paging._after_unpatched = paging.after
        paging.after = after_with_range
        APPLIED.append("keyset range on created")
    if "counts" in which:
        queries.status_counts = status_counts
        APPLIED.append("status_counts COUNT(*) unless mine")
    if "cap" in which:
        queries.status_counts = status_counts_capped
        APPLIED.append(f"counts of a search capped at {COUNT_CAP:,}")
    if "more" in which:
        from django.urls import get_resolver

        for pattern in get_resolver().url_patterns:
            for inner in getattr(pattern, "url_patterns", [pattern]):
                if getattr(inner, "name", None) == "inbox" and not hasattr(
                    inner.callback, "__wrapped_by_bench__"
                ):
                    inner.callback = _skip_counts_for_more(inner.callback)
                    inner.callback.__wrapped_by_bench__ = True
        APPLIED.append("no status_counts for 'Show more'")
    return APPLIED
