"""Outside parties at a meeting: staff invite units and cadres, give a vote, sign them in;
a cadre signs themself in from their phone."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from deliberation import permissions, queries
from deliberation.actions import guests
from deliberation.actions.base import ActionError
from deliberation.models import MeetingGuest


@login_required
@require_POST
def guest_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff invite a unit of the community (``unit`` id) or a cadre (``username``)."""
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_runner(request.user, meeting)
    unit_id = request.POST.get("unit", "").strip()
    username = request.POST.get("username", "").strip()
    may_vote = request.POST.get("may_vote") == "on"
    unit = cadre = None
    if unit_id:
        if not unit_id.isdigit():
            raise Http404
        unit = queries.unit_at(meeting, int(unit_id))
    elif username:
        cadre = queries.cadre_named(username)
        if cadre is None:
            messages.error(
                request,
                _("No cadre's account is called “%(username)s”.") % {"username": username[:50]},
            )
            return redirect("meetings:detail", pk=meeting.pk)
    else:
        messages.error(request, _("Choose a unit or give a cadre's account name."))
        return redirect("meetings:detail", pk=meeting.pk)
    try:
        guest = guests.guest_invite(
            meeting=meeting, actor=request.user, unit=unit, cadre=cadre, may_vote=may_vote
        )
    except ActionError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("%(name)s is invited and told.") % {"name": guest.name})
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def guest_vote(request: HttpRequest, pk: int, guest_pk: int) -> HttpResponse:
    """Staff give a guest a vote, or take it back, before the meeting begins."""
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_runner(request.user, meeting)
    guest = queries.guest_at(meeting, guest_pk)
    try:
        guests.guest_vote_set(
            guest=guest, actor=request.user, may_vote=request.POST.get("may_vote") == "on"
        )
    except ActionError as refusal:
        messages.error(request, str(refusal))
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def guest_sign_in(request: HttpRequest, pk: int) -> HttpResponse:
    """A cadre signs themself in; staff sign a guest in (``guest`` id)."""
    meeting = queries.meeting_for(request.user, pk)
    guest_id = request.POST.get("guest", "").strip()
    if guest_id:
        permissions.require_runner(request.user, meeting)
        if not guest_id.isdigit():
            raise Http404
        guest = queries.guest_at(meeting, int(guest_id))
        how = MeetingGuest.How.STAFF
    else:
        guest = queries.own_guest_row(request.user, queries.guests_of(meeting))
        if guest is None:
            raise PermissionDenied
        how = MeetingGuest.How.SELF
    try:
        guests.guest_sign_in(guest=guest, actor=request.user, how=how)
    except ActionError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("%(name)s is signed in.") % {"name": guest.name})
    return redirect("meetings:detail", pk=meeting.pk)
