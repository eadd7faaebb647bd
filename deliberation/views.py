from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from common.flows import action_response
from common.qr import qr_svg
from deliberation import exports, meeting_page, permissions, queries, readiness
from deliberation.actions import closing, moving, running, urgent
from deliberation.actions.base import ActionError
from deliberation.forms import (
    ConveneForm,
    DecisionForm,
    MeetingCancelForm,
    MeetingMoveForm,
)
from deliberation.models import Attendance, Meeting
from members import downloads
from members.queries import communities_visible_to, community_for, council_of


@require_GET
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness, for container health checks: the app answers and reaches its database.

    It never touches Redis: a stopped cache degrades the app (``health_ready``), it does
    not make the process worth restarting."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, at the site's root so that its scope is every page: it sends
    the reports a member made without a signal once the signal returns."""
    context = {
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "login_path": resolve_url(settings.LOGIN_URL),
    }
    return render(request, "sw.js", context, content_type="text/javascript; charset=utf-8")


@require_GET
@never_cache
def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database, the cache and the Celery broker, each "ok" or "down";
    503 when any of them is down, so that a deployment sees a degraded cache."""
    checks = readiness.check_all()
    status = 200 if all(value == "ok" for value in checks.values()) else 503
    return JsonResponse(checks, status=status)


# --- Meetings ----------------------------------------------------------------------------


@login_required
@require_GET
def meeting_list(request: HttpRequest) -> HttpResponse:
    return _render_meeting_list(request)


def _render_meeting_list(
    request: HttpRequest, *, export_error: str = "", status: int = 200
) -> HttpResponse:
    upcoming, past = queries.meeting_lists(request.user)
    context = {
        "upcoming": upcoming,
        "past": past,
        # The councils whose meetings may be exported, each with its own links.
        "export_communities": list(communities_visible_to(request.user).order_by("name", "id")),
        "export_since": request.GET.get("since", ""),
        "export_until": request.GET.get("until", ""),
        "export_error": export_error,
    }
    return render(request, "meetings/meeting_list.html", context, status=status)


@login_required
@require_GET
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    return render(request, "meetings/meeting.html", meeting_page.meeting_context(request, meeting))


def _item_response(request: HttpRequest, context: dict, item_pk: int) -> HttpResponse:
    """One agenda item as the page shows it, from the rows ``meeting_context`` built."""
    for item, form in context["rows"]:
        if item.pk == item_pk:
            return render(
                request, "meetings/meeting.html#item", {**context, "item": item, "form": form}
            )
    raise Http404


@login_required
@require_GET
def meeting_item(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """An agenda item opened: its tools and decision form (htmx), or the page with it open."""
    meeting = queries.meeting_for(request.user, pk)
    item = queries.agenda_item_for(meeting, item_pk)
    if not request.htmx:
        url = reverse("meetings:detail", args=[meeting.pk])
        return redirect(f"{url}?open={item.pk}#item-{item.pk}")
    context = meeting_page.meeting_context(request, meeting, open_items={item.pk})
    return _item_response(request, context, item.pk)


@login_required
@require_GET
def meeting_sign_in_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The QR code members scan to reach the meeting page and sign themselves in."""
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_runner(request.user, meeting)
    meeting_url = request.build_absolute_uri(reverse("meetings:detail", args=[meeting.pk]))
    context = {
        "meeting": meeting,
        "council": meeting.council,
        "meeting_url": meeting_url,
        "qr_svg": qr_svg(meeting_url),
    }
    return render(request, "meetings/sign_in_sheet.html", context)


@login_required
@require_GET
def meeting_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendance card, polled by open meeting pages so the quorum shows live.

    The page sends who it shows as present; when nobody has signed in since,
    the answer is 204 and htmx leaves the page (and any vote being chosen) alone.
    """
    meeting = queries.meeting_for(request.user, pk)
    context = meeting_page.meeting_context(request, meeting, with_forms=False)
    shown = request.GET.get("present", "")
    if shown == context["present_signature"] and meeting.state == Meeting.State.SCHEDULED:
        return HttpResponse(status=204)
    context["vote_slots"] = meeting_page.vote_slots(request, meeting, context)
    return render(request, "meetings/meeting.html#attendance", context)


@login_required
@require_POST
def meeting_sign_in(request: HttpRequest, pk: int) -> HttpResponse:
    """A member signs themself in from their phone; staff tick a member (``member`` id)."""
    meeting = queries.meeting_for(request.user, pk)
    member_id = request.POST.get("member", "").strip()
    if member_id:
        permissions.require_runner(request.user, meeting)
        if not member_id.isdigit():
            raise Http404
        member = queries.member_at(meeting, int(member_id))
        how = Attendance.How.STAFF
    else:
        member = permissions.own_term_at(request.user, meeting)
        if member is None:
            raise PermissionDenied
        how = Attendance.How.SELF
    error = ""
    try:
        running.attendance_sign_in(meeting=meeting, member=member, actor=request.user, how=how)
    except ActionError as refusal:
        error = str(refusal)
    if request.htmx:
        context = meeting_page.meeting_context(request, meeting, with_forms=False)
        context["sign_in_error"] = error
        context["vote_slots"] = meeting_page.vote_slots(request, meeting, context)
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
    permissions.require_runner(request.user, meeting)
    context = meeting_page.meeting_context(request, meeting, with_forms=False)
    form = DecisionForm(
        request.POST,
        prefix=f"item-{item.pk}",
        members=meeting_page.assignable_members(meeting, item, context["members"]),
        present=context["present_members"],
        kind=item.kind,
        named=meeting.council.named_votes,
        voting_guests=context["voting_guests"],
    )
    if form.is_valid():
        counted = form.tally()
        try:
            running.decision_record(
                item=item,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
                explanation=form.cleaned_data["explanation"],
                votes=form.votes(),
                tally=running.Tally(*counted) if counted else None,
                members=form.chosen_members(),
                due_on=form.cleaned_data["due_on"],
                guest_votes=form.guest_votes(),
            )
        except ActionError as refusal:
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
    context = meeting_page.meeting_context(request, meeting, bound={item.pk: form})
    if request.htmx:
        # 200 so htmx swaps the form back in with its errors and what was typed.
        return _item_response(request, context, item.pk)
    return render(request, "meetings/meeting.html", context, status=422)


@login_required
@require_POST
def meeting_convene(request: HttpRequest, issue_pk: int) -> HttpResponse:
    """Blow the whistle: call an urgent meeting about an issue and tell everyone at once."""
    from issues import queries as issue_queries

    issue = issue_queries.issue_for(request.user, issue_pk)
    if not permissions.can_convene(request.user, issue):
        raise PermissionDenied
    form = ConveneForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("issues:detail", pk=issue.pk)
    return action_response(
        request,
        lambda: urgent.meeting_convene_urgent(
            issue=issue,
            actor=request.user,
            starts_at=form.cleaned_data["starts_at"],
            place=form.cleaned_data["place"],
        ),
        done=_("The urgent meeting was called; its members are being told."),
        to=lambda meeting: reverse("meetings:detail", args=[meeting.pk]),
        refused_to=reverse("issues:detail", args=[issue.pk]),
    )


# --- Closing and cancelling --------------------------------------------------------------


@login_required
@require_POST
def meeting_close(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_runner(request.user, meeting)
    return action_response(
        request,
        lambda: closing.meeting_close(meeting=meeting, actor=request.user),
        done=_("The meeting is closed."),
        to=reverse("meetings:detail", args=[meeting.pk]),
    )


@login_required
@require_POST
def meeting_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_runner(request.user, meeting)
    form = MeetingCancelForm(request.POST)
    if form.is_valid():
        return action_response(
            request,
            lambda: closing.meeting_cancel(
                meeting=meeting, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            done=_("The meeting is cancelled; its members are being told."),
            to=reverse("meetings:detail", args=[meeting.pk]),
        )
    context = meeting_page.meeting_context(request, meeting, cancel_form=form)
    return render(request, "meetings/meeting.html", context, status=422)


@login_required
@require_POST
def meeting_move(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    permissions.require_runner(request.user, meeting)
    form = MeetingMoveForm(request.POST)
    if form.is_valid():
        try:
            moving.meeting_move(
                meeting=meeting,
                to=form.cleaned_data["to"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ActionError as refusal:  # kept on the form with what was typed
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("The meeting was moved."))
            return redirect("meetings:detail", meeting.pk)
    context = meeting_page.meeting_context(request, meeting, move_form=form)
    return render(request, "meetings/meeting.html", context, status=422)


# --- A member's own meetings -------------------------------------------------------------


@login_required
@require_GET
def my_meetings(request: HttpRequest) -> HttpResponse:
    """A council member's meetings on their phone: what is coming, and where they were."""
    terms, upcoming, held, cancelled = queries.my_meetings(request.user)
    _mark_sign_in(upcoming)
    return render(
        request,
        "meetings/my_meetings.html",
        {
            "terms": terms,
            "upcoming": upcoming,
            "held": held,
            "cancelled": cancelled,
            "today": timezone.localdate(),
            "several_councils": len({term.council_id for term in terms}) > 1,
        },
    )


def _mark_sign_in(meetings: list[Meeting]) -> list[Meeting]:
    """Each meeting says whether its sign-in is open now, and from when it opens."""
    for meeting in meetings:
        meeting.sign_in_open = queries.sign_in_open(meeting)
        meeting.sign_in_opens_at = queries.sign_in_opens_at(meeting)
    return meetings


@login_required
@require_POST
def my_meeting_sign_in(request: HttpRequest, pk: int) -> HttpResponse:
    """The big button on the day: a member signs themself in from the list of their meetings."""
    meeting = queries.meeting_for(request.user, pk)
    member = permissions.own_term_at(request.user, meeting)
    if member is None:
        raise PermissionDenied
    error = ""
    try:
        running.attendance_sign_in(
            meeting=meeting, member=member, actor=request.user, how=Attendance.How.SELF
        )
    except ActionError as refusal:
        error = str(refusal)
    if request.htmx:
        context = {
            "meeting": _mark_sign_in([queries.my_meeting(request.user, meeting.pk)])[0],
            "today": timezone.localdate(),
            "row_error": error,
        }
        return render(request, "meetings/my_meetings.html#upcoming_row", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("You are signed in."))
    return redirect("meetings:mine")


# --- Exports ---------------------------------------------------------------------------------


def _meetings_export(request: HttpRequest, community_id: int, format: str) -> HttpResponseBase:
    """The council's meetings in a range as a file, or the meetings page refusing the range.

    Anyone who may see the community may export its meetings (council roles are public);
    another community is 404, a bad range 422 with its message. CSV is one flat table, a
    row per agenda item; XLSX has a "Meetings" and a "Decisions" sheet.
    """
    community = community_for(request.user, community_id)
    council = council_of(community)
    try:
        span = exports.date_range(request.GET.get("since", ""), request.GET.get("until", ""))
    except exports.RangeError as error:
        return _render_meeting_list(request, export_error=str(error), status=422)
    meetings = exports.meetings_in(council, span)
    terms = exports.terms_of(council)
    if format == "csv":
        sheets = [
            downloads.Sheet(
                _("Meetings"), exports.flat_headers, exports.flat_rows(meetings, council, terms)
            )
        ]
    else:
        sheets = [
            downloads.Sheet(
                _("Meetings"),
                exports.meeting_headers,
                exports.meeting_rows(meetings, council, terms),
            ),
            downloads.Sheet(
                _("Decisions"), exports.decision_headers, exports.decision_rows(meetings)
            ),
        ]
    return downloads.export_download(
        actor=request.user,
        kind="meetings",
        format=format,
        filters={"community": community.pk, **span.record()},
        name=("meetings", _("Meetings")),
        sheets=sheets,
    )


@login_required
@require_GET
def meetings_export_csv(request: HttpRequest, community_id: int) -> HttpResponseBase:
    """The council's meetings in a range as one flat CSV: a row per agenda item."""
    return _meetings_export(request, community_id, "csv")


@login_required
@require_GET
def meetings_export_xlsx(request: HttpRequest, community_id: int) -> HttpResponseBase:
    """The council's meetings in a range as XLSX: a "Meetings" and a "Decisions" sheet."""
    return _meetings_export(request, community_id, "xlsx")
