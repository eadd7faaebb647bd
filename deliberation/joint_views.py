"""Joint meetings (联席会议): which councils meet together, and the street convening one."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from common import flows
from deliberation import permissions, queries
from deliberation.actions import joint
from deliberation.forms import JointCouncilsForm, JointMeetingForm
from deliberation.joint_councils import joined_councils_of
from members.queries import street_for


def _joined_said(result) -> str:
    added, removed = result
    if not added and not removed:
        return _("Nothing changed.")
    return _("The councils at this meeting were changed.")


@login_required
def joint_councils(request: HttpRequest, pk: int) -> HttpResponse:
    """The councils meeting together with the host council: staff of the host community
    or the street's admin choose them (an htmx partial on the meeting's page, or a page)."""
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_council_joiner(request.user, meeting)
    joined = joined_councils_of(meeting)
    offered = queries.joinable_councils(request.user, meeting)
    offered_ids = {council.pk for council in offered}
    # A council joined by someone else stays listed, so it is kept or taken off knowingly.
    offered += [council for council in joined if council.pk not in offered_ids]
    form = JointCouncilsForm(
        request.POST if request.method == "POST" else None,
        offered=offered,
        initial={"councils": [council.pk for council in joined]},
    )
    template = "meetings/joint_councils.html"
    if request.htmx and request.method != "POST":
        template += "#joint-form"
    return flows.form_response(
        request,
        form,
        lambda data: joint.joined_councils_set(
            meeting=meeting, actor=request.user, councils=data["councils"]
        ),
        done=_joined_said,
        to=reverse("meetings:detail", args=[meeting.pk]),
        template=template,
        context={
            "meeting": meeting,
            "council": meeting.council,
            "offered": offered,
            "joint_log": [] if request.htmx else queries.joint_council_log(meeting),
        },
    )


@login_required
def street_joint_meetings(request: HttpRequest, street_id: int) -> HttpResponse:
    """A street's joint meetings to come, and the form that convenes one."""
    street = street_for(request.user, street_id)
    if not permissions.can_convene_for_street(request.user):
        raise PermissionDenied
    offered = queries.street_councils(street)
    form = JointMeetingForm(request.POST if request.method == "POST" else None, offered=offered)
    return flows.form_response(
        request,
        form,
        lambda data: joint.joint_meeting_convene(
            actor=request.user,
            host=form.chosen_host(),
            councils=data["councils"],
            starts_at=data["starts_at"],
            place=data["place"],
        ),
        done=_("The joint meeting is convened; the councils' members will be told."),
        to=lambda meeting: reverse("meetings:detail", args=[meeting.pk]),
        template="meetings/street_joint_meetings.html",
        context={
            "street": street,
            "meetings": queries.joint_meetings_of_street(street, now=timezone.now()),
        },
    )
