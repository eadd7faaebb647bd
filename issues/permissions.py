"""May this user do X with an issue: the one place issues derives it from roles.

Answers build on ``members.queries.scope_of`` and ``members.permissions``. Views find the
issue first (``queries.issue_for``: 404 for anyone who may not see it), then ask here
(403 for someone who sees the issue but may not do this).
"""

from __future__ import annotations

from common.permissions import requirement
from issues.models import Issue
from members import permissions as members_permissions
from members.models import Community, Street, User
from members.queries import communities_visible_to, scope_of

# --- The inbox ------------------------------------------------------------------------------


def may_use_inbox(user: User) -> bool:
    """Community staff and street admins have the inbox (and its exports)."""
    staff = members_permissions.may_act_as_community_staff(user)
    return staff or members_permissions.may_act_as_street_admin(user)


require_use_inbox = requirement(may_use_inbox)


def may_export_full_phones(user: User, community_id: int | None) -> bool:
    """Full numbers only to staff whose export (``community_id``, or None) reaches only theirs."""
    # The residents page lets staff reveal a number, while a street admin (or a department
    # handler) sees residents' numbers masked.
    scope = scope_of(user)
    staff = scope.staff_community_ids
    if not staff:
        return False
    if community_id:
        return community_id in staff
    if scope.admin_street_ids or scope.department_ids:
        return False
    # A council member's own community is visible too; it must also be a staff community.
    return not communities_visible_to(user).exclude(pk__in=staff).exists()


def may_export_full_phone_of(user: User, issue: Issue) -> bool:
    """Each row of such an export again: a number in full only to staff of its community."""
    return issue.community_id in scope_of(user).staff_community_ids


# --- Reporting ------------------------------------------------------------------------------


def may_take_in_issue(user: User, community: Community) -> bool:
    """Community staff enter matters from every channel for their own communities."""
    return community.pk in scope_of(user).staff_community_ids


require_take_in_issue = requirement(may_take_in_issue)


def may_report_issue(user: User, community: Community) -> bool:
    """Its staff, and the current members of its council (from a phone, on patrol)."""
    return may_take_in_issue(user, community) or members_permissions.may_serve_on_council(
        user, community.pk
    )


require_report_issue = requirement(may_report_issue)


# --- One issue ------------------------------------------------------------------------------


def may_handle_issue(user: User, issue: Issue) -> bool:
    """Community staff of the issue's community run its lifecycle and edit it."""
    return issue.community_id in scope_of(user).staff_community_ids


require_handle_issue = requirement(may_handle_issue)


def may_assign_issue(user: User, issue: Issue) -> bool:
    """Those who handle the issue assign council members, staff and a due date."""
    return may_handle_issue(user, issue)


require_assign_issue = requirement(may_assign_issue)


def may_escalate_issue(user: User, issue: Issue) -> bool:
    """Those who handle the issue send it a tier up (the action checks that it can go)."""
    return may_handle_issue(user, issue)


require_escalate_issue = requirement(may_escalate_issue)


def may_rate_issue(user: User, issue: Issue) -> bool:
    """Those who handle the issue record a rating the resident gave in person or by phone."""
    return may_handle_issue(user, issue)


require_rate_issue = requirement(may_rate_issue)


def may_comment_on_issue(user: User, issue: Issue) -> bool:
    """Its handlers, and council members, street admins and department handlers who see it."""
    return (
        may_handle_issue(user, issue)
        or members_permissions.may_act_as_council_member(user)
        or members_permissions.may_act_as_street_admin(user)
        or members_permissions.may_act_as_department_handler(user)
    )


require_comment_on_issue = requirement(may_comment_on_issue)


def may_be_assigned_issue(user: User, issue: Issue) -> bool:
    """Who may be given the issue as its staff member: active staff of its community."""
    return user.is_active and may_handle_issue(user, issue)


# --- The street office ----------------------------------------------------------------------


def may_see_street_queue(user: User, street: Street) -> bool:
    """The street's admins decide the escalations sent to it."""
    return members_permissions.may_oversee_street(user, street)


require_see_street_queue = requirement(may_see_street_queue)


def may_manage_categories(user: User, street: Street) -> bool:
    """The street's admins keep its list of issue categories."""
    return members_permissions.may_oversee_street(user, street)


require_manage_categories = requirement(may_manage_categories)


# --- A council member's own task (a matter the council solves itself) --------------------


def may_work_on_task(user: User, issue: Issue, assignee_ids) -> bool:
    """The members assigned to the task (``assignee_ids``: the task's council member ids)
    post its progress and report it done."""
    return bool(scope_of(user).council_member_ids & set(assignee_ids))


require_work_on_task = requirement(may_work_on_task)


def may_confirm_task(user: User, issue: Issue) -> bool:
    """The community's staff, or its council's leader or deputy, confirm or return the work."""
    return may_handle_issue(user, issue) or members_permissions.may_lead_council(
        user, issue.community_id
    )


require_confirm_task = requirement(may_confirm_task)


def may_reply_to_resident(user: User, issue: Issue) -> bool:
    """The community's staff, its street office, and a department the matter was sent to."""
    if may_handle_issue(user, issue):
        return True
    scope = scope_of(user)
    if issue.community.street_id in scope.admin_street_ids:
        return True
    return (
        bool(scope.department_ids)
        and issue.escalations.filter(department_id__in=scope.department_ids).exists()
    )


require_reply_to_resident = requirement(may_reply_to_resident)
