"""Staff moving a meeting to another day or hour by hand (a holiday the calendar did not
know yet, a room taken, a storm warning)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from deliberation import queries
from deliberation.actions.base import ActionError
from deliberation.models import Meeting
from members import notifications
from members.models import User


@transaction.atomic
def meeting_move(
    *,
    meeting: Meeting,
    to: dt.datetime,
    reason: str,
    actor: User,
    now: dt.datetime | None = None,
) -> Meeting:
    """Move a scheduled meeting to ``to``, with the reason on record.

    The slot the schedule gave stays as ``planned_at`` (the first move sets it), so the
    periodic run does not create the meeting again in its old place. The notice is due
    as many days before the new time as before the old one; the morning reminder goes
    out again on the new day. Members who were already told of the meeting get one
    ``meeting_moved`` notice per move (its key names the new time).
    """
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ActionError(_("Give the reason for moving the meeting."))
    locked = (
        Meeting.objects.select_for_update(of=("self",)).select_related("council").get(pk=meeting.pk)
    )
    if locked.state != Meeting.State.SCHEDULED:
        raise ActionError(_("Only a scheduled meeting can be moved."))
    if locked.starts_at <= now:
        raise ActionError(_("The meeting has begun; it can no longer be moved."))
    if to <= now:
        raise ActionError(_("Choose a time that is still to come."))
    if to == locked.starts_at:
        raise ActionError(_("The meeting is already at that time."))
    if Meeting.objects.filter(council_id=locked.council_id, starts_at=to).exists():
        raise ActionError(_("The council already has a meeting at that time."))
    moved_from = locked.starts_at
    lead = locked.starts_at - locked.notice_due_at
    locked.planned_at = locked.planned_at or locked.starts_at
    locked.starts_at = to
    locked.notice_due_at = to - lead
    locked.move_reason = reason
    locked.reminder_sent_at = None
    locked.save(
        update_fields=[
            "planned_at",
            "starts_at",
            "notice_due_at",
            "move_reason",
            "reminder_sent_at",
            "updated",
        ]
    )
    if locked.notice_sent_at is not None:
        context = {
            **queries.notice_context(locked),
            "before": queries.local_time(moved_from),
            "reason": reason,
        }
        stamp = timezone.localtime(to).strftime("%Y%m%d%H%M")
        for user in queries.meeting_member_accounts(locked):
            notifications.notify(
                user, "meeting_moved", context, key=f"meeting_moved:{locked.pk}:{stamp}:{user.pk}"
            )
    return locked
