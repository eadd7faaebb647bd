"""Who may do what with visiting teams: the one place visits derives it from roles.

A team's work is open to its current members (street staff and cadres sent down from a
department, 下沉干部, whose account may hold no other role) and to the admins of its
street. Views find the team first (``queries.team_for``: 404 for anyone else), then ask
here (403 for someone who sees it but may not do this).
"""

from __future__ import annotations

from common.permissions import requirement
from members.models import Street, User
from members.queries import scope_of
from visits.models import Team, TeamMember


def team_ids_of(user: User) -> frozenset[int]:
    """The teams the user is a current member of; read once per request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_yishi_team_ids", None)
    if cached is None:
        cached = frozenset(
            TeamMember.objects.filter(user=user, left_on__isnull=True).values_list(
                "team_id", flat=True
            )
        )
        user._yishi_team_ids = cached
    return cached


def may_act_as_team_member(user: User) -> bool:
    """A current member of at least one visiting team."""
    return bool(team_ids_of(user))


def may_manage_teams(user: User, street: Street) -> bool:
    """The street's admins form teams, pair them with compounds and see every round."""
    return street.pk in scope_of(user).admin_street_ids


require_manage_teams = requirement(may_manage_teams)


def may_record_visit(user: User, team: Team) -> bool:
    """The team's current members record its visits; the street's admins only read them."""
    return team.pk in team_ids_of(user)


require_record_visit = requirement(may_record_visit)
