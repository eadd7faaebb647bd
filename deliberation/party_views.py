"""Work for the outside parties at a meeting: staff give a decided matter's work to a guest;
a cadre replies to their own, staff record a unit's reply."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from deliberation import permissions, queries
from deliberation.actions import parties
from deliberation.actions.base import ActionError
from deliberation.models import Decision, PartyTask


def _back(meeting_pk: int, item_pk: int) -> HttpResponse:
    return redirect(reverse("meetings:detail", args=[meeting_pk]) + f"#item-{item_pk}")


@login_required
@require_POST
def party_assign(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_runner(request.user, meeting)
    decision = get_object_or_404(
        Decision.objects.select_related("item__issue", "item__meeting__council"),
        item__meeting=meeting,
        item__pk=item_pk,
    )
    guest_id = request.POST.get("guest", "")
    if not guest_id.isdigit():
        raise Http404
    guest = queries.guest_at(meeting, int(guest_id))
    due_text = request.POST.get("due_on", "").strip()
    try:
        due_on = dt.date.fromisoformat(due_text) if due_text else None
    except ValueError:
        messages.error(request, _("Enter the reply date as a date, for example 2027-01-15."))
        return _back(meeting.pk, item_pk)
    try:
        parties.party_assign(
            decision=decision,
            guest=guest,
            work=request.POST.get("work", "")[:1000],
            due_on=due_on,
            actor=request.user,
        )
    except ActionError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("%(name)s is given the work and told.") % {"name": guest.name})
    return _back(meeting.pk, item_pk)


@login_required
@require_POST
def party_reply(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    task = get_object_or_404(
        PartyTask.objects.select_related("guest", "decision__item"),
        decision__item__meeting=meeting,
        pk=task_pk,
    )
    own = task.guest.user_id == request.user.pk
    if not own and not (task.guest.unit_id and permissions.can_run(request.user, meeting)):
        raise PermissionDenied
    try:
        parties.party_reply(
            task=task, actor=request.user, reply=request.POST.get("reply", "")[:2000]
        )
    except ActionError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The reply is on the matter's timeline."))
    return _back(meeting.pk, task.decision.item_id)
