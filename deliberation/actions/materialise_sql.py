"""The set-based SQL that creates meetings and tops up agendas for every council at once.

Neither schedules nor waiting issues pass through Python: each step is one INSERT …
SELECT … ON CONFLICT DO NOTHING (``_insert_select``), so 100,000 councils take a few
statements. ``materialise`` calls these; nothing else should.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from django.db import connection, models, transaction
from django.db.models import F, Min, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from deliberation.actions.base import start_of
from deliberation.models import AgendaItem, Meeting, Schedule
from deliberation.schedules import planned_days
from issues.models import Category, Issue
from members.models import Council

# The schedule fields that decide when its meetings fall and when they are announced. Most
# councils keep the default schedule, so the dates are worked out once per distinct timing
# rather than once per schedule (rrule took 2.2 s per 10,000 schedules). month_days is
# compared as the text the database holds: JSON equality is not portable (SQLite compares
# the text Django writes, which need not match how the row was written).
_SCHEDULE_TIMING = (
    "kind",
    "days",
    "weekday",
    "start_time",
    "on_day_off",
    "notice_days",
)
# Next meetings locked and topped up per transaction: a short wait for staff editing one of
# those agendas meanwhile, and well under PostgreSQL's 65,535 parameters per statement.
AGENDA_BATCH = 5_000
# Rows written by one run after which PostgreSQL's planner statistics are refreshed at once.
ANALYZE_AFTER = 10_000


def analyze_after_bulk(model: type[models.Model], rows: int) -> int:
    """Refresh the planner's statistics of a table once ``rows`` were written to it.

    Returns the rows written since the last refresh (0 when this one refreshed).
    Autovacuum catches up only on its next round, a minute or more later, and the
    top-up's plans need them. With the statistics of an empty meeting table, finding
    the work of 10,000 councils ran for minutes (a nested loop over every open meeting
    per issue) instead of 50 ms; with those of an empty agenda, each batch of the first
    run on 100,000 councils read a whole index per issue (250 s in all). Not owning the
    table makes ANALYZE warn and do nothing, not fail.
    """
    if rows < ANALYZE_AFTER or connection.vendor != "postgresql":
        return rows
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return 0


def _planned_sql() -> str:
    """A parameter that may be NULL in every row of the UNION: PostgreSQL needs its type."""
    if connection.vendor == "postgresql":
        return f"CAST(%s AS {Meeting._meta.get_field('planned_at').db_type(connection)})"
    return "%s"


def meetings_insert(today: dt.date, end: dt.date, council_id: int | None = None) -> int:
    """Insert the active schedules' missing meetings: one statement per distinct timing.

    Python works out the dates (``schedules.planned_days``); the database pairs every
    schedule of that timing with them and skips the meetings already there, so neither
    the schedules nor their meetings pass through Python (400,000 rows for 100,000
    councils). Rows go in (schedule, start) order, so two runs racing wait for one
    another instead of deadlocking, and the unique (council, starts_at) constraint with
    ON CONFLICT DO NOTHING keeps each meeting single. Two schedules of one council at the
    same time make one meeting. A meeting moved off a day off keeps the slot the rule
    gave as ``planned_at``; one moved by hand later still holds that slot, so it is not
    created a second time.
    """
    active = Schedule.objects.filter(is_active=True).annotate(days=Cast("month_days", TextField()))
    if council_id is not None:
        active = active.filter(council_id=council_id)
    timings = active.values(*_SCHEDULE_TIMING).annotate(first=Min("pk")).order_by("first")
    meeting = connection.ops.quote_name(Meeting._meta.db_table)
    created = 0
    for timing in timings:
        del timing["first"]
        fields = {name: value for name, value in timing.items() if name != "days"}
        days = json.loads(timing["days"]) if timing["days"] is not None else None
        rule = Schedule(month_days=days, **fields)
        planned = planned_days(rule, today, end)
        if not planned:
            continue
        notice = dt.timedelta(days=timing["notice_days"])
        dates = " UNION ALL ".join(
            [f"SELECT %s AS starts_at, %s AS notice_due_at, {_planned_sql()} AS planned_at,"
             " %s AS slot"] * len(planned)
        )  # fmt: skip
        adapt = connection.ops.adapt_datetimefield_value
        date_params = []
        for day in planned:
            starts_at, planned_at = day.at(rule.start_time), day.planned_at(rule.start_time)
            date_params += [
                adapt(starts_at),
                adapt(starts_at - notice),
                adapt(planned_at),
                adapt(planned_at or starts_at),
            ]
        rows, row_params = (
            active.filter(**timing)
            .order_by()
            .values(schedule_pk=F("pk"), council_pk=F("council_id"), schedule_place=F("place"))
            .query.sql_with_params()
        )
        created += _insert_select(
            Meeting,
            {
                "council_id": "s.council_pk",
                "schedule_id": "s.schedule_pk",
                "starts_at": "o.starts_at",
                "place": "s.schedule_place",
                "notice_due_at": "o.notice_due_at",
                "planned_at": "o.planned_at",
            },
            f"FROM ({rows}) s CROSS JOIN ({dates}) o"
            f" WHERE NOT EXISTS (SELECT 1 FROM {meeting} m"
            " WHERE m.council_id = s.council_pk AND m.starts_at = o.starts_at)"
            # The slot is held by a meeting moved off it (by the schedule or by hand), or by
            # one still on it (made before the day became a day off), unless a schedule
            # change cancelled that one (cancelled by nobody: ended_at empty).
            f" AND NOT EXISTS (SELECT 1 FROM {meeting} p"
            " WHERE p.council_id = s.council_pk AND p.planned_at = o.slot"
            " AND NOT (p.state = %s AND p.ended_at IS NULL))"
            f" AND NOT EXISTS (SELECT 1 FROM {meeting} u"
            " WHERE u.council_id = s.council_pk AND u.starts_at = o.slot AND u.planned_at IS NULL"
            " AND NOT (u.state = %s AND u.ended_at IS NULL))"
            " ORDER BY s.schedule_pk, o.starts_at",
            [*row_params, *date_params, Meeting.State.CANCELLED, Meeting.State.CANCELLED],
            constants={"kind": Meeting.Kind.REGULAR, "state": Meeting.State.SCHEDULED},
        )
    return created


def _open_meetings(today: dt.date):
    """Upcoming scheduled meetings not announced yet: their agendas still take issues."""
    return Meeting.objects.filter(
        state=Meeting.State.SCHEDULED, notice_sent_at__isnull=True, starts_at__gte=start_of(today)
    )


def _announced_meetings(now: dt.datetime):
    """Regular meetings announced and not begun: their agendas still take late items."""
    return Meeting.objects.filter(
        state=Meeting.State.SCHEDULED,
        kind=Meeting.Kind.REGULAR,
        notice_sent_at__isnull=False,
        starts_at__gt=now,
    )


def _waiting_for_announced_meeting(now: dt.datetime) -> tuple[str, list]:
    """``FROM … WHERE …`` pairing each council's next meeting ``m``, announced already, with
    the issues ``i`` that became ready since: they join it as late items (临时增加).

    ``m``: the council's first regular scheduled meeting that has not begun, when its notice
    went out. ``i``: the council's awaiting issues with no item at all (live or taken off by
    hand) on any scheduled meeting from today on: an issue staff took off an agenda by hand
    is not brought back early, and one waiting on a later agenda stays there. Urgent meetings
    are about their own matter and take no late items.
    """
    quote = connection.ops.quote_name
    item, meeting, council, issue, category = (
        quote(model._meta.db_table) for model in (AgendaItem, Meeting, Council, Issue, Category)
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    start = connection.ops.adapt_datetimefield_value(start_of(timezone.localtime(now).date()))
    scheduled, regular = Meeting.State.SCHEDULED, Meeting.Kind.REGULAR
    sql = f"""
        FROM {meeting} m
        JOIN {council} c ON c.id = m.council_id
        JOIN {issue} i ON i.community_id = c.community_id
        JOIN {category} k ON k.id = i.category_id
        WHERE m.state = %s AND m.kind = %s AND m.notice_sent_at IS NOT NULL AND m.starts_at > %s
          AND NOT EXISTS (
              SELECT 1 FROM {meeting} e
              WHERE e.council_id = m.council_id AND e.state = %s AND e.kind = %s
                AND e.starts_at > %s
                AND (e.starts_at < m.starts_at OR (e.starts_at = m.starts_at AND e.id < m.id)))
          AND i.status = %s
          AND NOT EXISTS (
              SELECT 1 FROM {item} u JOIN {meeting} um ON um.id = u.meeting_id
              WHERE u.issue_id = i.id AND um.state = %s AND um.starts_at >= %s)
    """
    params = [scheduled, regular, moment, scheduled, regular, moment]
    return sql, [*params, Issue.Status.AWAITING, scheduled, start]


def _waiting_for_next_meeting(today: dt.date) -> tuple[str, list]:
    """``FROM … WHERE …`` pairing each council's next open meeting ``m`` with its issues ``i``.

    ``m``: the council's first upcoming scheduled meeting not announced yet (the agenda
    stays open until the notice goes out). ``i``: the council's awaiting issues with no
    live item (one not taken off by hand) on any upcoming scheduled meeting, and no item
    at all on ``m``: an item taken off by hand keeps its row, so the issue waits for the
    following meeting. ``k``: the issue's category. Plain joins and (NOT) EXISTS, so the
    planner may start from the few waiting issues: the run that finds agendas up to date
    reads little.
    """
    quote = connection.ops.quote_name
    item, meeting, council, issue, category = (
        quote(model._meta.db_table) for model in (AgendaItem, Meeting, Council, Issue, Category)
    )
    start = connection.ops.adapt_datetimefield_value(start_of(today))
    scheduled = Meeting.State.SCHEDULED
    sql = f"""
        FROM {meeting} m
        JOIN {council} c ON c.id = m.council_id
        JOIN {issue} i ON i.community_id = c.community_id
        JOIN {category} k ON k.id = i.category_id
        WHERE m.state = %s AND m.notice_sent_at IS NULL AND m.starts_at >= %s
          AND NOT EXISTS (
              SELECT 1 FROM {meeting} e
              WHERE e.council_id = m.council_id AND e.state = %s
                AND e.notice_sent_at IS NULL AND e.starts_at >= %s
                AND (e.starts_at < m.starts_at OR (e.starts_at = m.starts_at AND e.id < m.id)))
          AND i.status = %s
          AND NOT EXISTS (
              SELECT 1 FROM {item} u JOIN {meeting} um ON um.id = u.meeting_id
              WHERE u.issue_id = i.id AND u.removed_at IS NULL
                AND um.state = %s AND um.starts_at >= %s)
          AND NOT EXISTS (
              SELECT 1 FROM {item} h WHERE h.meeting_id = m.id AND h.issue_id = i.id)
    """
    return sql, [scheduled, start, scheduled, start, Issue.Status.AWAITING, scheduled, start]


def agenda_targets(today: dt.date, council_id: int | None = None) -> list[tuple[int, int]]:
    """(meeting, council) for each council's next open meeting with issues to take, by meeting."""
    source, params = _waiting_for_next_meeting(today)
    if council_id is not None:
        source, params = f"{source} AND c.id = %s", [*params, council_id]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT m.id, m.council_id {source} ORDER BY m.id", params)
        return [(meeting_id, council) for meeting_id, council in cursor.fetchall()]


def late_targets(now: dt.datetime, council_id: int | None = None) -> list[int]:
    """The announced meetings, not begun, with issues that became ready since, by id."""
    source, params = _waiting_for_announced_meeting(now)
    if council_id is not None:
        source, params = f"{source} AND c.id = %s", [*params, council_id]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT m.id {source} ORDER BY m.id", params)
        return [meeting_id for (meeting_id,) in cursor.fetchall()]


def agenda_late_top_up(now: dt.datetime, council_id: int | None = None) -> int:
    """Append the issues that became ready after a notice to that meeting, marked late.

    The same locking as ``agenda_top_up``: the batch's meetings are locked in id order and
    the INSERT re-reads which of them are still announced, not begun and next, so an item
    never joins a meeting that began meanwhile. Returns the items added.
    """
    targets = late_targets(now, council_id)
    limit = connection.features.max_query_params
    size = AGENDA_BATCH if limit is None else min(AGENDA_BATCH, limit - 16)
    added = 0
    for start in range(0, len(targets), size):
        with transaction.atomic():
            locked = list(
                _announced_meetings(now)
                .filter(pk__in=targets[start : start + size])
                .order_by("pk")
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)
            )
            if locked:
                source, params = _waiting_for_announced_meeting(now)
                added += _append(locked, source, params, late=True)
    return added


def agenda_top_up(today: dt.date, council_id: int | None = None) -> int:
    """Append the waiting issues to each council's next open meeting; the items added.

    Set-based: one query finds the meetings with work, then per batch of them one
    INSERT … SELECT adds every item (``_agenda_append``).

    Two beats may run this at once, and staff may edit one of these agendas meanwhile
    (``actions.agenda``). The unique (meeting, issue) constraint keeps an item single,
    but positions are computed from what the statement sees, so the batch's meetings are
    locked first, FOR NO KEY UPDATE, in id order: a second run, a hand edit or the notice
    claim on the same meeting waits for this transaction, and locking in one order means
    two runs cannot deadlock. The INSERT is a separate, later statement so that (READ
    COMMITTED) it sees everything committed before the locks were granted, and it only
    touches meetings this transaction holds. The lock is weaker than FOR UPDATE so that
    rows merely referring to a meeting (sign-ins, agenda items) are not held up. SQLite
    has no row locks: its transactions take the write lock up front (IMMEDIATE).
    """
    targets = [meeting_id for meeting_id, _ in agenda_targets(today, council_id)]
    limit = connection.features.max_query_params
    size = AGENDA_BATCH if limit is None else min(AGENDA_BATCH, limit - 16)
    added = unanalysed = 0
    for start in range(0, len(targets), size):
        with transaction.atomic():
            locked = list(
                _open_meetings(today)
                .filter(pk__in=targets[start : start + size])
                .order_by("pk")
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)
            )
            batch = _agenda_append(locked, today) if locked else 0
        added += batch
        unanalysed = analyze_after_bulk(AgendaItem, unanalysed + batch)
    return added


def _agenda_append(meeting_ids: list[int], today: dt.date) -> int:
    """One INSERT … SELECT topping up the agendas of ``meeting_ids`` (locked by the caller).

    Each meeting still its council's next open one takes the issues waiting for it, urgent
    first, then the must-deliberate categories, then the oldest, numbered on from its last
    live item as staff's own additions are (``base.put_on_agenda``).
    """
    source, params = _waiting_for_next_meeting(today)
    return _append(meeting_ids, source, params, late=False)


def _append(meeting_ids: list[int], source: str, params: list, *, late: bool) -> int:
    """INSERT … SELECT the items ``source`` pairs with ``meeting_ids``, numbered on."""
    item = connection.ops.quote_name(AgendaItem._meta.db_table)
    marks = ", ".join(["%s"] * len(meeting_ids))
    position = f"""
        COALESCE((SELECT MAX(p.position) FROM {item} p
                  WHERE p.meeting_id = m.id AND p.removed_at IS NULL), -1)
        + ROW_NUMBER() OVER (PARTITION BY m.id
                             ORDER BY i.is_urgent DESC, k.must_deliberate DESC, i.created, i.id)
    """
    return _insert_select(
        AgendaItem,
        {"meeting_id": "m.id", "issue_id": "i.id", "position": position},
        f"{source} AND m.id IN ({marks})",
        [*params, *meeting_ids],
        constants={"kind": AgendaItem.Kind.ISSUE, "late": late},
    )


def _insert_select(
    model: type[models.Model],
    values: Mapping[str, str],
    source: str,
    params: list,
    *,
    constants: Mapping[str, object] | None = None,
) -> int:
    """``INSERT INTO <model> SELECT … <source> ON CONFLICT DO NOTHING``: the rows inserted.

    ``values`` gives the SQL (without parameters) for some columns by attname and
    ``constants`` a value for others; every other column gets its field's default as
    ``objects.create`` would (auto_now fields: now), so a field added to the model later
    needs nothing here. The SELECT must have a WHERE clause (SQLite reads the ON of
    ON CONFLICT as a join condition otherwise).
    """
    quote = connection.ops.quote_name
    constants = constants or {}
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    unknown = (set(values) | set(constants)) - {field.attname for field in fields}
    if unknown:
        raise ValueError(f"not columns of {model.__name__}: {sorted(unknown)}")
    now = timezone.now()
    columns, selected, head = [], [], []
    for field in fields:
        columns.append(quote(field.column))
        if field.attname in values:
            selected.append(values[field.attname])
            continue
        if field.attname in constants:
            value = constants[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        value = field.get_db_prep_save(value, connection)
        # A bare NULL takes the column's type, whatever type the driver gives None.
        selected.append("NULL" if value is None else "%s")
        if value is not None:
            head.append(value)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)})"
        f" SELECT {', '.join(selected)} {source} ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, *params])
        return cursor.rowcount
