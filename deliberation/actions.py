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

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from deliberation import schedules
from deliberation.models import AgendaItem, Council, Meeting, Schedule
from issues.models import Issue
from members import notifications
from members.models import Role, User

# The morning reminder goes out from this hour (local time) on the meeting's day.
REMINDER_HOUR = 7


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
    for council_id in sorted({schedule.council_id for schedule in active}):
        agenda_build(council_id=council_id, today=today)
    return created


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
    on_agendas = AgendaItem.objects.filter(meeting__in=upcoming, issue__isnull=False).values(
        "issue_id"
    )
    issues = list(
        Issue.objects.filter(community__council__pk=council_id, status=Issue.Status.AWAITING)
        .exclude(pk__in=on_agendas)
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


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())
