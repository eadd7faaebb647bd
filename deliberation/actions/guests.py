"""Outside parties at a meeting (联建联动): units based in the area and cadres sent down.

Staff invite them before the meeting; each is told once (a notice keyed by the meeting and
the guest). They sign in as members do, and attend without a vote (列席) unless staff gave
them one before the meeting began.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from deliberation import queries
from deliberation.actions.base import ActionError, has_begun
from deliberation.models import Meeting, MeetingGuest
from members import notifications
from members.models import OutsideUnit, User


def _open_meeting(meeting: Meeting) -> Meeting:
    """The meeting as stored, locked; refused when it is over."""
    locked = Meeting.objects.select_for_update().select_related("council").get(pk=meeting.pk)
    if locked.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
    if locked.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed."))
    return locked


@transaction.atomic
def guest_invite(
    *,
    meeting: Meeting,
    actor: User,
    unit: OutsideUnit | None = None,
    cadre: User | None = None,
    may_vote: bool = False,
) -> MeetingGuest:
    """Invite a unit of the council's community or a cadre's account, and tell them once."""
    if (unit is None) == (cadre is None):
        raise ValueError("invite either a unit or a cadre")
    meeting = _open_meeting(meeting)
    if unit is not None and unit.community_id not in queries.community_ids_at(meeting):
        raise ActionError(_("Only units based in this community can be invited."))
    if cadre is not None and not cadre.is_active:
        raise ActionError(_("This account is no longer active."))
    if cadre is not None and cadre.roles.exists():
        raise ActionError(
            _("%(name)s has a role of their own; only a cadre's account is invited as a guest.")
            % {"name": cadre}
        )
    if has_begun(meeting) and may_vote:
        raise ActionError(_("A vote can only be given to a guest before the meeting begins."))
    try:
        with transaction.atomic():
            guest = MeetingGuest.objects.create(
                meeting=meeting,
                unit=unit,
                user=cadre,
                may_vote=may_vote,
                invited_by=actor,
                invited_at=timezone.now(),
            )
    except IntegrityError as error:
        raise ActionError(_("%(name)s is already invited.") % {"name": unit or cadre}) from error
    _notify(guest, meeting)
    return guest


def _notify(guest: MeetingGuest, meeting: Meeting) -> None:
    context = queries.notice_context(meeting)
    key = f"meeting_guest:{meeting.pk}:{guest.pk}"
    if guest.unit_id is not None:
        unit = guest.unit
        notifications.notify_phone(
            unit.phone, "meeting_guest_unit", {**context, "unit": unit.name}, key=key
        )
    else:
        notifications.notify(guest.user, "meeting_guest_invited", context, key=key)


@transaction.atomic
def guest_vote_set(*, guest: MeetingGuest, actor: User, may_vote: bool) -> MeetingGuest:
    """Give a guest a vote, or take it back: only before the meeting begins."""
    meeting = _open_meeting(guest.meeting)
    if has_begun(meeting):
        raise ActionError(_("A guest's vote can only be changed before the meeting begins."))
    MeetingGuest.objects.filter(pk=guest.pk).update(may_vote=may_vote)
    guest.may_vote = may_vote
    return guest


@transaction.atomic
def guest_sign_in(*, guest: MeetingGuest, actor: User, how: str) -> MeetingGuest:
    """Record that a guest is present (once), from the same time members may sign in."""
    if how not in MeetingGuest.How.values:
        raise ValueError(f"unknown sign-in: {how!r}")
    meeting = Meeting.objects.select_for_update().select_related("council").get(pk=guest.meeting_id)
    if meeting.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
    if meeting.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed; signing in is over."))
    if not queries.sign_in_open(meeting):
        raise ActionError(
            _("Signing in opens at %(when)s.")
            % {"when": queries.local_time(queries.sign_in_opens_at(meeting))}
        )
    signed = MeetingGuest.objects.filter(pk=guest.pk, signed_in_at__isnull=True).update(
        signed_in_at=timezone.now(), how=how, signed_in_by=actor
    )
    if not signed:
        raise ActionError(_("%(name)s is already signed in.") % {"name": guest.name})
    guest.refresh_from_db()
    return guest
