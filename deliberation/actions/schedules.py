"""Changing when a council meets: its schedules, and the future meetings that follow from them."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common import versions
from deliberation import queries
from deliberation.actions import materialise, notices
from deliberation.actions.base import ActionError
from deliberation.models import JointCouncil, Meeting, Schedule
from deliberation.schedules import clean_schedule, planned_days
from members.models import Council, User

SCHEDULE_FIELDS = (
    "kind",
    "month_days",
    "weekday",
    "start_time",
    "place",
    "notice_days",
    "on_day_off",
)


@transaction.atomic
def schedule_save(
    *,
    actor: User,
    council: Council,
    schedule: Schedule | None = None,
    expected_version: int | None = None,
    **fields,
) -> Schedule:
    """Create or change a council's schedule, then bring its future meetings in line.

    Future meetings of the schedule that have not started and have not been
    announced are cancelled when the recurrence no longer holds them (their
    members are told), and the meetings the new recurrence asks for are
    created. Nothing is written when a field is refused, nor when the form was drawn
    from an older version of the schedule (``common.versions.StaleEdit``).
    """
    unknown = set(fields) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
    if schedule is not None and schedule.council_id != council.pk:
        raise ValueError("the schedule belongs to another council")
    if schedule is not None:
        schedule = versions.lock(Schedule, schedule.pk, expected_version)
    target = schedule if schedule is not None else Schedule(council=council)
    values = {name: getattr(target, name) for name in SCHEDULE_FIELDS} | fields
    try:
        values |= clean_schedule(
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
    if schedule is not None:
        versions.bump(target)
    else:
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
    slots: set[dt.datetime] = set()
    for active in Schedule.objects.filter(council_id=schedule.council_id, is_active=True):
        for day in planned_days(active, today, end):
            wanted.add(day.at(active.start_time))
            slots.add(day.planned_at(active.start_time) or day.at(active.start_time))

    def still_wanted(meeting: Meeting) -> bool:
        # A meeting staff moved by hand stays while the schedule still gives its slot.
        moved_by_hand = bool(meeting.move_reason) and meeting.planned_at is not None
        return meeting.starts_at in wanted or (moved_by_hand and meeting.planned_at in slots)

    cancelled = [m for m in meetings if m.state == Meeting.State.SCHEDULED and not still_wanted(m)]
    if schedule.is_active:
        # A meeting staff called off by hand (ended_at set) stays off.
        again = [
            m.pk
            for m in meetings
            if m.state == Meeting.State.CANCELLED and m.ended_at is None and still_wanted(m)
        ]
        Meeting.objects.filter(pk__in=again).update(state=Meeting.State.SCHEDULED, updated=now)
    kept = [m.pk for m in meetings if m.state == Meeting.State.SCHEDULED and still_wanted(m)]
    for meeting in Meeting.objects.filter(pk__in=kept):
        meeting.place = schedule.place
        meeting.notice_due_at = meeting.starts_at - dt.timedelta(days=schedule.notice_days)
        meeting.save(update_fields=["place", "notice_due_at", "updated"])
    Meeting.objects.filter(pk__in=[m.pk for m in cancelled]).update(
        state=Meeting.State.CANCELLED, updated=now
    )
    if cancelled:
        notices.cancellation_notices_send(
            meetings=cancelled, accounts=queries.council_member_accounts(schedule.council_id)
        )
        # A joint meeting among them: the joined councils' members are told too (the
        # notices' keys keep anyone on two councils from hearing twice).
        joint = JointCouncil.objects.filter(meeting__in=cancelled).values("meeting_id")
        for meeting in Meeting.objects.filter(pk__in=joint).select_related("council"):
            notices.cancellation_notices_send(
                meetings=[meeting], accounts=queries.meeting_member_accounts(meeting)
            )
    materialise.meetings_materialise(today=today, council_id=schedule.council_id)
    return len(cancelled)
