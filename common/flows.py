"""How a view answers once it has asked an action: the two flows every app shares.

``form_response``: a page with one form that runs one action. ``action_response``: a
button that runs one action. Both show a refusal (``common.refusals.Refusal``) as the
error message, queue the success message, and send the browser on: a redirect for a
plain post, ``HX-Redirect`` for htmx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect

from common import versions
from common.refusals import Refusal

T = TypeVar("T")


class Once(Protocol):
    """One person's one-time keys (``members.submissions.once_for``)."""

    def __call__(self, key: str, create: Callable[[], str]) -> tuple[str, bool]:
        """Run ``create`` once per key: where it went, and whether this was the first time."""

    def sent_before(self, key: str) -> str | None:
        """Where a form sent before under ``key`` went; None if it was not."""


def form_response(
    request: HttpRequest,
    form: forms.BaseForm,
    act: Callable[[dict[str, Any]], T],
    *,
    done: str | Callable[[T], str],
    to: str | Callable[[T], str],
    template: str,
    context: Mapping[str, Any],
    once: Once | None = None,
) -> HttpResponse:
    """Draw ``form`` on ``template``, or run ``act(cleaned_data)`` when it is posted valid.

    With ``once`` (``members.submissions.submit_once`` for this person), a form with a
    ``submission_key`` runs its action once per key: a second post of the same drawn
    form goes where the first went, saying nothing new, even when what the first one
    created makes the form no longer valid (a resident who now serves is no longer offered).

    A refusal becomes the form's own error and, like an invalid form, is drawn again with
    everything typed kept (422); a stale edit (``common.versions.StaleEdit``) also shows
    the values saved meanwhile and carries the current version. Otherwise ``done`` (a
    message, or a function of what the action returned) is queued and the browser sent to
    ``to`` (a URL, or a function of it).
    """
    refused: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        key = form.cleaned_data.get("submission_key", "") if once else ""
        results = []

        def create() -> str:
            results.append(act(form.cleaned_data))
            return to(results[0]) if callable(to) else to

        try:
            target, _first = once(key, create) if key else (create(), True)
        except Refusal as refusal:
            form.add_error(None, str(refusal))
            refused = versions.refused_context(form, refusal)
        else:
            if results:
                said = done(results[0]) if callable(done) else done
                if said:
                    messages.success(request, said)
            return _go(request, target)
    elif (
        once
        and form.is_bound
        and (key := str(form.data.get("submission_key", ""))[:64])
        and (target := once.sent_before(key)) is not None
    ):
        # Sent before: what the first post created may be why this copy is invalid now.
        return _go(request, target)
    return render(
        request,
        template,
        {**context, "form": form, **refused},
        status=422 if form.is_bound else 200,
    )


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

    A refusal (``Refusal``) is the error message; otherwise ``done`` is the success
    message, or a function of what the action returned ("" for none). An htmx request
    gets ``section(error=..., done=...)`` when given: the part of the page that changed,
    saying so itself. Otherwise the message is queued and the browser sent to ``to`` (a
    URL, or a function of what the action returned; ``refused_to`` after a refusal, when
    given): by ``HttpResponseClientRedirect`` for htmx, by a redirect for a plain post.
    """
    try:
        result = act()
    except Refusal as refusal:
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
    return _go(request, target)


def _go(request: HttpRequest, target: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)
