"""Return visits (工作回访) from a phone: going back about a resolved matter the team raised,
with the resident's answer settling the follow-up review."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.refusals import Refusal
from members import submissions
from visits import permissions, queries
from visits.actions import returns
from visits.forms import ReturnVisitForm


@login_required
@require_http_methods(["GET", "POST"])
def return_new(request: HttpRequest, concern_id: int) -> HttpResponse:
    concern = queries.return_task_for(request.user, concern_id)
    team = concern.visit.team
    permissions.require_record_visit(request.user, team)
    rate = returns.needs_rating(concern.issue)
    form = ReturnVisitForm(request.POST or None, team=team, rate=rate)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def create() -> str:
            visit = returns.return_visit_record(
                actor=request.user,
                concern=concern,
                visited_on=data["visited_on"],
                visitors=data["visitors"],
                notes=data["notes"],
                fixed=data.get("fixed", ""),
                satisfaction=data.get("satisfaction"),
            )
            return reverse("visits:visit", args=[visit.pk])

        try:
            url, first = submissions.submit_once(data["submission_key"], request.user, create)
        except Refusal as refusal:
            form.add_error(None, str(refusal))
        else:
            if first:
                messages.success(request, _("The return visit was recorded."))
            return redirect(url)
    return render(
        request,
        "visits/return_new.html",
        {"team": team, "concern": concern, "issue": concern.issue, "form": form, "rate": rate},
        status=422 if form.is_bound else 200,
    )
