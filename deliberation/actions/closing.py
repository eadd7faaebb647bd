"""Ending a meeting: closing it once held, or calling it off."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from deliberation import queries
from deliberation.actions import notices
from deliberation.actions.base import ActionError
from deliberation.models import Decision, Meeting
from members.models import User


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
    notices.cancellation_notices_send(
        meetings=[locked], accounts=queries.meeting_member_accounts(locked)
    )
    return locked
