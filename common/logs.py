"""Logging filters: what the logs keep of a request, in one line where a line is enough."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


def who(request: object) -> str:
    """``id/username`` of the person behind a request, or ``anonymous``."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"{user.pk}/{user.get_username()}"


def refused_by(request: object) -> str:
    """Without a message, the reason is the page that refused: its URL name."""
    match = getattr(request, "resolver_match", None)
    return f"refused by {match.view_name}" if match else "refused"


class PermissionRefusalFilter(logging.Filter):
    """A refused request (403) is logged as one line: user, path and reason, no traceback.

    Django's ``django.request`` logger records every ``PermissionDenied`` as a warning
    with its traceback; refusals are expected (a wrong link, a role without the right)
    and thousands of tracebacks hide the errors that matter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 403:
            return True
        request = getattr(record, "request", None)
        reason = ""
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            reason = str(record.exc_info[1])
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        record.msg = "Permission denied: user=%s path=%s reason=%s"
        record.args = (
            who(request),
            getattr(request, "path", "?"),
            reason or refused_by(request),
        )
        return True
