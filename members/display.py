"""How pages are shown: the standard mode or the elder mode (长辈版).

A person with an account keeps the choice on the account (``User.elder_mode``); anyone
else keeps it on the device, in a cookie, so the residents' public pages remember it too.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

ELDER_COOKIE = "yishi_elder"
ELDER_COOKIE_AGE = 365 * 24 * 60 * 60  # a year: the device remembers the choice


def elder_mode_of(request: HttpRequest) -> bool:
    """Whether this request's pages are shown in elder mode."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.elder_mode)
    return elder_mode_of_device(request)


def elder_mode_of_device(request: HttpRequest) -> bool:
    """Whether this browser was switched to elder mode (before logging in, or with no account)."""
    return request.COOKIES.get(ELDER_COOKIE) == "1"


def remember_on_device(response: HttpResponse, *, on: bool) -> HttpResponse:
    """Keep the choice in the browser (for the public pages and after logging out)."""
    if on:
        response.set_cookie(
            ELDER_COOKIE, "1", max_age=ELDER_COOKIE_AGE, samesite="Lax", httponly=True
        )
    else:
        response.delete_cookie(ELDER_COOKIE, samesite="Lax")
    return response
