"""How a meetings view answers once it has asked an action: a message, then where to go."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from deliberation.actions.base import ActionError

T = TypeVar("T")


def action_response(
    request: HttpRequest,
    act: Callable[[], T],
    *,
    done: str | Callable[[T], str],
    to: str | Callable[[T], str],
    refused_to: str | None = None,
    section: Callable[..., HttpResponse] | None = None,
) -> HttpResponse:
    """Run ``act`` (one action) and answer with how it went.

    A refusal (``ActionError``) is the error message; otherwise ``done`` is the success
    message, or a function of what the action returned ("" for none). An htmx request
    gets ``section(error=..., done=...)`` when given: the part of the page that changed,
    saying so itself. Otherwise the message is queued and the browser sent to ``to`` (a
    URL, or a function of what the action returned; ``refused_to`` after a refusal, when
    given): by ``HttpResponseClientRedirect`` for htmx, by a redirect for a plain post.
    """
    try:
        result = act()
    except ActionError as refusal:
        error, said, target = str(refusal), "", refused_to or to
        if callable(target):
            raise ValueError("to needs the action's result: give refused_to too") from refusal
    else:
        error = ""
        said = done(result) if callable(done) else done
        target = to(result) if callable(to) else to
    if request.htmx and section is not None:
        return section(error=error, done=said)
    if error:
        messages.error(request, error)
    elif said:
        messages.success(request, said)
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)
