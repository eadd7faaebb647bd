"""Writes to meetings: the only place a meeting, its agenda or its notices change.

Everything here runs from a periodic task that two beat processes may start at
once, so each step holds by the database, on SQLite as on PostgreSQL:

- meetings are inserted with ON CONFLICT DO NOTHING on the unique (council,
  starts_at) constraint, so a meeting is created once however many runs race;
- agendas are topped up under a lock on the meetings topped up (PostgreSQL) or
  the write lock every SQLite transaction takes up front (IMMEDIATE), and the
  unique (meeting, issue) constraint keeps an issue off an agenda twice;
- a notice is claimed by a conditional UPDATE that succeeds once, and each
  person's notice carries an idempotency key, so a second send reaches nobody.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Max, Min, Q, TextField
from django.db.models.functions import Cast
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from deliberation import permissions, queries, schedules
from deliberation.models import (
    AgendaItem,
    Attendance,
    Council,
    Decision,
    Meeting,
    Schedule,
    Vote,
)
from issues import actions as issue_actions
from issues import lifecycle
from issues.models import Category, FollowUpReview, Issue
from members import notifications
from members.models import CouncilMember, User

# The morning reminder goes out from this hour (local time) on the meeting's day.
REMINDER_HOUR = 7


class ActionError(Exception):
    """A request the meeting rules refuse; the message is shown to the user."""


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
    "move_weekend_to_monday",
    "notice_days",
)
# Next meetings locked and topped up per transaction: a short wait for staff editing one of
# those agendas meanwhile, and well under PostgreSQL's 65,535 parameters per statement.
AGENDA_BATCH = 5_000
# Rows written by one run after which PostgreSQL's planner statistics are refreshed at once.
ANALYZE_AFTER = 10_000


def meetings_materialise(
    *, today: dt.date, horizon_days: int = 42, council_id: int | None = None
) -> int:
    """Create the meetings of every active schedule from ``today`` to ``horizon_days`` ahead.

    Safe to run any number of times, concurrently too. Then tops up the agenda
    of each council's next meeting that has not been announced yet. With
    ``council_id``, only that council's (a schedule edit need not visit the
    others: 1.6 s at 100,000 councils). Returns the number of meetings inserted.
    """
    created = _meetings_insert(today, today + dt.timedelta(days=horizon_days), council_id)
    _analyze_after_bulk(Meeting, created)
    _agenda_top_up(today, council_id)
    return created


def _analyze_after_bulk(model: type[models.Model], rows: int) -> int:
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


def _meetings_insert(today: dt.date, end: dt.date, council_id: int | None = None) -> int:
    """Insert the active schedules' missing meetings: one statement per distinct timing.

    Python works out the dates (``schedules.occurrences``); the database pairs every
    schedule of that timing with them and skips the meetings already there, so neither
    the schedules nor their meetings pass through Python (400,000 rows for 100,000
    councils). Rows go in (schedule, start) order, so two runs racing wait for one
    another instead of deadlocking, and the unique (council, starts_at) constraint with
    ON CONFLICT DO NOTHING keeps each meeting single. Two schedules of one council at the
    same time make one meeting.
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
        times = schedules.occurrences(Schedule(month_days=days, **fields), today, end)
        if not times:
            continue
        notice = dt.timedelta(days=timing["notice_days"])
        dates = " UNION ALL ".join(["SELECT %s AS starts_at, %s AS notice_due_at"] * len(times))
        date_params = [
            connection.ops.adapt_datetimefield_value(moment)
            for starts_at in times
            for moment in (starts_at, starts_at - notice)
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
            },
            f"FROM ({rows}) s CROSS JOIN ({dates}) o"
            f" WHERE NOT EXISTS (SELECT 1 FROM {meeting} m"
            " WHERE m.council_id = s.council_pk AND m.starts_at = o.starts_at)"
            " ORDER BY s.schedule_pk, o.starts_at",
            [*row_params, *date_params],
            constants={"kind": Meeting.Kind.REGULAR, "state": Meeting.State.SCHEDULED},
        )
    return created


def councils_with_agenda_work(council_ids: Collection[int] | None, *, today: dt.date) -> list[int]:
    """The councils whose next unannounced meeting has an awaiting issue to take (None: all).

    Visiting every council to find nothing to add cost ~6 ms each (60 s for
    10,000 councils, bench/RESULTS.md); most runs have work for only a few.
    """
    councils = {council_id for _, council_id in _agenda_targets(today)}
    if council_ids is not None:
        councils &= set(council_ids)
    return sorted(councils)


def _open_meetings(today: dt.date):
    """Upcoming scheduled meetings not announced yet: their agendas still take issues."""
    return Meeting.objects.filter(
        state=Meeting.State.SCHEDULED, notice_sent_at__isnull=True, starts_at__gte=_start_of(today)
    )


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
    start = connection.ops.adapt_datetimefield_value(_start_of(today))
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


def _agenda_targets(today: dt.date, council_id: int | None = None) -> list[tuple[int, int]]:
    """(meeting, council) for each council's next open meeting with issues to take, by meeting."""
    source, params = _waiting_for_next_meeting(today)
    if council_id is not None:
        source, params = f"{source} AND c.id = %s", [*params, council_id]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT m.id, m.council_id {source} ORDER BY m.id", params)
        return [(meeting_id, council) for meeting_id, council in cursor.fetchall()]


def _agenda_top_up(today: dt.date, council_id: int | None = None) -> int:
    """Append the waiting issues to each council's next open meeting; the items added.

    Set-based: one query finds the meetings with work, then per batch of them one
    INSERT … SELECT adds every item (``_agenda_append``).

    Two beats may run this at once, and staff may edit one of these agendas meanwhile
    (``_lock_for_editing``). The unique (meeting, issue) constraint keeps an item single,
    but positions are computed from what the statement sees, so the batch's meetings are
    locked first, FOR NO KEY UPDATE, in id order: a second run, a hand edit or the notice
    claim on the same meeting waits for this transaction, and locking in one order means
    two runs cannot deadlock. The INSERT is a separate, later statement so that (READ
    COMMITTED) it sees everything committed before the locks were granted, and it only
    touches meetings this transaction holds. The lock is weaker than FOR UPDATE so that
    rows merely referring to a meeting (sign-ins, agenda items) are not held up. SQLite
    has no row locks: its transactions take the write lock up front (IMMEDIATE).
    """
    targets = [meeting_id for meeting_id, _ in _agenda_targets(today, council_id)]
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
        unanalysed = _analyze_after_bulk(AgendaItem, unanalysed + batch)
    return added


def _agenda_append(meeting_ids: list[int], today: dt.date) -> int:
    """One INSERT … SELECT topping up the agendas of ``meeting_ids`` (locked by the caller).

    Each meeting still its council's next open one takes the issues waiting for it, urgent
    first, then the must-deliberate categories, then the oldest, numbered on from its last
    live item as staff's own additions are (``_next_position``).
    """
    item = connection.ops.quote_name(AgendaItem._meta.db_table)
    source, params = _waiting_for_next_meeting(today)
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
        constants={"kind": AgendaItem.Kind.ISSUE},
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


@transaction.atomic
def agenda_build(*, council_id: int, today: dt.date) -> int:
    """Put the council's issues awaiting deliberation on its next unannounced meeting.

    Urgent issues first, then the must-deliberate categories, then the oldest.
    An issue already on any upcoming meeting's agenda is not added again. The
    agenda stays open until the notice goes out, so issues that arrive until
    then join it; afterwards they wait for the following meeting. Returns the
    number of items added. The same statement as ``meetings_materialise``'s top-up.
    """
    return _agenda_top_up(today, council_id=council_id)


def meeting_notices_send(*, now: dt.datetime) -> int:
    """Announce meetings whose notice time has come, and remind on the morning of the day.

    Each meeting is claimed by a conditional UPDATE (it succeeds once) in the
    same transaction as its notices, so a run that dies leaves the meeting to
    the next run, and the notices' keys keep anyone from hearing twice.
    Returns the number of notices created.
    """
    sent = 0
    due = Meeting.objects.filter(
        state=Meeting.State.SCHEDULED,
        notice_sent_at__isnull=True,
        notice_due_at__lte=now,
        starts_at__gt=now,
    ).order_by("notice_due_at", "id")
    for meeting_id in list(due.values_list("pk", flat=True)):
        sent += meeting_announce(meeting_id=meeting_id, now=now, kind="meeting_notice")
    local = timezone.localtime(now)
    if local.hour >= REMINDER_HOUR:
        tomorrow = _start_of(local.date() + dt.timedelta(days=1))
        today_meetings = Meeting.objects.filter(
            state=Meeting.State.SCHEDULED,
            reminder_sent_at__isnull=True,
            starts_at__gt=now,
            starts_at__lt=tomorrow,
        ).order_by("starts_at", "id")
        for meeting_id in list(today_meetings.values_list("pk", flat=True)):
            sent += meeting_announce(meeting_id=meeting_id, now=now, kind="meeting_reminder")
    return sent


ANNOUNCEMENTS = {"meeting_notice": "notice_sent_at", "meeting_reminder": "reminder_sent_at"}


@transaction.atomic
def meeting_announce(*, meeting_id: int, now: dt.datetime, kind: str) -> int:
    """Claim the meeting's notice (or reminder) and tell its members; 0 when already claimed.

    The claim and the notices commit together: if this run dies, neither stays.
    """
    field = ANNOUNCEMENTS[kind]
    claimed = Meeting.objects.filter(
        Q(**{f"{field}__isnull": True}), pk=meeting_id, state=Meeting.State.SCHEDULED
    ).update(**{field: now, "updated": now})
    if not claimed:
        return 0  # another run took it
    meeting = Meeting.objects.select_related("council").get(pk=meeting_id)
    context = queries.notice_context(meeting)
    count = 0
    for user in queries.council_member_accounts(meeting.council_id):
        count += len(
            notifications.notify(user, kind, context, key=f"{kind}:{meeting.pk}:{user.pk}")
        )
    return count


# --- Running a meeting ---------------------------------------------------------------


@transaction.atomic
def attendance_sign_in(
    *, meeting: Meeting, member: CouncilMember, actor: User, how: str
) -> Attendance:
    """Record that ``member`` is present at ``meeting`` (once; current members of its council)."""
    if how not in Attendance.How.values:
        raise ValueError(f"unknown sign-in: {how!r}")
    # The state as stored, under the lock closing takes: no sign-in slips in after it.
    state = Meeting.objects.select_for_update().values_list("state", flat=True).get(pk=meeting.pk)
    if state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
    if state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed; signing in is over."))
    if member.council_id != meeting.council_id:
        raise ActionError(_("Only members of this council can sign in at its meetings."))
    if not member.is_current:
        raise ActionError(
            _("%(name)s is no longer a member of the council.") % {"name": member.resident.name}
        )
    if Attendance.objects.filter(meeting=meeting, member=member).exists():
        raise ActionError(_("%(name)s is already signed in.") % {"name": member.resident.name})
    try:
        with transaction.atomic():  # two phones at once: the constraint keeps one row
            return Attendance.objects.create(
                meeting=meeting,
                member=member,
                signed_in_at=timezone.now(),
                how=how,
                recorded_by=actor,
            )
    except IntegrityError as error:
        raise ActionError(
            _("%(name)s is already signed in.") % {"name": member.resident.name}
        ) from error


OUTCOMES_THAT_DECIDE = {
    Decision.Outcome.SOLVE_BY_COUNCIL,
    Decision.Outcome.REFER_TO_COMMUNITY,
    Decision.Outcome.ESCALATE_TO_STREET,
}


@transaction.atomic
def decision_record(
    *,
    item: AgendaItem,
    actor: User,
    outcome: str,
    notes: str,
    explanation: str = "",
    votes: Mapping[int, str] | None = None,
    members: Iterable[CouncilMember] = (),
    due_on: dt.date | None = None,
) -> Decision:
    """Record the council's decision on one agenda item and carry it out on the issue.

    The issue first records that the council deliberated it, then moves by the
    outcome, all through ``issues.actions``. Whatever any step refuses, nothing
    of the decision is written: it is one transaction.
    """
    if outcome not in Decision.Outcome.values:
        raise ActionError(_("Choose what the council decided."))
    notes = notes.strip()
    explanation = explanation.strip()
    meeting = Meeting.objects.select_for_update().select_related("council").get(pk=item.meeting_id)
    if meeting.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
    if meeting.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed; no more decisions can be recorded."))
    if AgendaItem.objects.filter(pk=item.pk, removed_at__isnull=False).exists():
        raise ActionError(_("This item is no longer on the agenda."))
    if Decision.objects.filter(item=item).exists():
        raise ActionError(_("This item has already been decided."))
    kind = AgendaItem.objects.values_list("kind", flat=True).get(pk=item.pk)
    if outcome not in {value for value, _label in queries.outcomes_for(kind)}:
        raise ActionError(
            _("A follow-up review item is decided by whether the fix worked.")
            if kind == AgendaItem.Kind.REVIEW
            else _("Only a follow-up review item is decided by whether the fix worked.")
        )
    if outcome == Decision.Outcome.NOT_ACTIONABLE and not explanation:
        raise ActionError(_("Explain why the matter is not actionable; the reporter will see it."))
    votes = {int(member_id): choice for member_id, choice in (votes or {}).items() if choice}
    if any(choice not in Vote.Choice.values for choice in votes.values()):
        raise ActionError(_("A vote is for, against or abstain."))
    if votes:
        _present, _needed, reached = queries.quorum(meeting)
        if not reached:
            raise ActionError(_("A decision put to a vote cannot be taken without a quorum."))
    decision = Decision.objects.create(
        item_id=item.pk,  # not item=: a refusal below must not leave it on the caller's item
        outcome=outcome,
        notes=notes,
        explanation=explanation,
        needs_vote=bool(votes),
        decided_by=actor,
        decided_at=timezone.now(),
    )
    if votes:
        present = set(
            Attendance.objects.filter(
                meeting=meeting, member_id__in=votes, member__left_on__isnull=True
            ).values_list("member_id", flat=True)
        )
        Vote.objects.bulk_create(
            [
                Vote(decision=decision, member_id=member_id, choice=choice)
                for member_id, choice in sorted(votes.items())
                if member_id in present
            ]
        )
    if kind == AgendaItem.Kind.REVIEW:
        try:
            _carry_out_review(decision, meeting, item, actor)
        except (issue_actions.IssueActionError, lifecycle.TransitionRefused) as error:
            raise ActionError(str(error)) from error
    elif item.issue_id is not None:
        try:
            _carry_out(decision, meeting, item, actor, list(members), due_on)
        except (issue_actions.IssueActionError, lifecycle.TransitionRefused) as error:
            raise ActionError(str(error)) from error
    elif outcome == Decision.Outcome.DEFER:
        _carry_over(item, meeting)
    return decision


def _carry_out_review(decision: Decision, meeting: Meeting, item: AgendaItem, actor: User) -> None:
    from issues import reviews

    if decision.outcome == Decision.Outcome.DEFER:
        _carry_over(item, meeting)
        return
    reviews.review_council_record(
        issue=item.issue,
        actor=actor,
        outcome=queries.REVIEW_OUTCOMES[decision.outcome],
        notes=decision.notes,
    )


def _carry_out(
    decision: Decision,
    meeting: Meeting,
    item: AgendaItem,
    actor: User,
    members: list[CouncilMember],
    due_on: dt.date | None,
) -> None:
    day = formats.date_format(timezone.localtime(meeting.starts_at).date(), "Y-m-d")
    held = _("decided at the meeting of %(date)s") % {"date": day}
    issue = issue_actions.issue_record_deliberation(
        issue=item.issue, actor=actor, at=meeting.starts_at, note=held
    )
    outcome = decision.outcome
    reason = decision.notes or held
    if outcome in OUTCOMES_THAT_DECIDE:
        if issue.status == Issue.Status.DEFERRED:
            issue = _transition(issue, actor, "resume")
        if "decide" in {t.name for t in lifecycle.available(issue)}:
            issue = _transition(issue, actor, "decide", note=decision.notes)
    if outcome == Decision.Outcome.SOLVE_BY_COUNCIL:
        issue_actions.issue_assign(
            issue=issue, actor=actor, members=members, staff=issue.assigned_staff, due_on=due_on
        )
    elif outcome == Decision.Outcome.REFER_TO_COMMUNITY:
        if issue.tier != Issue.Tier.COUNCIL:
            raise ActionError(_("This matter is already with the community or above."))
        issue_actions.issue_escalate(issue=issue, actor=actor, reason=reason)
    elif outcome == Decision.Outcome.ESCALATE_TO_STREET:
        if issue.tier not in (Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY):
            raise ActionError(_("This issue is already with the street office."))
        while issue.tier != Issue.Tier.STREET:
            issue = issue_actions.issue_escalate(issue=issue, actor=actor, reason=reason)
    elif outcome == Decision.Outcome.NOT_ACTIONABLE:
        _transition(issue, actor, "not_actionable", note=decision.explanation)
    elif outcome == Decision.Outcome.DEFER:
        _transition(issue, actor, "defer", note=reason)
        _carry_over(item, meeting)


def _transition(issue: Issue, actor: User, name: str, note: str = "") -> Issue:
    return issue_actions.issue_transition(issue=issue, actor=actor, name=name, note=note)


def _carry_over(item: AgendaItem, meeting: Meeting) -> AgendaItem | None:
    """Put a deferred item on the council's next scheduled meeting, if there is one.

    The decided item stays on this meeting's agenda (its record); the next
    meeting gets its own item for the same matter (one taken off it by hand
    earlier is put back).
    """
    following = queries.next_meeting_after(meeting)
    if following is None:
        return None
    return _put_on(following, issue_id=item.issue_id, topic=item.topic, kind=item.kind)


def agenda_reviews_add(*, issues: Mapping[int, int], now: dt.datetime) -> set[int]:
    """Put a follow-up review item for each issue on its council's next meeting.

    ``issues`` maps issue ids to their community ids. The next meeting is the council's
    first scheduled one that has not begun. Meetings someone is editing right now are
    skipped rather than waited for (the sweeper comes back for those reviews), so a sweep
    never waits behind a meeting while holding its issues. Returns the issue ids placed
    (an issue already on that meeting counts as placed).
    """
    if not issues:
        return set()
    upcoming = Meeting.objects.filter(
        council=models.OuterRef("pk"), state=Meeting.State.SCHEDULED, starts_at__gt=now
    ).order_by("starts_at", "id")
    next_meeting = dict(
        Council.objects.filter(community_id__in=set(issues.values()))
        .annotate(meeting_id=models.Subquery(upcoming.values("pk")[:1]))
        .values_list("community_id", "meeting_id")
    )
    wanted = sorted({pk for pk in next_meeting.values() if pk is not None})
    if not wanted:
        return set()
    meetings = Meeting.objects.filter(pk__in=wanted, state=Meeting.State.SCHEDULED).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        meetings = meetings.select_for_update(no_key=True, skip_locked=True)
    locked = set(meetings.values_list("pk", flat=True))
    last = dict(
        AgendaItem.objects.filter(meeting_id__in=locked, removed_at__isnull=True)
        .values("meeting_id")
        .annotate(last=Max("position"))
        .values_list("meeting_id", "last")
    )
    # An issue has one row per meeting. The matter may be there already: reopened after an
    # earlier review (its item turned into an issue item) and resolved again since.
    already = {
        (item.meeting_id, item.issue_id): item
        for item in AgendaItem.objects.filter(meeting_id__in=locked, issue_id__in=list(issues))
        .annotate(decided=models.Exists(Decision.objects.filter(item=models.OuterRef("pk"))))
        .only("pk", "meeting_id", "issue_id", "kind", "removed_at")
    }
    placed, items, changed = set(), [], []
    for issue_id, community_id in sorted(issues.items()):
        meeting_id = next_meeting.get(community_id)
        if meeting_id not in locked:
            continue
        item = already.get((meeting_id, issue_id))
        if item is not None and item.decided:
            continue  # that meeting discussed it already: the review waits for the next one
        placed.add(issue_id)
        if item is not None and item.kind == AgendaItem.Kind.REVIEW and item.removed_at is None:
            continue
        if item is None:
            item = AgendaItem(meeting_id=meeting_id, issue_id=issue_id)
            items.append(item)
        else:
            changed.append(item)
        if item.removed_at is not None or item.pk is None:
            last[meeting_id] = last.get(meeting_id, -1) + 1
            item.position = last[meeting_id]
        item.kind = AgendaItem.Kind.REVIEW
        item.removed_at = item.removed_by = item.moved_to = None
    AgendaItem.objects.bulk_create(items)
    AgendaItem.objects.bulk_update(
        changed, ["kind", "position", "removed_at", "removed_by", "moved_to"]
    )
    return placed


def _waiting_review_items(issue_id: int):
    """The matter's review items still waiting, undecided, on meetings to come."""
    return AgendaItem.objects.filter(
        issue_id=issue_id,
        kind=AgendaItem.Kind.REVIEW,
        removed_at__isnull=True,
        decision__isnull=True,
        meeting__state=Meeting.State.SCHEDULED,
    )


def agenda_review_items_reopen(*, issue_id: int) -> int:
    """The matter was reopened: its waiting review items become issue items, so the council
    deliberates it there instead of reviewing a fix that failed."""
    return _waiting_review_items(issue_id).update(kind=AgendaItem.Kind.ISSUE)


def agenda_review_items_done(*, issue_id: int, now: dt.datetime) -> int:
    """The matter's review is over: take its waiting review items off coming agendas."""
    return _waiting_review_items(issue_id).update(removed_at=now)


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


# --- Schedules -----------------------------------------------------------------------------

SCHEDULE_FIELDS = (
    "kind",
    "month_days",
    "weekday",
    "start_time",
    "place",
    "notice_days",
    "move_weekend_to_monday",
)


@transaction.atomic
def schedule_save(
    *, actor: User, council: Council, schedule: Schedule | None = None, **fields
) -> Schedule:
    """Create or change a council's schedule, then bring its future meetings in line.

    Future meetings of the schedule that have not started and have not been
    announced are cancelled when the recurrence no longer holds them (their
    members are told), and the meetings the new recurrence asks for are
    created. Nothing is written when a field is refused.
    """
    unknown = set(fields) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
    if schedule is not None and schedule.council_id != council.pk:
        raise ValueError("the schedule belongs to another council")
    target = schedule if schedule is not None else Schedule(council=council)
    values = {name: getattr(target, name) for name in SCHEDULE_FIELDS} | fields
    try:
        values |= schedules.clean_schedule(
            kind=values["kind"], month_days=values["month_days"], weekday=values["weekday"]
        )
    except ValidationError as error:
        raise ActionError(" ".join(error.messages)) from error
    notice_days = values["notice_days"]
    if notice_days is None or not 0 <= int(notice_days) <= 30:
        raise ActionError(_("Give the notice as a number of days from 0 to 30."))
    values["place"] = (values["place"] or "").strip()
    for name, value in values.items():
        setattr(target, name, value)
    target.save()
    _schedule_reconcile(target)
    return target


@transaction.atomic
def schedule_deactivate(*, actor: User, schedule: Schedule) -> Schedule:
    """Stop using a schedule: its future unannounced meetings are cancelled, members told."""
    if not schedule.is_active:
        raise ActionError(_("This schedule is already out of use."))
    schedule.is_active = False
    schedule.save(update_fields=["is_active", "updated"])
    _schedule_reconcile(schedule)
    return schedule


def _schedule_reconcile(schedule: Schedule) -> int:
    """Cancel the schedule's open future meetings its council no longer wants; add new ones.

    A meeting another active schedule of the same council still falls on stays.
    A meeting this schedule cancelled earlier and now wants again is scheduled
    again. Returns the number of meetings cancelled.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    open_meetings = Meeting.objects.filter(
        schedule=schedule, starts_at__gt=now, notice_sent_at__isnull=True
    ).select_related("council")
    meetings = list(open_meetings.order_by("starts_at", "id"))
    last = max((timezone.localtime(m.starts_at).date() for m in meetings), default=today)
    end = max(last, today + dt.timedelta(days=42))
    wanted: set[dt.datetime] = set()
    for active in Schedule.objects.filter(council_id=schedule.council_id, is_active=True):
        wanted.update(schedules.occurrences(active, today, end))
    cancelled = [
        m for m in meetings if m.state == Meeting.State.SCHEDULED and m.starts_at not in wanted
    ]
    if schedule.is_active:
        # A meeting staff called off by hand (ended_at set) stays off.
        again = [
            m.pk
            for m in meetings
            if m.state == Meeting.State.CANCELLED and m.ended_at is None and m.starts_at in wanted
        ]
        Meeting.objects.filter(pk__in=again).update(state=Meeting.State.SCHEDULED, updated=now)
    kept = [m.pk for m in meetings if m.state == Meeting.State.SCHEDULED and m.starts_at in wanted]
    for meeting in Meeting.objects.filter(pk__in=kept):
        meeting.place = schedule.place
        meeting.notice_due_at = meeting.starts_at - dt.timedelta(days=schedule.notice_days)
        meeting.save(update_fields=["place", "notice_due_at", "updated"])
    Meeting.objects.filter(pk__in=[m.pk for m in cancelled]).update(
        state=Meeting.State.CANCELLED, updated=now
    )
    if cancelled:
        _tell_meeting_cancelled(cancelled, queries.council_member_accounts(schedule.council_id))
    meetings_materialise(today=today, council_id=schedule.council_id)
    return len(cancelled)


# --- Urgent convening ("blow the whistle") ------------------------------------------------


@transaction.atomic
def meeting_convene_urgent(
    *, issue: Issue, actor: User, starts_at: dt.datetime, place: str
) -> Meeting:
    """Call an urgent meeting about ``issue`` and tell its people at once.

    The issue becomes the meeting's first item (and leaves the agenda of any
    upcoming meeting not yet announced); every current member, and the lane and
    building leaders and party-member households near the issue, get a notice
    when the transaction commits. Nothing is written when anything is refused.
    """
    now = timezone.now()
    if not permissions.can_convene(actor, issue):
        raise ActionError(_("Only community staff or the council's leader or deputy can convene."))
    if not issue.is_open:
        raise ActionError(_("Only an open issue can be taken to an urgent meeting."))
    if starts_at <= now:
        raise ActionError(_("An urgent meeting cannot start in the past; choose a later time."))
    council = Council.objects.select_for_update().filter(community_id=issue.community_id).first()
    if council is None:
        raise ActionError(_("This community has no council yet."))
    clash = _("The council already has a meeting at %(when)s; choose another time.") % {
        "when": queries.local_time(starts_at)
    }
    if Meeting.objects.filter(council=council, starts_at=starts_at).exists():
        raise ActionError(clash)
    try:
        with transaction.atomic():
            meeting = Meeting.objects.create(
                council=council,
                starts_at=starts_at,
                place=place.strip(),
                kind=Meeting.Kind.URGENT,
                notice_due_at=now,
                notice_sent_at=now,
            )
    except IntegrityError as error:
        raise ActionError(clash) from error
    AgendaItem.objects.filter(
        issue=issue,
        meeting__council=council,
        meeting__state=Meeting.State.SCHEDULED,
        meeting__notice_sent_at__isnull=True,
        meeting__starts_at__gte=now,
        decision__isnull=True,
    ).exclude(meeting=meeting).delete()
    AgendaItem.objects.create(meeting=meeting, issue=issue, position=0, kind=AgendaItem.Kind.ISSUE)
    context = {**queries.notice_context(meeting), "title": issue.title, "issue_id": issue.pk}
    for user in queries.urgent_recipients(issue, council.pk):
        notifications.notify(
            user, "meeting_urgent", context, key=f"meeting_urgent:{meeting.pk}:{user.pk}"
        )
    return meeting


# --- Editing the agenda -------------------------------------------------------------------
#
# Staff change a scheduled meeting's agenda by hand, before or during the meeting. An item
# taken off keeps its row (removed_at), so the automatic top-up does not put the issue back
# on that meeting and the change stays on record. A decided item is the meeting's record of
# the matter: it is neither taken off nor moved. Every change locks the meeting row, so two
# people editing at once renumber one after the other.

MOVE_UP = "up"
MOVE_DOWN = "down"


def _lock_for_editing(meeting_id: int) -> Meeting:
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("council").get(pk=meeting_id)
    )
    if meeting.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled; its agenda can no longer change."))
    if meeting.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed; its agenda can no longer change."))
    return meeting


def _live_items(meeting: Meeting) -> list[AgendaItem]:
    return list(
        AgendaItem.objects.filter(meeting=meeting, removed_at__isnull=True)
        .select_related("decision")
        .order_by("position", "id")
    )


def _is_decided(item: AgendaItem) -> bool:
    return hasattr(item, "decision")


def _renumber(items: list[AgendaItem]) -> None:
    """Give the items positions 0, 1, 2 … in the order of the list."""
    changed = []
    for position, item in enumerate(items):
        if item.position != position:
            item.position = position
            changed.append(item)
    AgendaItem.objects.bulk_update(changed, ["position"])


def _find_live(items: list[AgendaItem], item: AgendaItem) -> AgendaItem:
    current = next((live for live in items if live.pk == item.pk), None)
    if current is None:
        raise ActionError(_("This item is no longer on the agenda."))
    return current


def _next_position(meeting: Meeting) -> int:
    last = meeting.agenda_items.filter(removed_at__isnull=True).aggregate(last=Max("position"))
    return 0 if last["last"] is None else last["last"] + 1


def _put_on(meeting: Meeting, *, issue_id: int | None, topic: str, kind: str) -> AgendaItem:
    """Append a matter to ``meeting``'s agenda, reusing the issue's row there if it has one.

    An issue has one row per meeting (a constraint): one taken off earlier is put back at
    the end, one still on the agenda stays where it is.
    """
    if issue_id is not None:
        existing = AgendaItem.objects.filter(meeting=meeting, issue_id=issue_id).first()
        if existing is not None:
            if existing.removed_at is not None:
                existing.position = _next_position(meeting)
                existing.removed_at = existing.removed_by = existing.moved_to = None
                existing.save(update_fields=["position", "removed_at", "removed_by", "moved_to"])
            return existing
    return AgendaItem.objects.create(
        meeting=meeting,
        issue_id=issue_id,
        topic=topic if issue_id is None else "",
        kind=kind,
        position=_next_position(meeting),
    )


def _take_off_other_agendas(issue: Issue, meeting: Meeting, actor: User) -> list[Meeting]:
    """Take the issue off every other upcoming agenda it waits on; those items point here.

    An issue is discussed at one meeting at a time (the top-up holds the same rule);
    an item already decided elsewhere is that meeting's record and stays.
    """
    now = timezone.now()
    waiting = (
        AgendaItem.objects.filter(
            issue=issue,
            removed_at__isnull=True,
            decision__isnull=True,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gte=_start_of(timezone.localdate(now)),
        )
        .exclude(meeting=meeting)
        .select_related("meeting")
    )
    items = list(waiting)
    for item in items:
        item.removed_at, item.removed_by, item.moved_to = now, actor, meeting
    AgendaItem.objects.bulk_update(items, ["removed_at", "removed_by", "moved_to"])
    return [item.meeting for item in items]


@transaction.atomic
def agenda_item_move(*, item: AgendaItem, actor: User, direction: str) -> AgendaItem:
    """Move an undecided item one place up or down; the agenda is numbered 0, 1, 2 … again.

    Decided items keep their place, so nothing moves past one.
    """
    if direction not in (MOVE_UP, MOVE_DOWN):
        raise ValueError(f"unknown direction: {direction!r}")
    meeting = _lock_for_editing(item.meeting_id)
    items = _live_items(meeting)
    current = _find_live(items, item)
    if _is_decided(current):
        raise ActionError(_("This item has been decided; it keeps its place on the agenda."))
    index = items.index(current)
    other = index - 1 if direction == MOVE_UP else index + 1
    if other < 0:
        raise ActionError(_("This item is already first on the agenda."))
    if other >= len(items):
        raise ActionError(_("This item is already last on the agenda."))
    if _is_decided(items[other]):
        raise ActionError(_("Decided items keep their place; an item cannot move past them."))
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    return current


@transaction.atomic
def agenda_issue_add(
    *, meeting: Meeting, actor: User, issue: Issue
) -> tuple[AgendaItem, list[Meeting]]:
    """Put an open issue of the council's community at the end of the agenda.

    An issue waiting, undecided, on another upcoming meeting's agenda is moved here: that
    item is taken off and points to this meeting. Returns the item and the meetings the
    issue was taken from.
    """
    meeting = _lock_for_editing(meeting.pk)
    issue = Issue.objects.get(pk=issue.pk)
    if issue.community_id != meeting.council.community_id:
        raise ActionError(_("Only issues of the council's own community can go on its agenda."))
    if not issue.is_open:
        raise ActionError(_("Only an open issue can go on the agenda."))
    if AgendaItem.objects.filter(meeting=meeting, issue=issue, removed_at__isnull=True).exists():
        raise ActionError(_("This issue is already on the agenda."))
    taken_from = _take_off_other_agendas(issue, meeting, actor)
    item = _put_on(meeting, issue_id=issue.pk, topic="", kind=AgendaItem.Kind.ISSUE)
    return item, taken_from


TOPIC_MAX_LENGTH = AgendaItem._meta.get_field("topic").max_length


@transaction.atomic
def agenda_topic_add(*, meeting: Meeting, actor: User, topic: str) -> AgendaItem:
    """Put a free topic (not an issue) at the end of the agenda."""
    topic = " ".join(topic.split())
    if not topic:
        raise ActionError(_("Write the topic to put on the agenda."))
    if len(topic) > TOPIC_MAX_LENGTH:
        raise ActionError(_("A topic has at most %(max)d characters.") % {"max": TOPIC_MAX_LENGTH})
    meeting = _lock_for_editing(meeting.pk)
    return _put_on(meeting, issue_id=None, topic=topic, kind=AgendaItem.Kind.TOPIC)


@transaction.atomic
def agenda_item_remove(*, item: AgendaItem, actor: User) -> AgendaItem:
    """Take an undecided item off the agenda; its row stays, marked removed."""
    meeting = _lock_for_editing(item.meeting_id)
    items = _live_items(meeting)
    current = _find_live(items, item)
    if _is_decided(current):
        raise ActionError(_("This item has been decided; it stays on the agenda as the record."))
    current.removed_at, current.removed_by = timezone.now(), actor
    current.save(update_fields=["removed_at", "removed_by"])
    _renumber([live for live in items if live.pk != current.pk])
    return current


@transaction.atomic
def agenda_item_restore(*, item: AgendaItem, actor: User) -> AgendaItem:
    """Put an item taken off by hand back at the end of the agenda.

    A deferred item is not put back here: it lives on the later meeting's agenda now.
    An issue waiting on another upcoming agenda meanwhile is moved here, as when added.
    """
    meeting = _lock_for_editing(item.meeting_id)
    current = AgendaItem.objects.select_related("moved_to", "issue").get(pk=item.pk)
    if current.removed_at is None:
        raise ActionError(_("This item is on the agenda already."))
    if current.moved_to is not None:
        raise ActionError(
            _(
                "This item was deferred to the meeting of %(date)s; change that meeting's "
                "agenda instead."
            )
            % {"date": _local_day(current.moved_to.starts_at)}
        )
    if current.kind == AgendaItem.Kind.REVIEW:
        # A resolved matter comes back for its review while the review still waits for it.
        if not FollowUpReview.objects.filter(
            issue_id=current.issue_id, state=FollowUpReview.State.SENT
        ).exists():
            raise ActionError(_("The follow-up review of this matter is over."))
        _take_off_other_agendas(current.issue, meeting, actor)
    elif current.issue is not None:
        if not current.issue.is_open:
            raise ActionError(_("Only an open issue can go on the agenda."))
        _take_off_other_agendas(current.issue, meeting, actor)
    return _put_on(meeting, issue_id=current.issue_id, topic=current.topic, kind=current.kind)


@transaction.atomic
def agenda_item_defer(*, item: AgendaItem, actor: User) -> AgendaItem:
    """Move an undecided item to the council's next scheduled meeting, before discussing it.

    The item here is taken off and points to that meeting, where the matter is appended.
    This is not the council's "defer" decision: the issue's status does not change.
    Returns the item on the later meeting.
    """
    meeting = _lock_for_editing(item.meeting_id)
    items = _live_items(meeting)
    current = _find_live(items, item)
    if _is_decided(current):
        raise ActionError(_("This item has been decided; it can no longer be deferred."))
    following = queries.next_meeting_after(meeting)
    if following is None:
        raise ActionError(
            _("The council has no later meeting scheduled, so the item cannot be deferred.")
        )
    following = Meeting.objects.select_for_update(of=("self",)).get(pk=following.pk)
    moved = _put_on(following, issue_id=current.issue_id, topic=current.topic, kind=current.kind)
    current.removed_at, current.removed_by, current.moved_to = timezone.now(), actor, following
    current.save(update_fields=["removed_at", "removed_by", "moved_to"])
    _renumber([live for live in items if live.pk != current.pk])
    return moved


def _local_day(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment).date(), "Y-m-d")


# --- Closing and cancelling ---------------------------------------------------------------


@transaction.atomic
def meeting_close(*, meeting: Meeting, actor: User, now: dt.datetime | None = None) -> Meeting:
    """Record that the meeting was held: no decisions, sign-ins or agenda changes after this.

    Undecided issues stay as they are; those still awaiting deliberation join a later
    agenda through the top-up, which counts scheduled meetings only.
    """
    now = now or timezone.now()
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if locked.state == Meeting.State.CANCELLED:
        raise ActionError(_("A cancelled meeting cannot be closed."))
    if locked.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has already been closed."))
    if now < locked.starts_at:
        raise ActionError(
            _("The meeting starts at %(when)s; it can be closed once it has begun.")
            % {"when": queries.local_time(locked.starts_at)}
        )
    locked.state, locked.ended_at, locked.ended_by = Meeting.State.HELD, now, actor
    locked.save(update_fields=["state", "ended_at", "ended_by", "updated"])
    return locked


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, actor: User, reason: str) -> Meeting:
    """Call the meeting off, with the reason on record; its members are told.

    A meeting at which decisions were recorded took place: it is closed, not cancelled.
    The issues on a cancelled meeting's agenda wait for a later one (the top-up counts
    scheduled meetings only), an urgent meeting's issue included.
    """
    reason = reason.strip()
    if not reason:
        raise ActionError(_("Give the reason for cancelling the meeting."))
    locked = (
        Meeting.objects.select_for_update(of=("self",)).select_related("council").get(pk=meeting.pk)
    )
    if locked.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been held; it can no longer be cancelled."))
    if locked.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting is already cancelled."))
    if Decision.objects.filter(item__meeting=locked).exists():
        raise ActionError(
            _("Decisions were recorded at this meeting; close it instead of cancelling it.")
        )
    locked.state, locked.ended_at, locked.ended_by = Meeting.State.CANCELLED, timezone.now(), actor
    locked.cancel_reason = reason
    locked.save(update_fields=["state", "ended_at", "ended_by", "cancel_reason", "updated"])
    _tell_meeting_cancelled([locked], queries.council_member_accounts(locked.council_id))
    return locked


def _tell_meeting_cancelled(meetings: Iterable[Meeting], accounts: list[User]) -> int:
    """Tell each account that each meeting will not take place; once per meeting and person."""
    count = 0
    for meeting in meetings:
        context = queries.notice_context(meeting)
        for user in accounts:
            count += len(
                notifications.notify(
                    user,
                    "meeting_cancelled",
                    context,
                    key=f"meeting_cancelled:{meeting.pk}:{user.pk}",
                )
            )
    return count
