"""Teams: formed by a street's admins, with members and pairings that keep their history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Community, Department, Street, User
from visits.actions import VisitsRefusal
from visits.models import Building, Pairing, Team, TeamMember


@transaction.atomic
def team_create(
    *,
    actor: User,
    street: Street,
    name: str,
    leader: User | None,
    members: Iterable[User] = (),
    communities: Iterable[Community] = (),
    today: dt.date | None = None,
) -> Team:
    """A new team with its leader (always a member too), members and whole communities."""
    today = today or timezone.localdate()
    name = name.strip()
    if leader is None:
        raise VisitsRefusal(_("A team needs a leader."))
    if not name:
        raise VisitsRefusal(_("Give the team a name."))
    if Team.objects.filter(street=street, name=name).exists():
        raise VisitsRefusal(_("This street already has a team of that name."))
    team = Team.objects.create(street=street, name=name, leader=leader)
    for user in {leader, *members}:
        team_member_add(actor=actor, team=team, user=user, today=today)
    for community in communities:
        team_pair(actor=actor, team=team, community=community, today=today)
    return team


@transaction.atomic
def team_member_add(
    *,
    actor: User,
    team: Team,
    user: User,
    kind: str = TeamMember.Kind.STREET_STAFF,
    department: Department | None = None,
    today: dt.date | None = None,
) -> TeamMember:
    today = today or timezone.localdate()
    if department is not None and department.street_id != team.street_id:
        raise VisitsRefusal(_("Choose a department of this street."))
    existing = TeamMember.objects.filter(team=team, user=user, left_on__isnull=True).first()
    if existing:
        return existing
    return TeamMember.objects.create(
        team=team, user=user, kind=kind, department=department, joined_on=today
    )


@transaction.atomic
def team_member_leave(
    *, actor: User, membership: TeamMember, today: dt.date | None = None
) -> TeamMember:
    today = today or timezone.localdate()
    if membership.user_id == membership.team.leader_id:
        raise VisitsRefusal(_("Choose another leader before the leader leaves the team."))
    if membership.left_on is None:
        membership.left_on = max(today, membership.joined_on)
        membership.save(update_fields=["left_on"])
    return membership


@transaction.atomic
def team_pair(
    *,
    actor: User,
    team: Team,
    community: Community,
    lane: str = "",
    building: str = "",
    today: dt.date | None = None,
) -> Pairing:
    """Pair the team with a community, or a lane or building in it. A compound has one
    team at a time, and a community paired whole is not split between teams."""
    today = today or timezone.localdate()
    lane, building = lane.strip(), building.strip()
    if community.street_id != team.street_id:
        raise VisitsRefusal(_("Choose a community of this street."))
    open_here = Pairing.objects.filter(community=community, ended_on__isnull=True)
    whole = Q(lane="", building="")
    if building:  # a building: the same building anywhere, or a lane that may hold it
        lanes = Q(building="", lane=lane) if lane else (Q(building="") & ~Q(lane=""))
        overlapping = open_here.filter(whole | Q(building=building) | lanes)
    elif lane:  # a lane: anything in it, or a building given without its lane
        overlapping = open_here.filter(whole | Q(lane=lane) | (Q(lane="") & ~Q(building="")))
    else:  # the whole community: anything in it
        overlapping = open_here
    if overlapping.exists():
        raise VisitsRefusal(
            _("%(place)s is already paired with a team; end that pairing first.")
            % {"place": " ".join(part for part in (community.name, lane, building) if part)}
        )
    try:
        with transaction.atomic():
            return Pairing.objects.create(
                team=team,
                community=community,
                lane=lane,
                building=building,
                started_on=today,
            )
    except IntegrityError as error:  # another admin paired it meanwhile
        raise VisitsRefusal(_("This compound was paired with a team meanwhile.")) from error


@transaction.atomic
def pairing_end(*, actor: User, pairing: Pairing, today: dt.date | None = None) -> Pairing:
    today = today or timezone.localdate()
    if pairing.ended_on is None:
        pairing.ended_on = max(today, pairing.started_on)
        pairing.save(update_fields=["ended_on"])
    return pairing


@transaction.atomic
def building_set(
    *, actor: User, team: Team, community: Community, lane: str, building: str, flats: int
) -> Building:
    """Record how many flats a building of the team's compounds has (again: the new
    number). The next round compares it with the residents register."""
    lane, building = lane.strip(), building.strip()
    if not building:
        raise VisitsRefusal(_("Give the building's name or number."))
    if flats < 1:
        raise VisitsRefusal(_("A building has at least one flat."))
    paired = Pairing.objects.filter(team=team, community=community, ended_on__isnull=True)
    covering = paired.filter(Q(lane="") | Q(lane=lane)).filter(
        Q(building="") | Q(building=building)
    )
    if not covering.exists():
        raise VisitsRefusal(_("This building is not in the team's compounds."))
    row, _created = Building.objects.update_or_create(
        community=community, lane=lane, building=building, defaults={"flats": flats}
    )
    return row
