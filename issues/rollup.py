"""The issue figures of each community for each local month, kept for the dashboards.

A street of sixteen busy communities reports hundreds of thousands of issues a year; adding
them up for every dashboard request reads every one of them. ``IssueMonth`` holds, per
community and month, what the dashboards add up: the issues reported (by category, channel
and handling tier) and the seconds from report to resolution of those resolved, sorted, so
the median and 90th percentile over any months are exact and found without sorting them
again (``percentile``).

The rows are kept exact: every write of an issue that can move it between months or
breakdowns goes through ``issues.actions``, which calls ``issue_changed`` in the same
transaction; it recomputes the affected months from the issues under a lock on their rows
(``refresh``), so two writers of one month cannot lose each other's change. Recomputing
rather than adding one makes a refresh idempotent: the nightly Celery task
(``issues.tasks.refresh_issue_months``) and ``manage.py refresh_issue_months`` rebuild
months the same way, which repairs anything written around the actions (bulk imports).

Figures that depend on today (still open, overdue) and the follow-up reviews are not here:
the dashboards read them live.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from array import array
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from issues.figures import SECONDS_PER_DAY, days_between
from issues.models import Issue, IssueMonth
from issues.periods import local_midnight

# The fields of an issue the monthly figures read.
FIELDS = frozenset({"community", "created", "category", "channel", "tier", "resolved_at"})


# The durations are stored as 32-bit integers (68 years of seconds), little-endian: four
# bytes each, read back without a Python object per value (a busy street resolves hundreds
# of thousands of issues a year).
_SECONDS = "i"


@dataclass
class MonthFigures:
    """What one community's issues of one month (or part of one) add up to."""

    collected: int = 0
    categories: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    tiers: Counter = field(default_factory=Counter)
    # Seconds from report to resolution, one per issue resolved in the month, in order.
    resolution_seconds: array = field(default_factory=lambda: array(_SECONDS))

    @property
    def resolved(self) -> int:
        return len(self.resolution_seconds)

    @classmethod
    def from_row(cls, row: IssueMonth) -> MonthFigures:
        return cls(
            collected=row.collected,
            categories=Counter({int(k): n for k, n in row.categories.items()}),
            channels=Counter(row.channels),
            tiers=Counter(row.tiers),
            resolution_seconds=unpack(row.resolution_seconds),
        )


def pack(seconds: Sequence[int]) -> bytes:
    packed = array(_SECONDS, seconds)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(data: bytes | memoryview) -> array:
    seconds = array(_SECONDS)
    seconds.frombytes(bytes(data))
    if sys.byteorder == "big":
        seconds.byteswap()
    return seconds


def percentile(runs: Sequence[Sequence[int]], fraction: float) -> float | None:
    """What ``PERCENTILE_CONT(fraction)`` gives over all the values of these sorted runs,
    without merging them: each value needed is found by bisecting on the value."""
    runs = [run for run in runs if len(run)]
    total = sum(len(run) for run in runs)
    if not total:
        return None
    position = fraction * (total - 1)
    lower = math.floor(position)
    below = _kth(runs, lower)
    if lower + 1 >= total or sum(bisect_right(run, below) for run in runs) > lower + 1:
        above = below  # the next value is the same one
    else:
        above = min(run[i] for run in runs if (i := bisect_right(run, below)) < len(run))
    return below + (above - below) * (position - lower)


def _kth(runs: list[Sequence[int]], k: int) -> int:
    """The k-th smallest value (from 0): the least v with more than k values ≤ v."""
    low, high = min(run[0] for run in runs), max(run[-1] for run in runs)
    while low < high:
        middle = (low + high) // 2
        if sum(bisect_right(run, middle) for run in runs) > k:
            high = middle
        else:
            low = middle + 1
    return low


def month_of(moment: dt.datetime) -> dt.date:
    """The first day of the local month of a moment."""
    return timezone.localtime(moment).date().replace(day=1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of the local month and the first instant after it."""
    return local_midnight(month), local_midnight(month + relativedelta(months=1))


def month_figures(
    community_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    issues: QuerySet | None = None,
) -> dict[int, MonthFigures]:
    """The figures of each community's issues between two instants of one month, read from
    the issues themselves (two queries). What a row of ``IssueMonth`` holds for a whole
    month, and what a dashboard adds for the part of a month a period cuts."""
    issues = (Issue.objects.all() if issues is None else issues).filter(
        community_id__in=list(community_ids)
    )
    issues = issues.order_by()
    figures: dict[int, MonthFigures] = defaultdict(MonthFigures)
    for community_id, category_id, channel, tier, n in (
        issues.filter(created__gte=start, created__lt=end)
        .values_list("community_id", "category_id", "channel", "tier")
        .annotate(n=Count("*"))
    ):
        month = figures[community_id]
        month.collected += n
        month.categories[category_id] += n
        month.channels[channel] += n
        month.tiers[tier] += n
    resolved = issues.filter(resolved_at__gte=start, resolved_at__lt=end)
    durations: dict[int, list[int]] = defaultdict(list)
    for community_id, seconds in _resolution_seconds(resolved):
        durations[community_id].append(seconds)
    for community_id, seconds in durations.items():
        figures[community_id].resolution_seconds = array(_SECONDS, sorted(seconds))
    return dict(figures)


def _resolution_seconds(resolved: QuerySet) -> Iterable[tuple[int, int]]:
    """(community, whole seconds from report to resolution) of each issue."""
    if connection.vendor != "postgresql":
        # SQLite has no interval arithmetic the ORM can extract seconds from.
        for community_id, created, resolved_at in resolved.values_list(
            "community_id", "created", "resolved_at"
        ):
            yield community_id, round((resolved_at - created).total_seconds())
        return
    pairs = resolved.annotate(days=days_between("created", "resolved_at")).values_list(
        "community_id", "days"
    )
    try:
        sql, params = pairs.query.sql_with_params()
    except EmptyResultSet:
        return
    # Through the cursor: a month of a busy street is tens of thousands of plain numbers,
    # which need none of the ORM's conversions per row.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for community_id, days in cursor.fetchall():
            yield community_id, round(days * SECONDS_PER_DAY)


def stored(
    community_ids: Iterable[int], months: Iterable[dt.date]
) -> dict[tuple[int, dt.date], MonthFigures]:
    """The kept figures of these communities for these whole months (one query)."""
    rows = IssueMonth.objects.filter(community_id__in=list(community_ids), month__in=list(months))
    return {(row.community_id, row.month): MonthFigures.from_row(row) for row in rows}


def refresh(community_id: int, months: Iterable[dt.date]) -> None:
    """Recompute the community's rows for these months from its issues."""
    for month in sorted(set(months)):
        _write([community_id], month)


def _write(
    community_ids: list[int],
    month: dt.date,
    *,
    issues: QuerySet | None = None,
    model: type[IssueMonth] = IssueMonth,
) -> None:
    """Recompute these communities' rows of one month, locked before the month is read.

    On PostgreSQL each statement of a READ COMMITTED transaction sees what committed before
    it began, so a writer that waited for the lock counts the other writer's issue as well
    as its own. Rows are locked in community order and a writer locks one community's
    months in month order: two writers cannot deadlock.
    """
    with transaction.atomic():
        model.objects.bulk_create(
            [model(community_id=pk, month=month) for pk in community_ids], ignore_conflicts=True
        )
        rows = list(
            model.objects.select_for_update()
            .filter(community_id__in=community_ids, month=month)
            .order_by("community_id")
        )
        start, end = month_bounds(month)
        figures = month_figures(community_ids, start, end, issues=issues)
        now = timezone.now()
        for row in rows:
            counted = figures.get(row.community_id, MonthFigures())
            row.collected = counted.collected
            row.categories = {str(k): n for k, n in counted.categories.items()}
            row.channels = dict(counted.channels)
            row.tiers = dict(counted.tiers)
            row.resolution_seconds = pack(counted.resolution_seconds)
            row.refreshed_at = now
        model.objects.bulk_update(rows, [*COLUMNS, "refreshed_at"])


COLUMNS = ["collected", "categories", "channels", "tiers", "resolution_seconds"]


def issue_changed(issue: Issue, fields: Iterable[str] | None = None) -> None:
    """Keep the months of an issue just written exact; ``fields`` are those it saved (None:
    all of them, as for a new issue). Months it left (a reopen clears its resolution) are
    refreshed as well as those it is in."""
    if fields is not None and not FIELDS.intersection(fields):
        return
    touched: dict[int, set[dt.date]] = defaultdict(set)
    for community_id, created, resolved_at in (
        (issue.community_id, issue.created, issue.resolved_at),
        issue.stored_for_rollup or (None, None, None),
    ):
        if community_id is None:
            continue
        for moment in (created, resolved_at):
            if moment is not None:
                touched[community_id].add(month_of(moment))
    for community_id in sorted(touched):
        refresh(community_id, touched[community_id])
    issue.stored_for_rollup = (issue.community_id, issue.created, issue.resolved_at)


def rebuild(
    *,
    since: dt.date | None = None,
    issues: QuerySet | None = None,
    model: type[IssueMonth] = IssueMonth,
) -> int:
    """Recompute every month, from ``since`` (or the first issue) to this one, of every
    community with issues; the months written. Idempotent: a month computed twice holds
    the same figures. (``issues`` and ``model``: a migration's historical models.)"""
    issues = (Issue.objects.all() if issues is None else issues).order_by()
    first = issues.order_by("created").values_list("created", flat=True).first()
    if first is None:
        return 0
    month = month_of(first)
    if since is not None:
        month = max(month, since.replace(day=1))
    community_ids = sorted(set(issues.values_list("community_id", flat=True).distinct()))
    last = month_of(timezone.now())
    written = 0
    while month <= last:
        _write(community_ids, month, issues=issues, model=model)
        written += 1
        month += relativedelta(months=1)
    return written
