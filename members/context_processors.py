from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from members import display, permissions, queries, submissions


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


def draft_session(request: HttpRequest) -> dict:
    """``draft_session``: an id of this login, which the forms' drafts are kept under.

    Drafts saved in the browser under another login (an earlier one, or another person's
    on a shared computer) are dropped by the page's script; a new login gets a new
    session key, hence a new id. Empty when nobody is logged in: the page then drops
    every draft. No query.
    """
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or not user.is_authenticated or session is None or not session.session_key:
        return {"draft_session": ""}
    return {
        "draft_session": salted_hmac("yishi.draft-session", session.session_key).hexdigest()[:20]
    }


def outbox_owner(request: HttpRequest) -> dict:
    """``outbox_owner``: whose reports made offline this browser may send (empty when
    nobody is logged in: then none are sent). No query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"outbox_owner": ""}
    return {"outbox_owner": submissions.outbox_owner(user)}
