"""The street office's and the departments' pages: the escalations waiting at a street,
accepting, returning and confirming one, and a department's assigned work and its reply.

The community's own pages are in ``issues.views``; the URL names are the app's as before.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from issues import queries
from issues.actions import escalations
from issues.forms import (
    AcceptEscalationForm,
    ReplyForm,
    ReturnEscalationForm,
    ReworkEscalationForm,
)
from issues.models import Escalation
from issues.views import REFUSALS, refusal_message
from members import queries as member_queries

# What of the queue's address is kept when the admin comes back to it after an action.
QUEUE_PLACE_KEYS = ("state", "page", "cursor")


def queue_place(query_string: str) -> str:
    """The queue's own part of the query string the admin came from, re-encoded."""
    came_from = QueryDict(query_string[:500])
    kept = QueryDict(mutable=True)
    for key in QUEUE_PLACE_KEYS:
        if came_from.get(key):
            kept[key] = came_from[key][:40]
    return kept.urlencode()


def _back_to_queue(request: HttpRequest, escalation: Escalation) -> HttpResponse:
    """To the queue as the admin left it: same filters, scrolled to the row they acted on
    (or the next one, when it has left this view of the queue)."""
    place = queue_place(request.POST.get("back", ""))
    row = queries.queue_row_from(request.user, escalation, state=QueryDict(place).get("state", ""))
    url = reverse("issues:street_queue", args=[escalation.street_id])
    url += f"?{place}" if place else ""
    url += f"#escalation-{row}" if row else ""
    return redirect(url)


@login_required
@require_GET
def street_queue(request: HttpRequest, street_id: int) -> HttpResponse:
    street = member_queries.street_for(request.user, street_id)
    state = request.GET.get("state", "")
    if state not in Escalation.State.values:
        state = ""
    queue = list(queries.escalations_for_street(request.user, street, state=state))
    return render(
        request,
        "issues/street_queue.html",
        {
            "street": street,
            "escalations": queue,
            "state": state,
            "states": Escalation.State.choices,
            "accept_form": AcceptEscalationForm(street_id=street.pk),
            "return_form": ReturnEscalationForm(),
            "today": timezone.localdate(),
            "place": queue_place(request.GET.urlencode()),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def escalation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept (department and deadline) or return (reason) one escalation; confirm the
    department's report, or send it back as not done (reason). Each action brings the
    admin back to the queue where they were."""
    escalation = queries.escalation_for_street_admin(request.user, pk)
    street_id = escalation.street_id
    accept_form = AcceptEscalationForm(street_id=street_id)
    return_form = ReturnEscalationForm()
    rework_form = ReworkEscalationForm()
    decision = request.POST.get("decision")
    if request.method == "POST":
        try:
            if decision == "accept":
                accept_form = AcceptEscalationForm(request.POST, street_id=street_id)
                if accept_form.is_valid():
                    escalations.escalation_accept(
                        escalation=escalation, actor=request.user, **accept_form.cleaned_data
                    )
                    messages.success(request, _("Assigned to the department."))
                    return _back_to_queue(request, escalation)
            elif decision == "return":
                return_form = ReturnEscalationForm(request.POST)
                if return_form.is_valid():
                    escalations.escalation_return(
                        escalation=escalation,
                        actor=request.user,
                        reason=return_form.cleaned_data["reason"],
                    )
                    messages.success(request, _("Returned to the community."))
                    return _back_to_queue(request, escalation)
            elif decision == "rework":
                rework_form = ReworkEscalationForm(request.POST)
                if rework_form.is_valid():
                    escalations.escalation_rework(
                        escalation=escalation, actor=request.user, **rework_form.cleaned_data
                    )
                    messages.success(request, _("Sent back to the department as not done."))
                    return _back_to_queue(request, escalation)
            elif decision == "confirm":
                escalations.escalation_confirm(escalation=escalation, actor=request.user)
                messages.success(request, _("Confirmed: the issue is resolved."))
                return _back_to_queue(request, escalation)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
    issue = escalation.issue
    # The queue's place comes as ``back``: in the link from the queue, then in each form.
    place = queue_place((request.POST if request.method == "POST" else request.GET).get("back", ""))
    return render(
        request,
        "issues/escalation.html",
        {
            "escalation": escalation,
            "issue": issue,
            "events": list(queries.timeline(issue)),
            "photos": list(queries.photos_of(issue)),
            "accept_form": accept_form,
            "return_form": return_form,
            "rework_form": rework_form,
            "place": place,
            "today": timezone.localdate(),
        },
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def work(request: HttpRequest) -> HttpResponse:
    departments = list(member_queries.departments_handled_by(request.user))
    assigned = list(queries.escalations_for_department(request.user))
    return render(
        request,
        "issues/work.html",
        {
            "departments": departments,
            "escalations": assigned,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def escalation_reply(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = queries.escalation_for_handler(request.user, pk)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            escalations.escalation_reply(
                escalation=escalation,
                actor=request.user,
                reply=form.cleaned_data["reply"],
                uploads=form.cleaned_data["photos"],
            )
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            messages.success(request, _("Reported as handled. The street office will confirm."))
            return redirect("issues:work")
    issue = escalation.issue
    return render(
        request,
        "issues/reply.html",
        {
            "escalation": escalation,
            "issue": issue,
            "photos": list(queries.photos_of(issue)),
            "form": form,
            "today": timezone.localdate(),
        },
        status=422 if form.is_bound else 200,
    )
