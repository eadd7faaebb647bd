"""Residents ask to join a team from the community's public page; staff or the leader answer.

Accepting finds the resident by phone among the community's active residents (the oldest
record first) or records a new one, then adds them to the team, all in one transaction
with the answer, which is given once: a second answer is refused.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Community, Resident, User
from volunteers.actions.teams import team_add_member
from volunteers.models import JoinRequest, Team
from volunteers.refusals import VolunteerRefusal


@transaction.atomic
def join_request_send(
    *, community: Community, team: Team, name: str, phone: str, phone_consent: bool
) -> JoinRequest:
    """A resident without an account asks to join one of the community's teams."""
    if team.community_id != community.pk:
        raise VolunteerRefusal(_("Choose one of this community's teams."))
    if not phone_consent:
        raise VolunteerRefusal(
            _("The team can only call you back if you agree to your phone number being kept.")
        )
    name, phone = name.strip(), phone.strip()
    if not name or not phone:
        raise VolunteerRefusal(_("Give your name and phone number."))
    return JoinRequest.objects.create(team=team, name=name, phone=phone, phone_consent=True)


def _decide(join: JoinRequest, status: str, actor: User) -> JoinRequest:
    locked = JoinRequest.objects.select_for_update().get(pk=join.pk)
    if locked.status != JoinRequest.Status.PENDING:
        raise VolunteerRefusal(_("This request was answered already."))
    locked.status = status
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    return locked


@transaction.atomic
def join_request_accept(*, join: JoinRequest, actor: User) -> JoinRequest:
    """The resident joins the team: the one with that phone in the community, or a new one."""
    locked = _decide(join, JoinRequest.Status.ACCEPTED, actor)
    team = join.team
    resident = (
        Resident.objects.filter(community_id=team.community_id, phone=locked.phone, is_active=True)
        .order_by("id")
        .first()
    )
    if resident is None:
        resident = Resident.objects.create(
            community_id=team.community_id, name=locked.name, phone=locked.phone
        )
    team_add_member(team=team, resident=resident, actor=actor)
    locked.resident = resident
    locked.save(update_fields=["status", "decided_by", "decided_at", "resident"])
    return locked


@transaction.atomic
def join_request_decline(*, join: JoinRequest, actor: User) -> JoinRequest:
    locked = _decide(join, JoinRequest.Status.DECLINED, actor)
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked
