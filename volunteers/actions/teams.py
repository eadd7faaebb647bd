"""Teams: set up by community staff, with a leader and members who are residents."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Community, Resident, User
from volunteers.models import Balance, Membership, Team, Volunteer
from volunteers.refusals import VolunteerRefusal


def volunteer_enrol(*, resident: Resident, user: User | None = None) -> Volunteer:
    """The volunteer a resident is (made once, with an empty balance)."""
    volunteer, created = Volunteer.objects.get_or_create(resident=resident)
    if user is not None and volunteer.user_id != user.pk:
        volunteer.user = user
        volunteer.save(update_fields=["user"])
    if created:
        Balance.objects.get_or_create(volunteer=volunteer)
    return volunteer


@transaction.atomic
def team_create(*, community: Community, name: str, purpose: str = "", actor: User) -> Team:
    name = name.strip()
    if Team.objects.filter(community=community, name=name).exists():
        raise VolunteerRefusal(_("This community already has a team of that name."))
    try:
        with transaction.atomic():
            return Team.objects.create(community=community, name=name, purpose=purpose.strip())
    except IntegrityError as error:
        raise VolunteerRefusal(_("This community already has a team of that name.")) from error


@transaction.atomic
def team_add_member(
    *,
    team: Team,
    resident: Resident,
    actor: User,
    as_leader: bool = False,
    on: dt.date | None = None,
) -> Membership:
    """A resident of the team's community joins it (and leads it, with ``as_leader``)."""
    if resident.community_id != team.community_id or not resident.is_active:
        raise VolunteerRefusal(_("Only active residents of the team's community can join it."))
    volunteer = volunteer_enrol(resident=resident)
    membership = Membership.objects.filter(
        team=team, volunteer=volunteer, left_on__isnull=True
    ).first()
    if membership is None:
        membership = Membership.objects.create(
            team=team, volunteer=volunteer, joined_on=on or timezone.localdate()
        )
    if as_leader and team.leader_id != volunteer.pk:
        team.leader = volunteer
        team.save(update_fields=["leader"])
    return membership


@transaction.atomic
def team_remove_member(*, membership: Membership, actor: User) -> Membership:
    """Close the membership; the leader who leaves stops leading."""
    if membership.left_on is None:
        membership.left_on = timezone.localdate()
        membership.save(update_fields=["left_on"])
        team = membership.team
        if team.leader_id == membership.volunteer_id:
            team.leader = None
            team.save(update_fields=["leader"])
    return membership


@transaction.atomic
def membership_thanks_set(
    *, membership: Membership, consent: bool, name: str, actor: User
) -> Membership:
    """Whether the volunteer is thanked by name on the community's public page, and under
    which name; withdrawing the consent forgets the name too."""
    name = name.strip()
    if consent and not name:
        raise VolunteerRefusal(_("Say the name to show, e.g. 王阿姨."))
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.left_on is not None:
        raise VolunteerRefusal(_("This volunteer has left the team."))
    membership.thanks_consent = consent
    membership.thanks_name = name if consent else ""
    membership.save(update_fields=["thanks_consent", "thanks_name"])
    return membership
