"""A resident asks the community's visiting team for a visit (应约走访) from the public page.

Limits as the report form: ``ASKS_PER_HOUR`` requests per client address (failing open when
the cache cannot be reached, ``common.throttle``), and the drawn form's nonce as its one-time
key in the database, so a double tap asks once.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from common import throttle
from common.refusals import Refusal
from members import submissions
from public import forms as public_forms
from public.views import community_from_token, public_page
from visits.actions import asked

ASKS_PER_HOUR = 3
HOUR = 3600


class _Limited(Exception):
    pass


@sensitive_post_parameters("name", "phone", "address")
@require_http_methods(["GET", "POST"])
@public_page
def ask_visit(request: HttpRequest, token: str) -> HttpResponse:
    community = community_from_token(token)
    has_team = asked.team_of_community(community) is not None
    form = public_forms.AskVisitForm(request.POST or None, community=community)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            limit_key = f"asked_visit:{throttle.client_ip(request)}"

            def create() -> str:
                if not throttle.hit(limit_key, ASKS_PER_HOUR, HOUR):
                    raise _Limited
                try:
                    asked.asked_visit_create(
                        community=community,
                        name=data["name"],
                        topic=data["topic"],
                        phone=data["phone"],
                        phone_consent=data["phone_consent"],
                        address=data["address"],
                        preferred_times=data["preferred_times"],
                    )
                except Refusal:
                    throttle.undo(limit_key, HOUR)
                    raise
                return reverse("public:visit_asked", args=[token])

            try:
                url, _first = submissions.submit_once(form.nonce, None, create)
            except _Limited:
                status = 429
                form.add_error(
                    None,
                    _(
                        "Several visits were asked for from this connection in the last hour. "
                        "Please try again later, or ask your community office."
                    ),
                )
            except Refusal as refusal:
                form.add_error(None, str(refusal))
            else:
                return redirect(url)
    context = {"community": community, "form": form, "has_team": has_team, "token": token}
    return render(request, "public/ask_visit.html", context, status=status)


@require_GET
@public_page
def visit_asked(request: HttpRequest, token: str) -> HttpResponse:
    community = community_from_token(token)
    return render(request, "public/visit_asked.html", {"community": community, "token": token})
