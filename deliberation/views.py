from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from deliberation import actions, queries
from deliberation.forms import ConveneForm, DecisionForm
from deliberation.models import Attendance, Meeting


@require_GET
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and container health checks: the app answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# --- Meetings ----------------------------------------------------------------------------


@login_required
@require_GET
def meeting_list(request: HttpRequest) -> HttpResponse:
    upcoming, past = queries.meeting_lists(request.user)
    return render(request, "meetings/meeting_list.html", {"upcoming": upcoming, "past": past})


@login_required
@require_GET
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    return render(request, "meetings/meeting.html", _meeting_context(request, meeting))


@login_required
@require_POST
def meeting_sign_in(request: HttpRequest, pk: int) -> HttpResponse:
    """A member signs themself in from their phone; staff tick a member (``member`` id)."""
    meeting = queries.meeting_for(request.user, pk)
    member_id = request.POST.get("member", "").strip()
    if member_id:
        queries.require_runner(request.user, meeting)
        if not member_id.isdigit():
            raise Http404
        member = queries.member_at(meeting, int(member_id))
        how = Attendance.How.STAFF
    else:
        member = queries.own_term_at(request.user, meeting)
        if member is None:
            raise PermissionDenied
        how = Attendance.How.SELF
    error = ""
    try:
        actions.attendance_sign_in(meeting=meeting, member=member, actor=request.user, how=how)
    except actions.ActionError as refusal:
        error = str(refusal)
    if request.htmx:
        context = _meeting_context(request, meeting, with_forms=False)
        context["sign_in_error"] = error
        return render(request, "meetings/meeting.html#attendance", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("%(name)s is signed in.") % {"name": member.resident.name})
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_decide(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    item = queries.agenda_item_for(meeting, item_pk)
    queries.require_runner(request.user, meeting)
    context = _meeting_context(request, meeting, with_forms=False)
    form = DecisionForm(
        request.POST,
        prefix=f"item-{item.pk}",
        members=context["members"],
        present=context["present_members"],
    )
    if form.is_valid():
        try:
            actions.decision_record(
                item=item,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
                explanation=form.cleaned_data["explanation"],
                votes=form.votes(),
                members=form.chosen_members(),
                due_on=form.cleaned_data["due_on"],
            )
        except actions.ActionError as refusal:
            form.add_error(None, str(refusal))
        else:
            if request.htmx:
                item = queries.agenda_item_for(meeting, item.pk)  # with its decision
                return render(
                    request,
                    "meetings/meeting.html#item",
                    {**context, "item": item, "form": None},
                )
            messages.success(request, _("The decision was recorded."))
            return redirect("meetings:detail", pk=meeting.pk)
    if request.htmx:
        # 200 so htmx swaps the form back in with its errors and what was typed.
        return render(
            request, "meetings/meeting.html#item", {**context, "item": item, "form": form}
        )
    context = _meeting_context(request, meeting, bound={item.pk: form})
    return render(request, "meetings/meeting.html", context, status=422)


@login_required
@require_POST
def meeting_convene(request: HttpRequest, issue_pk: int) -> HttpResponse:
    """Blow the whistle: call an urgent meeting about an issue and tell everyone at once."""
    from issues import queries as issue_queries

    issue = issue_queries.issue_for(request.user, issue_pk)
    if not actions.can_convene(request.user, issue):
        raise PermissionDenied
    form = ConveneForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("issues:detail", pk=issue.pk)
    try:
        meeting = actions.meeting_convene_urgent(
            issue=issue,
            actor=request.user,
            starts_at=form.cleaned_data["starts_at"],
            place=form.cleaned_data["place"],
        )
    except actions.ActionError as refusal:
        messages.error(request, str(refusal))
        return redirect("issues:detail", pk=issue.pk)
    messages.success(request, _("The urgent meeting was called; its members are being told."))
    return redirect("meetings:detail", pk=meeting.pk)


def _meeting_context(
    request: HttpRequest,
    meeting: Meeting,
    *,
    with_forms: bool = True,
    bound: dict | None = None,
) -> dict:
    """Everything the meeting page shows, in a fixed number of queries."""
    user = request.user
    members = queries.active_members_of(meeting)
    attendances = list(queries.attendances_of(meeting))
    present_ids = {a.member_id for a in attendances}
    present_members = [m for m in members if m.pk in present_ids]
    needed, reached = actions.quorum_needed(
        len(members), meeting.council.quorum_ratio, len(present_members)
    )
    can_run = queries.can_run(user, meeting)
    own_term = queries.own_term_at(user, meeting)
    open_for_decisions = can_run and meeting.state != Meeting.State.CANCELLED
    rows = []
    if with_forms:
        for item in queries.agenda_of(meeting):
            form = None
            if open_for_decisions and not hasattr(item, "decision"):
                form = (bound or {}).get(item.pk) or DecisionForm(
                    prefix=f"item-{item.pk}", members=members, present=present_members
                )
            rows.append((item, form))
    return {
        "meeting": meeting,
        "council": meeting.council,
        "community": meeting.council.community,
        "rows": rows,
        "attendances": attendances,
        "members": members,
        "present_members": present_members,
        "absent_members": [m for m in members if m.pk not in present_ids],
        "present": len(present_members),
        "needed": needed,
        "quorum_reached": reached,
        "can_run": can_run,
        "open_for_decisions": open_for_decisions,
        "own_term": own_term,
        "own_present": own_term is not None and own_term.pk in present_ids,
        "can_sign_in": meeting.state == Meeting.State.SCHEDULED,
    }
