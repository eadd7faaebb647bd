"""Telling council members about their meetings: the notice, the morning reminder, the items
added late, a cancellation.

The periodic task may run twice at once: a meeting's notice is claimed by a
conditional UPDATE that succeeds once, and each person's notice carries an
idempotency key, so a second send reaches nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deliberation import queries
from deliberation.actions.base import start_of
from deliberation.models import AgendaItem, Meeting
from members import notifications
from members.models import User

# The morning reminder goes out from this hour (local time) on the meeting's day.
REMINDER_HOUR = 7


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
        tomorrow = start_of(local.date() + dt.timedelta(days=1))
        today_meetings = Meeting.objects.filter(
            state=Meeting.State.SCHEDULED,
            reminder_sent_at__isnull=True,
            starts_at__gt=now,
            starts_at__lt=tomorrow,
        ).order_by("starts_at", "id")
        for meeting_id in list(today_meetings.values_list("pk", flat=True)):
            sent += meeting_announce(meeting_id=meeting_id, now=now, kind="meeting_reminder")
    return sent + late_items_announce(now=now)


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
    for user in queries.meeting_member_accounts(meeting):
        count += len(
            notifications.notify(user, kind, context, key=f"{kind}:{meeting.pk}:{user.pk}")
        )
    return count


def cancellation_notices_send(*, meetings: Iterable[Meeting], accounts: list[User]) -> int:
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


# A late-items notice names at most this many items, then says how many more (text messages).
LATE_ITEMS_NAMED = 5


def late_items_announce(*, now: dt.datetime) -> int:
    """Tell the members of each meeting not begun about the items added late since the last run.

    The periodic task tops up the agendas and then calls this, so the matters that joined
    one meeting in one run (or by hand between two runs) go out together: one notice per
    member listing them, not one per item. Each item is told once: it is claimed by a
    conditional UPDATE of ``late_notified_at`` in the same transaction as the notices, whose
    key names the meeting and the first item claimed. Items taken off before the run are
    not told. Returns the number of notices created.
    """
    untold = (
        AgendaItem.objects.filter(
            late=True,
            late_notified_at__isnull=True,
            removed_at__isnull=True,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gt=now,
        )
        .order_by("meeting_id")
        .values_list("meeting_id", flat=True)
        .distinct()
    )
    return sum(late_items_tell(meeting_id=pk, now=now) for pk in list(untold))


@transaction.atomic
def late_items_tell(*, meeting_id: int, now: dt.datetime) -> int:
    """Claim the meeting's late items nobody was told of yet and tell its members; 0 if none."""
    meeting = (
        Meeting.objects.select_for_update(of=("self",), no_key=True)
        .select_related("council")
        .filter(pk=meeting_id, state=Meeting.State.SCHEDULED, starts_at__gt=now)
        .first()
    )
    if meeting is None:
        return 0
    items = list(
        AgendaItem.objects.filter(
            meeting=meeting, late=True, late_notified_at__isnull=True, removed_at__isnull=True
        )
        .select_related("issue")
        .order_by("position", "id")
    )
    claimed = AgendaItem.objects.filter(
        pk__in=[item.pk for item in items], late_notified_at__isnull=True
    ).update(late_notified_at=now)
    if not items or claimed != len(items):
        # Another run holds them (SQLite has no row lock, only this conditional UPDATE).
        transaction.set_rollback(True)
        return 0
    labels = [item.issue.title if item.issue_id else item.topic for item in items]
    named = "、".join(f"“{label}”" for label in labels[:LATE_ITEMS_NAMED])
    if len(labels) > LATE_ITEMS_NAMED:
        named += " …"
    context = {
        **queries.notice_context(meeting),
        "count": len(items),
        "items": named,
        "item_ids": [item.pk for item in items],
    }
    first = min(item.pk for item in items)
    count = 0
    for user in queries.meeting_member_accounts(meeting):
        count += len(
            notifications.notify(
                user,
                "meeting_late_items",
                context,
                key=f"meeting_late_items:{meeting.pk}:{first}:{user.pk}",
            )
        )
    return count
