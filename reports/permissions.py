"""May this user see a dashboard or a period report: the one place reports derives it from roles.

Answers build on ``members.queries.scope_of`` and ``members.permissions``. Views find the
community or street first (404 for anyone outside it), then ask here (403 for someone
who sees the community but not its figures).
"""

from __future__ import annotations

from common.permissions import requirement
from members import permissions as members_permissions
from members.models import Community, Street, User
from members.queries import scope_of
from reports.models import PeriodReport


def may_see_community_dashboard(user: User, community: Community) -> bool:
    """Community staff, the street's admins and the council's current leader and deputies."""
    scope = scope_of(user)
    if community.pk in scope.staff_community_ids or community.street_id in scope.admin_street_ids:
        return True
    return members_permissions.may_lead_council(user, community.pk)


require_see_community_dashboard = requirement(may_see_community_dashboard)


def may_see_street_dashboard(user: User, street: Street) -> bool:
    """The street's admins."""
    return members_permissions.may_oversee_street(user, street)


def may_request_community_report(user: User, community: Community) -> bool:
    """Those who see the community's dashboard ask for its quarterly and year-end reports."""
    return may_see_community_dashboard(user, community)


require_request_community_report = requirement(may_request_community_report)


def may_download_report(user: User, report: PeriodReport) -> bool:
    """A report (its row and its file) to those who see the dashboard it was asked from."""
    if report.community_id:
        return may_see_community_dashboard(user, report.community)
    return may_see_street_dashboard(user, report.street)
