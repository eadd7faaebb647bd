"""May this user do X with a community's volunteers: the one place volunteers derives it.

Views find the team, activity or volunteer through ``queries`` first (404 for anyone
outside it), then ask here (403 for someone who sees it but may not do this).
"""

from __future__ import annotations

from common.permissions import requirement
from members.models import Community, User
from members.queries import scope_of
from volunteers.models import Activity, Membership, Team
from volunteers.queries import volunteer_of


def may_see_volunteers(user: User, community: Community) -> bool:
    """The community's staff and its street's admins see its teams and volunteers."""
    scope = scope_of(user)
    return (
        community.pk in scope.staff_community_ids or community.street_id in scope.admin_street_ids
    )


require_see_volunteers = requirement(may_see_volunteers)


def may_manage_teams(user: User, community: Community) -> bool:
    """Community staff set up teams, their leaders and members, and the exchange rules."""
    return community.pk in scope_of(user).staff_community_ids


require_manage_teams = requirement(may_manage_teams)


def may_approve_exchanges(user: User, community: Community) -> bool:
    """Community staff approve exchanges of service time and record corrections."""
    return community.pk in scope_of(user).staff_community_ids


require_approve_exchanges = requirement(may_approve_exchanges)


def may_export_ledger(user: User, community: Community) -> bool:
    """Only the community's own staff take its ledger away as a file (names of residents)."""
    return community.pk in scope_of(user).staff_community_ids


require_export_ledger = requirement(may_export_ledger)


def may_set_thanks(user: User, membership: Membership) -> bool:
    """The volunteer says whether they are thanked in public; staff record what they said."""
    volunteer = volunteer_of(user)
    return (volunteer is not None and membership.volunteer_id == volunteer.pk) or may_manage_teams(
        user, membership.team.community
    )


require_set_thanks = requirement(may_set_thanks)


def leads(user: User, team: Team) -> bool:
    """The user is the team's leader (as a volunteer)."""
    volunteer = volunteer_of(user)
    return volunteer is not None and team.leader_id == volunteer.pk


def may_run_team(user: User, team: Team) -> bool:
    """The community's staff and the team's leader plan activities and run them: sign people
    in and out on a phone and confirm their hours."""
    return may_manage_teams(user, team.community) or leads(user, team)


require_run_team = requirement(may_run_team)


def may_run_activity(user: User, activity: Activity) -> bool:
    return may_run_team(user, activity.team)


require_run_activity = requirement(may_run_activity)


def may_take_part(user: User, team: Team) -> bool:
    """A current member of the team signs up for its activities and signs in by the code."""
    volunteer = volunteer_of(user)
    if volunteer is None:
        return False
    return team.memberships.filter(volunteer=volunteer, left_on__isnull=True).exists()


require_take_part = requirement(may_take_part)
