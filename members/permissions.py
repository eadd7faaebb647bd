"""May this user do X with a community's people: the one place members derives it from roles.

Every answer starts from ``queries.scope_of``, read once per request. Views find the
community first (``queries.community_for``: 404 for anyone outside it), then ask here
(403 for someone who sees the community but may not do this).
"""

from __future__ import annotations

from common.permissions import requirement
from members.models import Community, CouncilMember, Street, User
from members.queries import scope_of

LEADING_ROLES = [CouncilMember.Role.LEADER, CouncilMember.Role.DEPUTY]


# --- The roles a person holds anywhere: the header's links and the start page ------------


def may_act_as_community_staff(user: User) -> bool:
    """Staff of at least one community."""
    return bool(scope_of(user).staff_community_ids)


def may_act_as_street_admin(user: User) -> bool:
    """An admin of at least one street."""
    return bool(scope_of(user).admin_street_ids)


def may_act_as_council_member(user: User) -> bool:
    """A current member of at least one council."""
    return bool(scope_of(user).council_member_ids)


def may_act_as_department_handler(user: User) -> bool:
    """A handler of at least one department."""
    return bool(scope_of(user).department_ids)


# --- One community ------------------------------------------------------------------------


def may_manage_residents(user: User, community: Community) -> bool:
    """Community staff add, change, deactivate and reactivate their own residents."""
    return community.pk in scope_of(user).staff_community_ids


require_manage_residents = requirement(may_manage_residents)


def may_see_residents(user: User, community: Community) -> bool:
    """Staff of the community and admins of its street see its residents (phones masked)."""
    scope = scope_of(user)
    return (
        community.pk in scope.staff_community_ids or community.street_id in scope.admin_street_ids
    )


require_see_residents = requirement(may_see_residents)


def may_see_full_phones(user: User, community: Community) -> bool:
    """Only the community's own staff reveal a resident's full number (and it is recorded)."""
    return community.pk in scope_of(user).staff_community_ids


require_see_full_phones = requirement(may_see_full_phones)


def may_export_roster(user: User, community: Community) -> bool:
    """Those who see the community's residents export its council roster (phones masked)."""
    return may_see_residents(user, community)


require_export_roster = requirement(may_export_roster)


def may_manage_council(user: User, community: Community) -> bool:
    """Community staff let residents join and leave their council and change their terms."""
    return community.pk in scope_of(user).staff_community_ids


require_manage_council = requirement(may_manage_council)


def may_change_council_settings(user: User, community: Community) -> bool:
    """The community's staff and its street's admins set how the council works."""
    scope = scope_of(user)
    return (
        community.pk in scope.staff_community_ids or community.street_id in scope.admin_street_ids
    )


require_change_council_settings = requirement(may_change_council_settings)


def may_print_poster(user: User, community: Community) -> bool:
    """Staff of the community and admins of its street print its QR poster."""
    scope = scope_of(user)
    return (
        community.pk in scope.staff_community_ids or community.street_id in scope.admin_street_ids
    )


require_print_poster = requirement(may_print_poster)


def may_publish_transparency(user: User, community: Community) -> bool:
    """Those who print the poster decide whether the page its second code leads to is public."""
    return may_print_poster(user, community)


def may_serve_on_council(user: User, community_id: int) -> bool:
    """A current member of the community's council (one query, only for council members)."""
    ids = scope_of(user).council_member_ids
    if not ids:
        return False
    return CouncilMember.objects.filter(
        pk__in=ids, council__community_id=community_id, left_on__isnull=True
    ).exists()


def may_lead_council(user: User, community_id: int) -> bool:
    """The current leader or a deputy of the community's council (one query, only for members)."""
    ids = scope_of(user).council_member_ids
    if not ids:
        return False
    return CouncilMember.objects.filter(
        pk__in=ids,
        council__community_id=community_id,
        left_on__isnull=True,
        role__in=LEADING_ROLES,
    ).exists()


def may_convene(user: User, community_id: int) -> bool:
    """Staff of the community, or its council's current leader or deputy, call urgent meetings."""
    if community_id in scope_of(user).staff_community_ids:
        return True
    return may_lead_council(user, community_id)


# --- One street ---------------------------------------------------------------------------


def may_oversee_street(user: User, street: Street) -> bool:
    """The street's admins: its communities' figures, escalations and categories."""
    return street.pk in scope_of(user).admin_street_ids
