"""Writes to meetings: the only place a meeting, its agenda or its notices change.

Everything here runs from a periodic task that two beat processes may start at
once, so each step holds by the database, on SQLite as on PostgreSQL:

- meetings are inserted with ``ignore_conflicts`` on the unique (council,
  starts_at) constraint, so a meeting is created once however many runs race;
- an agenda is built under a lock on the council row (PostgreSQL) or the write
  lock every SQLite transaction takes up front (IMMEDIATE), and the unique
  (meeting, issue) constraint keeps an issue off an agenda twice;
- a notice is claimed by a conditional UPDATE that succeeds once, and each
  person's notice carries an idempotency key, so a second send reaches nobody.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from deliberation import schedules
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
from issues.models import Issue
from members import notifications
from members.models import CouncilMember, Role, User

# The morning reminder goes out from this hour (local time) on the meeting's day.
REMINDER_HOUR = 7


class ActionError(Exception):
    """A request the meeting rules refuse; the message is shown to the user."""


def meetings_materialise(*, today: dt.date, horizon_days: int = 42) -> int:
    """Create the meetings of every active schedule from ``today`` to ``horizon_days`` ahead.

    Safe to run any number of times, concurrently too. Then tops up the agenda
    of each council's next meeting that has not been announced yet. Returns
    the number of meetings this run found missing and inserted (a run that
    races another may count rows the other one wrote; the rows exist once).
    """
    end = today + dt.timedelta(days=horizon_days)
    active = list(Schedule.objects.filter(is_active=True).select_related("council").order_by("pk"))
    wanted: dict[tuple[int, dt.datetime], Meeting] = {}
    for schedule in active:
        for starts_at in schedules.occurrences(schedule, today, end):
            key = (schedule.council_id, starts_at)
            if key in wanted:
                continue  # two schedules of one council at the same time: one meeting
            wanted[key] = Meeting(
                council_id=schedule.council_id,
                schedule=schedule,
                starts_at=starts_at,
                place=schedule.place,
                notice_due_at=starts_at - dt.timedelta(days=schedule.notice_days),
            )
    created = 0
    if wanted:
        existing = set(
            Meeting.objects.filter(
                council_id__in={council_id for council_id, _ in wanted},
                starts_at__gte=_start_of(today),
                starts_at__lt=_start_of(end + dt.timedelta(days=1)),
            ).values_list("council_id", "starts_at")
        )
        missing = [meeting for key, meeting in wanted.items() if key not in existing]
        Meeting.objects.bulk_create(missing, ignore_conflicts=True, batch_size=500)
        created = len(missing)
    for council_id in councils_with_agenda_work(
        {schedule.council_id for schedule in active}, today=today
    ):
        agenda_build(council_id=council_id, today=today)
    return created


def councils_with_agenda_work(council_ids: set[int], *, today: dt.date) -> list[int]:
    """The councils having an awaiting issue on no upcoming agenda, in one query.

    Visiting every council to find nothing to add cost ~6 ms each (60 s for
    10,000 councils, bench/RESULTS.md); most runs have work for only a few.
    """
    if not council_ids:
        return []
    return sorted(
        Issue.objects.filter(status=Issue.Status.AWAITING, community__council__pk__in=council_ids)
        .filter(~Exists(_upcoming_agenda_items(today)))
        .order_by()
        .values_list("community__council__pk", flat=True)
        .distinct()
    )


def _upcoming_agenda_items(today: dt.date):
    """An issue's live items on upcoming agendas (an item removed by hand does not count)."""
    return AgendaItem.objects.filter(
        issue_id=OuterRef("pk"),
        meeting__state=Meeting.State.SCHEDULED,
        meeting__starts_at__gte=_start_of(today),
        removed_at__isnull=True,
    )


@transaction.atomic
def agenda_build(*, council_id: int, today: dt.date) -> int:
    """Put the council's issues awaiting deliberation on its next unannounced meeting.

    Urgent issues first, then the must-deliberate categories, then the oldest.
    An issue already on any upcoming meeting's agenda is not added again. The
    agenda stays open until the notice goes out, so issues that arrive until
    then join it; afterwards they wait for the following meeting. Returns the
    number of items added.
    """
    # Serialise agenda building per council (SQLite already serialises writers).
    Council.objects.select_for_update().filter(pk=council_id).first()
    upcoming = Meeting.objects.filter(
        council_id=council_id, state=Meeting.State.SCHEDULED, starts_at__gte=_start_of(today)
    )
    meeting = upcoming.filter(notice_sent_at__isnull=True).order_by("starts_at", "id").first()
    if meeting is None:
        return 0
    # An issue taken off this meeting's agenda by hand waits for the next one.
    removed_here = AgendaItem.objects.filter(issue_id=OuterRef("pk"), meeting=meeting)
    issues = list(
        Issue.objects.filter(community__council__pk=council_id, status=Issue.Status.AWAITING)
        .filter(~Exists(_upcoming_agenda_items(today)), ~Exists(removed_here))
        .order_by("-is_urgent", "-category__must_deliberate", "created", "id")
        .values_list("pk", flat=True)
    )
    if not issues:
        return 0
    last = meeting.agenda_items.aggregate(last=Max("position"))["last"]
    first = 0 if last is None else last + 1
    AgendaItem.objects.bulk_create(
        [
            AgendaItem(meeting=meeting, issue_id=issue_id, position=first + offset,
                       kind=AgendaItem.Kind.ISSUE)
            for offset, issue_id in enumerate(issues)
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    return len(issues)


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
    context = {
        "council": meeting.council.name,
        "when": timezone.localtime(meeting.starts_at).strftime("%Y-%m-%d %H:%M"),
        "place": meeting.place,
        "meeting_id": meeting.pk,
    }
    count = 0
    for user in council_member_accounts(meeting.council_id):
        count += len(
            notifications.notify(user, kind, context, key=f"{kind}:{meeting.pk}:{user.pk}")
        )
    return count


def council_member_accounts(council_id: int) -> list[User]:
    """The active accounts of the council's current members."""
    return list(
        User.objects.filter(
            is_active=True,
            roles__kind=Role.Kind.COUNCIL_MEMBER,
            roles__council_member__council_id=council_id,
            roles__council_member__left_on__isnull=True,
        )
        .distinct()
        .order_by("pk")
    )


# --- Running a meeting ---------------------------------------------------------------


@transaction.atomic
def attendance_sign_in(
    *, meeting: Meeting, member: CouncilMember, actor: User, how: str
) -> Attendance:
    """Record that ``member`` is present at ``meeting`` (once; current members of its council)."""
    if how not in Attendance.How.values:
        raise ValueError(f"unknown sign-in: {how!r}")
    if meeting.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
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


def quorum(meeting: Meeting) -> tuple[int, int, bool]:
    """(present, needed, reached): more than the council's quorum ratio of its active members.

    With the default ratio of 0.5, 10 active members need 6 present, 9 need 5.
    A ratio of 1 needs every active member. A council without members never
    has a quorum. Only members still active count as present.
    """
    active = CouncilMember.objects.filter(council_id=meeting.council_id, left_on__isnull=True)
    present = Attendance.objects.filter(meeting=meeting, member__in=active).count()
    return (present, *quorum_needed(active.count(), meeting.council.quorum_ratio, present))


def quorum_needed(active: int, ratio, present: int) -> tuple[int, bool]:
    """How many of ``active`` members must be present, and whether ``present`` reach it."""
    needed = min(active, math.floor(active * ratio) + 1)
    return needed, active > 0 and present >= needed


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
    if Decision.objects.filter(item=item).exists():
        raise ActionError(_("This item has already been decided."))
    if outcome == Decision.Outcome.NOT_ACTIONABLE and not explanation:
        raise ActionError(_("Explain why the matter is not actionable; the reporter will see it."))
    votes = {int(member_id): choice for member_id, choice in (votes or {}).items() if choice}
    if any(choice not in Vote.Choice.values for choice in votes.values()):
        raise ActionError(_("A vote is for, against or abstain."))
    if votes:
        _present, _needed, reached = quorum(meeting)
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
    if item.issue_id is not None:
        try:
            _carry_out(decision, meeting, item, actor, list(members), due_on)
        except (issue_actions.IssueActionError, lifecycle.TransitionRefused) as error:
            raise ActionError(str(error)) from error
    elif outcome == Decision.Outcome.DEFER:
        _carry_over(item, meeting)
    return decision


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
    meeting gets its own item for the same matter.
    """
    following = (
        Meeting.objects.filter(
            council_id=meeting.council_id,
            state=Meeting.State.SCHEDULED,
            starts_at__gt=meeting.starts_at,
        )
        .order_by("starts_at", "id")
        .first()
    )
    if following is None:
        return None
    if item.issue_id is not None:
        existing = following.agenda_items.filter(issue_id=item.issue_id).first()
        if existing is not None:
            return existing
    last = following.agenda_items.aggregate(last=Max("position"))["last"]
    return AgendaItem.objects.create(
        meeting=following,
        issue_id=item.issue_id,
        topic=item.topic,
        kind=item.kind,
        position=0 if last is None else last + 1,
    )


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
        again = [
            m.pk for m in meetings if m.state == Meeting.State.CANCELLED and m.starts_at in wanted
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
        accounts = council_member_accounts(schedule.council_id)
        for meeting in cancelled:
            context = {
                "council": meeting.council.name,
                "when": timezone.localtime(meeting.starts_at).strftime("%Y-%m-%d %H:%M"),
                "place": meeting.place,
                "meeting_id": meeting.pk,
            }
            for user in accounts:
                notifications.notify(
                    user,
                    "meeting_cancelled",
                    context,
                    key=f"meeting_cancelled:{meeting.pk}:{user.pk}",
                )
    meetings_materialise(today=today)
    return len(cancelled)


# --- Urgent convening ("blow the whistle") ------------------------------------------------


def can_convene(user: User, issue: Issue) -> bool:
    """Staff of the issue's community, or the current leader or deputy of its council."""
    from members.queries import scope_of

    scope = scope_of(user)
    if issue.community_id in scope.staff_community_ids:
        return True
    if not scope.council_member_ids:
        return False
    return CouncilMember.objects.filter(
        pk__in=scope.council_member_ids,
        council__community_id=issue.community_id,
        left_on__isnull=True,
        role__in=[CouncilMember.Role.LEADER, CouncilMember.Role.DEPUTY],
    ).exists()


def _covers(text: str, name: str) -> bool:
    return bool(name) and name in text


def local_leaders(issue: Issue, council_id: int) -> list[CouncilMember]:
    """The council's current lane and building leaders and party-member households near the issue.

    A leader matches when the lane or building they cover is the reporter's, or
    its name appears in the issue's place. A party-member household without a
    covered lane or building matches by where its resident lives.
    """
    reporter = issue.reporter
    lane = reporter.lane if reporter else ""
    building = reporter.building if reporter else ""
    place = issue.place or ""

    def matches(lane_name: str, building_name: str) -> bool:
        return bool(
            (lane_name and lane_name == lane)
            or (building_name and building_name == building)
            or _covers(place, lane_name)
            or _covers(place, building_name)
        )

    found = []
    terms = CouncilMember.objects.filter(
        Q(is_lane_leader=True) | Q(is_building_leader=True) | Q(is_party_household=True),
        council_id=council_id,
        left_on__isnull=True,
    ).select_related("resident")
    for term in terms.order_by("pk"):
        lane_name = term.covers_lane if term.is_lane_leader or term.is_party_household else ""
        building_name = (
            term.covers_building if term.is_building_leader or term.is_party_household else ""
        )
        if term.is_party_household and not (lane_name or building_name):
            lane_name, building_name = term.resident.lane, term.resident.building
        if matches(lane_name, building_name):
            found.append(term)
    return found


def urgent_recipients(issue: Issue, council_id: int) -> list[User]:
    """Every current member's account plus the matching local leaders', each once."""
    leaders = [term.pk for term in local_leaders(issue, council_id)]
    accounts = {user.pk: user for user in council_member_accounts(council_id)}
    if leaders:
        for user in User.objects.filter(
            is_active=True,
            roles__kind=Role.Kind.COUNCIL_MEMBER,
            roles__council_member_id__in=leaders,
        ).distinct():
            accounts.setdefault(user.pk, user)
    return [accounts[pk] for pk in sorted(accounts)]


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
    if not can_convene(actor, issue):
        raise ActionError(_("Only community staff or the council's leader or deputy can convene."))
    if not issue.is_open:
        raise ActionError(_("Only an open issue can be taken to an urgent meeting."))
    if starts_at <= now:
        raise ActionError(_("An urgent meeting cannot start in the past; choose a later time."))
    council = Council.objects.select_for_update().filter(community_id=issue.community_id).first()
    if council is None:
        raise ActionError(_("This community has no council yet."))
    clash = _("The council already has a meeting at %(when)s; choose another time.") % {
        "when": timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M")
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
    context = {
        "council": council.name,
        "when": timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M"),
        "place": meeting.place,
        "title": issue.title,
        "meeting_id": meeting.pk,
        "issue_id": issue.pk,
    }
    for user in urgent_recipients(issue, council.pk):
        notifications.notify(
            user, "meeting_urgent", context, key=f"meeting_urgent:{meeting.pk}:{user.pk}"
        )
    return meeting
