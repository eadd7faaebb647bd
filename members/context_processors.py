from django.http import HttpRequest

from members import display, permissions, queries


def display_mode(request: HttpRequest) -> dict:
    """``elder_mode``: whether the page is shown in elder mode (长辈版); no query."""
    return {"elder_mode": display.elder_mode_of(request)}


def navigation(request: HttpRequest) -> dict:
    """The header's role-based links and unread count: two queries, whatever the page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        # The places the links lead to; which links a person gets is ``nav_as``.
        "nav_scope": queries.scope_of(user),
        "nav_as": {
            "community_staff": permissions.may_act_as_community_staff(user),
            "street_admin": permissions.may_act_as_street_admin(user),
            "council_member": permissions.may_act_as_council_member(user),
            "department_handler": permissions.may_act_as_department_handler(user),
        },
        "unread_notices": queries.unread_count(user),
    }
