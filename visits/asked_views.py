"""Visits residents asked for (应约走访), as the team sees them: the request, its date (the
resident is texted once), and the visit that closes it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from common.refusals import Refusal
from members import submissions
from visits import permissions, queries
from visits.actions import asked as asked_actions
from visits.forms import AskedVisitForm, ScheduleForm
from visits.models import AskedVisit

CANDIDATES = 20


def _candidates(asked: AskedVisit, search: str):
    """Households of the team that may be the one who asked: found by the search, else by
    the number the resident left."""
    households = queries.search_households(asked.team, search)
    if not search:
        if not asked.phone:
            return []
        households = households.filter(Q(phone=asked.phone))
    return list(households[:CANDIDATES])


def _page(request, asked, *, schedule=None, record=None, status=200) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:50]
    households = _candidates(asked, search)
    may_record = permissions.may_record_visit(request.user, asked.team)
    is_open = asked.state in AskedVisit.OPEN_STATES
    return render(
        request,
        "visits/asked.html",
        {
            "asked": asked,
            "team": asked.team,
            "may_record": may_record,
            "is_open": is_open,
            "search": search,
            "households": households,
            "schedule": schedule or ScheduleForm(),
            "record": record or AskedVisitForm(team=asked.team, households=households),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET"])
def asked(request: HttpRequest, asked_id: int) -> HttpResponse:
    return _page(request, queries.asked_for(request.user, asked_id))


@login_required
@require_POST
def asked_schedule(request: HttpRequest, asked_id: int) -> HttpResponse:
    asked = queries.asked_for(request.user, asked_id)
    permissions.require_record_visit(request.user, asked.team)
    form = ScheduleForm(request.POST)
    if form.is_valid():

        def create() -> str:
            asked_actions.asked_visit_schedule(
                actor=request.user, asked=asked, when=form.cleaned_data["when"]
            )
            return reverse("visits:asked", args=[asked.pk])

        try:
            url, first = submissions.submit_once(
                form.cleaned_data["submission_key"], request.user, create
            )
        except Refusal as refusal:
            form.add_error(None, str(refusal))
        else:
            if first:
                messages.success(request, _("The visit has its date; the resident is told."))
            return redirect(url)
    return _page(request, asked, schedule=form, status=422)


@login_required
@require_POST
def asked_visit(request: HttpRequest, asked_id: int) -> HttpResponse:
    asked = queries.asked_for(request.user, asked_id)
    permissions.require_record_visit(request.user, asked.team)
    households = _candidates(asked, request.GET.get("q", "").strip()[:50])
    form = AskedVisitForm(request.POST, team=asked.team, households=households)
    if form.is_valid():
        data = form.cleaned_data

        def create() -> str:
            visit = asked_actions.asked_visit_record(
                actor=request.user,
                asked=asked,
                resident=data["resident"],
                visited_on=data["visited_on"],
                notes=data["notes"],
            )
            return reverse("visits:visit", args=[visit.pk])

        try:
            url, first = submissions.submit_once(data["submission_key"], request.user, create)
        except Refusal as refusal:
            form.add_error(None, str(refusal))
        else:
            if first:
                messages.success(request, _("The visit was recorded."))
            return redirect(url)
    return _page(request, asked, record=form, status=422)


@login_required
@require_POST
@never_cache
def asked_phone(request: HttpRequest, asked_id: int) -> HttpResponse:
    """The full number the resident left, for the team's members, on the record."""
    asked = queries.asked_for(request.user, asked_id)
    permissions.require_record_visit(request.user, asked.team)
    phone = asked_actions.asked_phone_reveal(actor=request.user, asked=asked)
    return render(
        request,
        "visits/asked_phone.html",
        {"asked": asked, "team": asked.team, "full_phone": phone},
    )
