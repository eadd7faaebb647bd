from django.http import HttpRequest

from members import queries


def navigation(request: HttpRequest) -> dict:
    """The header's role-based links and unread count: two queries, whatever the page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_scope": queries.scope_of(user),
        "unread_notices": queries.unread_count(user),
    }
