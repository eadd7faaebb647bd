"""The dashboards' figures of each community and each department for each local month.

A street of sixteen busy communities reports hundreds of thousands of issues a year; adding
them up for every dashboard request reads every one of them. ``IssueMonth`` holds, per
community and month, the issues reported (by category, channel and handling tier) and the
seconds from report to resolution of those resolved; ``DepartmentMonth``, per department
and month, the escalations assigned to it and the seconds from assignment to handling of
those handled. Durations are sorted, so the median and 90th percentile over any months are
exact and found without sorting them again (``percentile``).

The rows are kept exact: every write that can move an issue or an escalation between
months or breakdowns goes through ``issues.actions``, which calls ``issue_changed`` or
``escalation_changed`` in the same transaction; they recompute the affected months from the
rows under a lock on the month's row (``_write``), so two writers of one month cannot lose
each other's change. Recomputing rather than adding one makes a refresh idempotent: the
nightly Celery task (``issues.tasks.refresh_issue_months``) and ``manage.py
refresh_issue_months`` rebuild months the same way, which repairs anything written around
the actions (bulk imports).

Still open and overdue are kept as the first due day of each open issue of the month, in
order: still open is how many there are, overdue on any day how many fall before it, so a
figure that changes with today is still read from the row (a status or a due date changing
refreshes the month the issue was reported in). The follow-up reviews are not here: the
dashboards read them live.

``IssueCount`` holds how many issues each community has in each status: the inbox's counts
per status add up a few of these rows instead of reading every visible issue. The same
call (``issue_changed``) moves an issue from the count it leaves to the one it joins, with
one ``INSERT … ON CONFLICT DO UPDATE SET n = n + …`` per row (concurrent writers add to the
row rather than overwrite it; the issue's own row lock orders two changes of one issue).
``repair_counts`` (nightly, and after bulk writes) compares them with a COUNT and fixes and
logs any that were off.

``PairCount`` does the same per community, category, status and character pair of the
issues' text: a search for one two-character word (电梯, in one issue of nine) is counted
from a few hundred of these rows instead of the word's every issue. An issue moves in these
counts when its community, category, status or text changes (one statement for its pairs);
``repair_pair_counts`` recounts them community by community.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import psycopg
from dateutil.relativedelta import relativedelta
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import Extract, Round
from django.utils import timezone

from common.periods import local_midnight
from issues.models import (
    PAIR_SOURCES,
    DepartmentMonth,
    Escalation,
    Issue,
    IssueCount,
    IssueMonth,
    PairCount,
)

logger = logging.getLogger(__name__)

# The fields of an issue the monthly figures read.
ISSUE_FIELDS = frozenset(
    {"community", "created", "category", "channel", "tier", "resolved_at", "status", "due_on",
     "reply_due_on"}
)  # fmt: skip
# The fields of an issue the counts per community and status read.
COUNT_FIELDS = frozenset({"community", "status"})
# The fields of an issue the counts per character pair read.
PAIR_FIELDS = frozenset({"community", "category", "status", "search_bigrams"})


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
    # The first due day (``date.toordinal``) of each issue of the month still open, in order.
    open_due: array = field(default_factory=lambda: array(_SECONDS))

    @property
    def resolved(self) -> int:
        return len(self.resolution_seconds)

    @property
    def still_open(self) -> int:
        return len(self.open_due)

    def overdue(self, today: dt.date) -> int:
        """Of those still open, those due before ``today`` (``Issue.overdue_q``)."""
        return bisect_left(self.open_due, today.toordinal())

    @classmethod
    def from_row(cls, row: IssueMonth) -> MonthFigures:
        return cls.from_columns(*(getattr(row, name) for name in ISSUES.columns))

    @classmethod
    def from_columns(
        cls,
        collected: int,
        categories: dict | str,
        channels: dict | str,
        tiers: dict | str,
        resolution_seconds: bytes | memoryview,
        open_due: bytes | memoryview,
    ) -> MonthFigures:
        """The figures of a row's columns (``Rollup.columns``) as ``stored`` reads them."""
        return cls(
            collected=collected,
            categories=Counter({int(k): n for k, n in _json(categories).items()}),
            channels=Counter(_json(channels)),
            tiers=Counter(_json(tiers)),
            resolution_seconds=unpack(resolution_seconds),
            open_due=unpack(open_due),
        )


# The first due day of an open issue with neither date: after every day.
NO_DUE = 2**31 - 1


def first_due(due_on: dt.date | None, reply_due_on: dt.date | None) -> int:
    """The day number an open issue is overdue after: the earlier of its two dates."""
    days = [day.toordinal() for day in (due_on, reply_due_on) if day is not None]
    return min(days, default=NO_DUE)


def _json(value: dict | str) -> dict:
    # A binary read gives the database's JSON parsed; the ORM's text read, as text.
    return json.loads(value) if isinstance(value, str) else value


def pack(seconds: Sequence[int]) -> bytes:
    packed = array(_SECONDS, seconds)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(data: bytes | memoryview, *, order: str = "little") -> array:
    """Packed integers back: ours (``pack``) are little-endian; PostgreSQL's ``int4send``
    writes big-endian (``order="big"``)."""
    seconds = array(_SECONDS)
    seconds.frombytes(bytes(data))
    if sys.byteorder != order:
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
    """The k-th smallest value (from 0): the least v with more than k values ≤ v.

    The search starts between the runs' own values at that rank: at most k values lie below
    the least of the runs' ⌊k·len/N⌋-th, at least k + 1 at or below the greatest of their
    ⌈(k + 1)·len/N⌉-th. Months alike give a narrow start, some 17 halvings instead of
    24 over a year of seconds, each a bisection of every run.
    """
    total = sum(len(run) for run in runs)
    low = min(run[k * len(run) // total] for run in runs)
    high = max(run[max(0, -(-(k + 1) * len(run) // total) - 1)] for run in runs)
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
    the issues themselves (three queries). What a row of ``IssueMonth`` holds for a whole
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
    for community_id, (_n, seconds) in _sorted_seconds(
        resolved, "community_id", "created", "resolved_at"
    ).items():
        figures[community_id].resolution_seconds = seconds
    open_due: dict[int, list[int]] = defaultdict(list)
    for community_id, due_on, reply_due_on in issues.filter(
        created__gte=start, created__lt=end, status__in=Issue.OPEN_STATUSES
    ).values_list("community_id", "due_on", "reply_due_on"):
        open_due[community_id].append(first_due(due_on, reply_due_on))
    for community_id, days in open_due.items():
        figures[community_id].open_due = array(_SECONDS, sorted(days))
    return dict(figures)


@dataclass
class DepartmentFigures:
    """What the escalations assigned to one department in one month (or part) add up to."""

    assigned: int = 0
    # Seconds from assignment to handling, one per escalation handled, in order.
    handling_seconds: array = field(default_factory=lambda: array(_SECONDS))

    @property
    def handled(self) -> int:
        return len(self.handling_seconds)

    @classmethod
    def from_row(cls, row: DepartmentMonth) -> DepartmentFigures:
        return cls.from_columns(row.assigned, row.handling_seconds)

    @classmethod
    def from_columns(cls, assigned: int, handling_seconds: bytes | memoryview) -> DepartmentFigures:
        """The figures of a row's columns (``Rollup.columns``) as ``stored`` reads them."""
        return cls(assigned=assigned, handling_seconds=unpack(handling_seconds))


def department_figures(
    department_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    escalations: QuerySet | None = None,
) -> dict[int, DepartmentFigures]:
    """The figures of each department's escalations assigned between two instants of one
    month, read from the escalations (one query)."""
    escalations = (Escalation.objects.all() if escalations is None else escalations).filter(
        department_id__in=list(department_ids), decided_at__gte=start, decided_at__lt=end
    )
    return {
        department_id: DepartmentFigures(assigned=n, handling_seconds=seconds)
        for department_id, (n, seconds) in _sorted_seconds(
            escalations.order_by(), "department_id", "decided_at", "handled_at"
        ).items()
    }


def _sorted_seconds(
    rows: QuerySet, owner: str, begun: str, ended: str
) -> dict[int, tuple[int, array]]:
    """Per owner: how many rows, and the whole seconds from ``begun`` to ``ended`` of those
    ended, sorted.

    On PostgreSQL the database sorts and packs them: one row per owner whose seconds arrive
    as one ``bytea`` of four-byte integers, not a row per duration (a month of a busy street
    is tens of thousands of them, each a Python object on its way through the cursor).
    """
    database = connections[rows.db]
    if database.vendor != "postgresql":
        # SQLite has no interval arithmetic the ORM can extract seconds from.
        counted: dict[int, int] = defaultdict(int)
        durations: dict[int, list[int]] = defaultdict(list)
        for owner_id, first, last in rows.values_list(owner, begun, ended):
            counted[owner_id] += 1
            if last is not None:
                durations[owner_id].append(round((last - first).total_seconds()))
        return {
            owner_id: (n, array(_SECONDS, sorted(durations[owner_id])))
            for owner_id, n in counted.items()
        }
    elapsed = ExpressionWrapper(F(ended) - F(begun), output_field=DurationField())
    inner = rows.annotate(seconds=Round(Extract(elapsed, "epoch"))).values_list(owner, "seconds")
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:
        return {}
    packed = (
        "SELECT owner, COUNT(*), string_agg(int4send(seconds::int4), ''::bytea "
        "ORDER BY seconds) FILTER (WHERE seconds IS NOT NULL) "
        f"FROM ({sql}) AS counted (owner, seconds) GROUP BY owner"
    )
    with database.cursor() as cursor:
        cursor.execute(packed, params)
        return {
            owner_id: (n, unpack(data or b"", order="big"))
            for owner_id, n, data in cursor.fetchall()
        }


@dataclass(frozen=True)
class Rollup:
    """One kind of monthly row: its model, whose it is, and how it is counted and kept."""

    model: type
    owner: str  # the owner's column: community_id or department_id
    count: Callable  # (owner ids, start, end, source queryset or None) -> {owner: figures}
    empty: Callable  # figures of an owner with nothing in the month
    read: Callable  # a row's columns (as ``columns``) -> its figures
    fill: Callable  # (row, figures) -> None
    columns: tuple[str, ...]
    source: Callable  # () -> the rows counted (a historical model's in a migration)
    moment: str  # the source's field that places a row in a month


def _fill_issues(row: IssueMonth, figures: MonthFigures) -> None:
    row.collected = figures.collected
    row.categories = {str(k): n for k, n in figures.categories.items()}
    row.channels = dict(figures.channels)
    row.tiers = dict(figures.tiers)
    row.resolution_seconds = pack(figures.resolution_seconds)
    row.open_due = pack(figures.open_due)


def _fill_departments(row: DepartmentMonth, figures: DepartmentFigures) -> None:
    row.assigned = figures.assigned
    row.handling_seconds = pack(figures.handling_seconds)


ISSUES = Rollup(
    model=IssueMonth,
    owner="community_id",
    count=lambda ids, start, end, source: month_figures(ids, start, end, issues=source),
    empty=MonthFigures,
    read=MonthFigures.from_columns,
    fill=_fill_issues,
    columns=("collected", "categories", "channels", "tiers", "resolution_seconds", "open_due"),
    source=lambda: Issue.objects.all(),
    moment="created",
)
DEPARTMENTS = Rollup(
    model=DepartmentMonth,
    owner="department_id",
    count=lambda ids, start, end, source: department_figures(ids, start, end, escalations=source),
    empty=DepartmentFigures,
    read=DepartmentFigures.from_columns,
    fill=_fill_departments,
    columns=("assigned", "handling_seconds"),
    source=lambda: Escalation.objects.filter(department__isnull=False),
    moment="decided_at",
)


def stored(
    kind: Rollup, owner_ids: Iterable[int], months: Iterable[dt.date]
) -> dict[tuple[int, dt.date], object]:
    """The kept figures of these owners for these whole months (one query)."""
    rows = kind.model.objects.filter(
        **{f"{kind.owner}__in": list(owner_ids)}, month__in=list(months)
    ).values_list(kind.owner, "month", *kind.columns)
    return {(owner_id, month): kind.read(*columns) for owner_id, month, *columns in _binary(rows)}


def _binary(rows: QuerySet) -> Iterable[tuple]:
    """The rows of a ``values_list``; on PostgreSQL in the binary format.

    A street's three years are 576 community-months of packed durations, 3 MB: as text
    (hex) they are twice the size and each is decoded again (40 ms against 30 here).
    """
    database = connections[rows.db]
    if database.vendor != "postgresql":
        return list(rows)
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:
        return []
    database.ensure_connection()
    raw = psycopg.Cursor(database.connection)
    raw.format = psycopg.pq.Format.BINARY
    # Wrapped as Django wraps its own cursors: the statement is logged and counted.
    wrapped = (
        database.make_debug_cursor(raw) if database.queries_logged else database.make_cursor(raw)
    )
    with wrapped as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def refresh(community_id: int, months: Iterable[dt.date]) -> None:
    """Recompute the community's rows for these months from its issues."""
    for month in sorted(set(months)):
        _write(ISSUES, [community_id], month)


def _write(
    kind: Rollup,
    owner_ids: list[int],
    month: dt.date,
    *,
    source: QuerySet | None = None,
    model: type | None = None,
) -> None:
    """Recompute these owners' rows of one month, locked before the month is read.

    On PostgreSQL each statement of a READ COMMITTED transaction sees what committed before
    it began, so a writer that waited for the lock counts the other writer's change as well
    as its own. Rows are locked in owner order; a writer locks one owner's months in month
    order, a department's before a community's: two writers cannot deadlock.
    """
    model = model or kind.model
    with transaction.atomic():
        model.objects.bulk_create(
            [model(**{kind.owner: pk, "month": month}) for pk in owner_ids],
            ignore_conflicts=True,
        )
        rows = list(
            model.objects.select_for_update()
            .filter(**{f"{kind.owner}__in": owner_ids}, month=month)
            .order_by(kind.owner)
        )
        start, end = month_bounds(month)
        figures = kind.count(owner_ids, start, end, source)
        now = timezone.now()
        for row in rows:
            kind.fill(row, figures.get(getattr(row, kind.owner)) or kind.empty())
            row.refreshed_at = now
        model.objects.bulk_update(rows, [*kind.columns, "refreshed_at"])


def issue_changed(issue: Issue, fields: Iterable[str] | None = None) -> None:
    """Keep the months of an issue just written exact; ``fields`` are those it saved (None:
    all of them, as for a new issue). Months it left (a reopen clears its resolution) are
    refreshed as well as those it is in. Its count per community and status moves too."""
    _count_changed(issue, fields)
    _pairs_changed(issue, fields)
    if fields is not None and not ISSUE_FIELDS.intersection(fields):
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


def escalation_changed(escalation: Escalation) -> None:
    """Keep the month of an escalation just assigned or handled exact. (Its assignment is
    dated once, when the street office decides; nothing moves it to another month.)"""
    if escalation.department_id is not None and escalation.decided_at is not None:
        _write(DEPARTMENTS, [escalation.department_id], month_of(escalation.decided_at))


def rebuild_months(
    kind: Rollup,
    *,
    since: dt.date | None = None,
    source: QuerySet | None = None,
    model: type | None = None,
) -> int:
    """Recompute every month of this kind, from ``since`` (or the first row) to this one, of
    every owner with rows; the months written. Idempotent: a month computed twice holds the
    same figures. (``source`` and ``model``: a migration's historical models.)"""
    source = (kind.source() if source is None else source).order_by()
    first = (
        source.exclude(**{f"{kind.moment}__isnull": True})
        .order_by(kind.moment)
        .values_list(kind.moment, flat=True)
        .first()
    )
    if first is None:
        return 0
    month = month_of(first)
    if since is not None:
        month = max(month, since.replace(day=1))
    owner_ids = sorted(set(source.values_list(kind.owner, flat=True).distinct()))
    last = month_of(timezone.now())
    written = 0
    while month <= last:
        _write(kind, owner_ids, month, source=source, model=model)
        written += 1
        month += relativedelta(months=1)
    return written


def rebuild(*, since: dt.date | None = None) -> int:
    """Recompute the months of both kinds (see ``rebuild_months``) and repair the counts per
    community and status; the months written."""
    repair_counts()
    repair_pair_counts()
    return sum(rebuild_months(kind, since=since) for kind in (ISSUES, DEPARTMENTS))


# --- Counts per community and status ------------------------------------------------------


def _count_changed(issue: Issue, fields: Iterable[str] | None) -> None:
    """Move a just-written issue from the count it left to the one it joins (a new issue:
    ``fields`` None and never read from the database, joins one)."""
    if fields is not None and not COUNT_FIELDS.intersection(fields):
        return
    now = (issue.community_id, issue.status)
    before = issue.stored_for_counts
    if before is None and fields is not None:
        # Saved from a partial read: where it was is unknown, so recount its community
        # (and any other the issue could have come from: all of them, a rare path).
        repair_counts(
            community_ids=None if "community" in fields else [issue.community_id], log=False
        )
    elif before != now:
        deltas: Counter = Counter({now: 1})
        if before is not None:
            deltas[before] -= 1
        add_counts(deltas)
    issue.stored_for_counts = now


def add_counts(deltas: dict[tuple[int, str], int]) -> None:
    """Add to the counts of these (community, status) pairs: one statement each, in key
    order (two writers moving issues in opposite directions cannot deadlock)."""
    table = IssueCount._meta.db_table
    sql = (
        f"INSERT INTO {table} (community_id, status, n) VALUES (%s, %s, %s) "
        f"ON CONFLICT (community_id, status) DO UPDATE SET n = {table}.n + EXCLUDED.n"
    )
    with connection.cursor() as cursor:
        for (community_id, status), delta in sorted(deltas.items()):
            if delta:
                cursor.execute(sql, [community_id, status, delta])


def counted(issues: QuerySet | None = None) -> dict[tuple[int, str], int]:
    """The counts per (community, status) read from the issues themselves (one query)."""
    issues = Issue.objects.all() if issues is None else issues
    rows = issues.order_by().values_list("community_id", "status").annotate(n=Count("*"))
    return {(community_id, status): n for community_id, status, n in rows}


def _differences(actual: dict, stored: dict) -> dict:
    """What to add to each kept count to make it the counted one (only those that differ)."""
    return {
        key: actual.get(key, 0) - stored.get(key, 0)
        for key in actual.keys() | stored.keys()
        if actual.get(key, 0) != stored.get(key, 0)
    }


def repair_counts(*, community_ids: Iterable[int] | None = None, log: bool = True) -> int:
    """Compare the kept counts with a COUNT of the issues and fix those that differ (of
    these communities, or all); the rows fixed, each logged as a warning when ``log``.

    On PostgreSQL the counts' table is locked against writers for the comparison (an
    action waits a moment, the time of one grouped count), so an action that committed
    between the COUNT and the fix cannot be lost or counted twice.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {IssueCount._meta.db_table} IN EXCLUSIVE MODE")
        issues, kept = Issue.objects.all(), IssueCount.objects.all()
        if community_ids is not None:
            ids = list(community_ids)
            issues, kept = issues.filter(community_id__in=ids), kept.filter(community_id__in=ids)
        actual = counted(issues)
        stored = {(row.community_id, row.status): row.n for row in kept}
        off = _differences(actual, stored)
        for community_id, status in sorted(off):
            if log:
                logger.warning(
                    "issue count of community %s, status %s was %s, counted %s: fixed",
                    community_id, status, stored.get((community_id, status), 0),
                    actual.get((community_id, status), 0),
                )  # fmt: skip
        add_counts(off)
    return len(off)


# --- Counts per character pair ------------------------------------------------------------


def _pairs_changed(issue: Issue, fields: Iterable[str] | None) -> None:
    """Move a just-written issue's character pairs from the counts they leave to those they
    join (as ``_count_changed``)."""
    if fields is not None and not PAIR_FIELDS.intersection(fields):
        return
    now = tuple(getattr(issue, name) for name in PAIR_SOURCES)
    before = issue.stored_for_pairs
    if before is None and fields is not None:
        repair_pair_counts(
            community_ids=None if "community" in fields else [issue.community_id], log=False
        )
    elif before != now:
        deltas: Counter = Counter(_pair_keys(now))
        if before is not None:
            deltas.subtract(_pair_keys(before))
        add_pair_counts(deltas)
    issue.stored_for_pairs = now


def _pair_keys(stored: tuple) -> list[tuple[str, int, int, str]]:
    community_id, category_id, status, document = stored
    return [(pair, community_id, category_id, status) for pair in set(document.split())]


def add_pair_counts(deltas: dict[tuple[str, int, int, str], int]) -> None:
    """Add to the counts of these (pair, community, category, status): one statement for
    all of them, in key order (as ``add_counts``, writers cannot deadlock)."""
    rows = [(*key, delta) for key, delta in sorted(deltas.items()) if delta]
    if not rows:
        return
    table = PairCount._meta.db_table
    sql = (
        f"INSERT INTO {table} (pair, community_id, category_id, status, n) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (pair, community_id, category_id, status) "
        f"DO UPDATE SET n = {table}.n + EXCLUDED.n"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def pairs_counted(issues: QuerySet) -> Counter:
    """The counts per (pair, community, category, status) read from these issues' text."""
    counts: Counter = Counter()
    rows = issues.order_by().values_list(*PAIR_SOURCES)
    for stored in rows.iterator(chunk_size=5000):
        counts.update(_pair_keys(stored))
    return counts


def repair_pair_counts(*, community_ids: Iterable[int] | None = None, log: bool = True) -> int:
    """Recount the counts per character pair (of these communities, or all) from the issues
    and fix those that differ; the rows fixed, with a warning per community when ``log``.

    One community at a time, each under the same lock as ``repair_counts``: an action of
    another community waits at most one community's recount.
    """
    if community_ids is None:
        community_ids = set(Issue.objects.values_list("community_id", flat=True).distinct())
        community_ids |= set(PairCount.objects.values_list("community_id", flat=True).distinct())
    fixed = 0
    for community_id in sorted(community_ids):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {PairCount._meta.db_table} IN EXCLUSIVE MODE")
            actual = pairs_counted(Issue.objects.filter(community_id=community_id))
            kept = PairCount.objects.filter(community_id=community_id).values_list(
                "pair", "community_id", "category_id", "status", "n"
            )
            stored = {tuple(row[:4]): row[4] for row in kept}
            off = _differences(actual, stored)
            add_pair_counts(off)
        if off and log:
            logger.warning(
                "%s counts per character pair of community %s were off: fixed",
                len(off), community_id,
            )  # fmt: skip
        fixed += len(off)
    return fixed
