"""Staff set when their council meets; members and street admins may look."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common import versions
from common.flows import action_response
from deliberation import permissions
from deliberation.actions import schedules
from deliberation.actions.base import ActionError
from deliberation.models import Schedule
from deliberation.schedule_forms import ScheduleForm
from deliberation.schedules import PlannedDay, planned_days
from members import queries, submissions
from members.models import Community

NEXT_DATES_SHOWN = 5
# Long enough for five quarterly meetings.
_LOOK_AHEAD = dt.timedelta(days=550)


def _schedule_for(community: Community, pk: int) -> Schedule:
    return get_object_or_404(
        Schedule.objects.select_related("council"), council__community=community, pk=pk
    )


def next_dates(schedule: Schedule, today: dt.date) -> list[tuple[dt.datetime, PlannedDay]]:
    """The schedule's next meeting times, each with its day as the rule planned it."""
    if not schedule.is_active:
        return []
    days = planned_days(schedule, today, today + _LOOK_AHEAD)[:NEXT_DATES_SHOWN]
    return [(day.at(schedule.start_time), day) for day in days]


@login_required
def schedule_list(request: HttpRequest, community_id: int) -> HttpResponse:
    # Scope first: an outsider gets 404 whatever the method, a viewer 403 on a write.
    community = queries.community_for(request.user, community_id)
    if request.method != "GET":
        permissions.require_schedule_manager(request.user, community)
        return HttpResponseNotAllowed(["GET"])
    council = queries.council_of(community)
    today = timezone.localdate()
    rows = [
        (schedule, next_dates(schedule, today), WEEKDAYS.get(schedule.weekday, ""))
        for schedule in council.schedules.order_by("-is_active", "id")
    ]
    # Years whose official holidays the calendar does not know yet: their dates move off
    # weekends only, and the page says so instead of guessing.
    unknown_years = sorted(
        {when.year for _, dates, _ in rows for when, day in dates if not day.is_known}
    )
    return render(
        request,
        "meetings/schedules.html",
        {
            "community": community,
            "council": council,
            "rows": rows,
            "unknown_years": unknown_years,
            "can_manage": permissions.can_manage_schedules(request.user, community),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def schedule_create(request: HttpRequest, community_id: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    permissions.require_schedule_manager(request.user, community)
    council = queries.council_of(community)
    return _schedule_form(request, community, council, None)


@login_required
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    schedule = _schedule_for(community, pk)
    permissions.require_schedule_manager(request.user, community)
    return _schedule_form(request, community, schedule.council, schedule)


def _schedule_form(request, community, council, schedule) -> HttpResponse:
    form = ScheduleForm(request.POST or None, schedule=schedule)
    refused = {}
    if request.method == "POST" and form.is_valid():

        def save() -> str:
            schedules.schedule_save(
                actor=request.user,
                council=council,
                schedule=schedule,
                expected_version=form.cleaned_data.get("version"),
                **form.schedule_fields(),
            )
            return reverse("schedules:list", args=[community.pk])

        # A new schedule is added once per drawn form, whatever the taps.
        key = form.cleaned_data["submission_key"] if schedule is None else ""
        try:
            url, first = submissions.submit_once(key, request.user, save)
        except (ActionError, versions.StaleEdit) as refusal:
            form.add_error(None, str(refusal))
            refused = versions.refused_context(form, refusal)
        else:
            if first:
                messages.success(request, _("The schedule was saved."))
            return redirect(url)
    return render(
        request,
        "meetings/schedule_form.html",
        {
            "community": community,
            "council": council,
            "schedule": schedule,
            "form": form,
            **refused,
        },
        status=422 if form.is_bound else 200,
    )


@login_required
def schedule_deactivate(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    # Scope first: an outsider learns nothing, whatever the method.
    community = queries.community_for(request.user, community_id)
    schedule = _schedule_for(community, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    permissions.require_schedule_manager(request.user, community)
    return action_response(
        request,
        lambda: schedules.schedule_deactivate(actor=request.user, schedule=schedule),
        done=_("The schedule is no longer in use."),
        to=reverse("schedules:list", args=[community.pk]),
    )
