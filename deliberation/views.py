import datetime as dt
from collections.abc import Callable

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
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from common.flows import action_response
from common.qr import qr_svg
from deliberation import exports, minutes_queries, permissions, queries
from deliberation.actions import agenda, closing, running, urgent
from deliberation.actions.base import ActionError
from deliberation.forms import (
    AgendaIssueForm,
    AgendaTopicForm,
    ConveneForm,
    DecisionForm,
    MeetingCancelForm,
)
from deliberation.models import AgendaItem, Attendance, Meeting
from members import downloads
from members.queries import communities_visible_to, community_for, council_of


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
    return render(request, "meetings/meeting.html", _meeting_context(request, meeting))


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
    context = _meeting_context(request, meeting, with_forms=False)
    shown = request.GET.get("present", "")
    if shown == context["present_signature"] and meeting.state == Meeting.State.SCHEDULED:
        return HttpResponse(status=204)
    context["vote_slots"] = _vote_slots(request, meeting, context)
    context["carry_votes"] = bool(context["vote_slots"])
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
        context = _meeting_context(request, meeting, with_forms=False)
        context["sign_in_error"] = error
        context["vote_slots"] = _vote_slots(request, meeting, context)
        context["carry_votes"] = bool(context["vote_slots"])
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
    context = _meeting_context(request, meeting, with_forms=False)
    form = DecisionForm(
        request.POST,
        prefix=f"item-{item.pk}",
        members=context["members"],
        present=context["present_members"],
        kind=item.kind,
    )
    if form.is_valid():
        try:
            running.decision_record(
                item=item,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
                explanation=form.cleaned_data["explanation"],
                votes=form.votes(),
                members=form.chosen_members(),
                due_on=form.cleaned_data["due_on"],
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


# --- Editing the agenda ------------------------------------------------------------------
#
# Each change answers htmx with the agenda section (the decision forms in it are kept as
# typed, hx-preserve) and a plain post with a redirect to the page.


def _item_label(item: AgendaItem) -> str:
    return item.issue.title if item.issue_id else item.topic


def _agenda_response(
    request: HttpRequest,
    meeting: Meeting,
    *,
    error: str = "",
    done: str = "",
    status: int = 200,
    **forms,
) -> HttpResponse:
    """The agenda again: its section for htmx, else the page (422 with what was typed)."""
    if error:
        # Closed or cancelled meanwhile, perhaps: show it as it now is.
        meeting.refresh_from_db(fields=["state", "ended_at", "ended_by"])
    if request.htmx:
        context = _meeting_context(request, meeting, **forms)
        context |= {"agenda_error": error, "agenda_done": done, "keep_typed": True}
        # 200 even for a refusal: htmx swaps the section in with its message.
        return render(request, "meetings/meeting.html#agenda", context)
    if status == 422:
        context = _meeting_context(request, meeting, **forms)
        context["agenda_error"] = error
        return render(request, "meetings/meeting.html", context, status=422)
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    return redirect(_agenda_url(meeting))


def _agenda_url(meeting: Meeting) -> str:
    return reverse("meetings:detail", args=[meeting.pk]) + "#agenda"


def _agenda_change(
    request: HttpRequest,
    meeting: Meeting,
    act: Callable[[], object],
    *,
    done: str | Callable[[AgendaItem], str] = "",
) -> HttpResponse:
    """Run one agenda action: the section with its message for htmx, else back to the page."""
    return action_response(
        request,
        act,
        done=done,
        to=_agenda_url(meeting),
        section=lambda **said: _agenda_response(request, meeting, **said),
    )


def _editing(
    request: HttpRequest, pk: int, item_pk: int | None = None
) -> tuple[Meeting, AgendaItem | None]:
    """The meeting (and item) for an agenda change: 404 outside one's scope, 403 for viewers."""
    meeting = queries.meeting_for(request.user, pk)
    item = queries.item_of(meeting, item_pk) if item_pk is not None else None
    permissions.require_runner(request.user, meeting)
    return meeting, item


@login_required
@require_POST
def agenda_move(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting, item = _editing(request, pk, item_pk)
    direction = request.POST.get("direction", "")
    if direction not in (agenda.MOVE_UP, agenda.MOVE_DOWN):
        return _agenda_response(request, meeting, error=_("Choose to move the item up or down."))
    return _agenda_change(
        request,
        meeting,
        lambda: agenda.agenda_item_move(item=item, actor=request.user, direction=direction),
    )


@login_required
@require_POST
def agenda_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting, item = _editing(request, pk, item_pk)
    return _agenda_change(
        request,
        meeting,
        lambda: agenda.agenda_item_remove(item=item, actor=request.user),
        done=_("“%(item)s” was taken off the agenda.") % {"item": _item_label(item)},
    )


@login_required
@require_POST
def agenda_restore(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting, item = _editing(request, pk, item_pk)
    return _agenda_change(
        request,
        meeting,
        lambda: agenda.agenda_item_restore(item=item, actor=request.user),
        done=_("“%(item)s” is back on the agenda.") % {"item": _item_label(item)},
    )


@login_required
@require_POST
def agenda_defer(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting, item = _editing(request, pk, item_pk)
    return _agenda_change(
        request,
        meeting,
        lambda: agenda.agenda_item_defer(item=item, actor=request.user),
        done=lambda moved: (
            _("“%(item)s” was deferred to the meeting of %(date)s.")
            % {"item": _item_label(item), "date": _day(moved.meeting.starts_at)}
        ),
    )


@login_required
@require_POST
def agenda_add_issue(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _item = _editing(request, pk)
    form = AgendaIssueForm(request.POST, candidates=queries.agenda_candidates(meeting))
    if not form.is_valid():
        return _agenda_response(request, meeting, status=422, issue_form=form)
    issue = form.chosen_issue()
    try:
        _added, taken_from = agenda.agenda_issue_add(
            meeting=meeting, actor=request.user, issue=issue
        )
    except ActionError as refusal:
        return _agenda_response(request, meeting, error=str(refusal), status=422, issue_form=form)
    done = _("“%(item)s” was added to the agenda.") % {"item": issue.title}
    if taken_from:
        days = ", ".join(_day(other.starts_at) for other in taken_from)
        done += " " + _("It was taken off the agenda of the meeting of %(date)s.") % {"date": days}
    return _agenda_response(request, meeting, done=done)


@login_required
@require_POST
def agenda_add_topic(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _item = _editing(request, pk)
    form = AgendaTopicForm(request.POST)
    if not form.is_valid():
        return _agenda_response(request, meeting, status=422, topic_form=form)
    try:
        item = agenda.agenda_topic_add(
            meeting=meeting, actor=request.user, topic=form.cleaned_data["topic"]
        )
    except ActionError as refusal:
        return _agenda_response(request, meeting, error=str(refusal), status=422, topic_form=form)
    done = _("“%(item)s” was added to the agenda.") % {"item": item.topic}
    return _agenda_response(request, meeting, done=done)


def _day(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment).date(), "Y-m-d")


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
    context = _meeting_context(request, meeting, cancel_form=form)
    return render(request, "meetings/meeting.html", context, status=422)


# --- A member's own meetings -------------------------------------------------------------


@login_required
@require_GET
def my_meetings(request: HttpRequest) -> HttpResponse:
    """A council member's meetings on their phone: what is coming, and where they were."""
    terms, upcoming, past = queries.my_meetings(request.user)
    return render(
        request,
        "meetings/my_meetings.html",
        {
            "terms": terms,
            "upcoming": upcoming,
            "past": past,
            "today": timezone.localdate(),
            "several_councils": len({term.council_id for term in terms}) > 1,
        },
    )


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
            "meeting": queries.my_meeting(request.user, meeting.pk),
            "today": timezone.localdate(),
            "row_error": error,
        }
        return render(request, "meetings/my_meetings.html#upcoming_row", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("You are signed in."))
    return redirect("meetings:mine")


def _meeting_context(
    request: HttpRequest,
    meeting: Meeting,
    *,
    with_forms: bool = True,
    bound: dict | None = None,
    issue_form: AgendaIssueForm | None = None,
    topic_form: AgendaTopicForm | None = None,
    cancel_form: MeetingCancelForm | None = None,
) -> dict:
    """Everything the meeting page shows, in a fixed number of queries."""
    user = request.user
    members = queries.active_members_of(meeting)
    attendances = list(queries.attendances_of(meeting))
    present_ids = {a.member_id for a in attendances}
    present_members = [m for m in members if m.pk in present_ids]
    needed, reached = queries.quorum_needed(
        len(members), meeting.council.quorum_ratio, len(present_members)
    )
    can_run = permissions.can_run(user, meeting)
    own_term = permissions.own_term_at(user, meeting)
    scheduled = meeting.state == Meeting.State.SCHEDULED
    # Closing ends decisions and agenda changes as cancelling does.
    editable = can_run and scheduled
    context = {
        "meeting": meeting,
        "council": meeting.council,
        "community": meeting.council.community,
        "rows": [],
        "attendances": attendances,
        "members": members,
        "present_members": present_members,
        "absent_members": [m for m in members if m.pk not in present_ids],
        "present": len(present_members),
        "needed": needed,
        "quorum_reached": reached,
        "can_run": can_run,
        "open_for_decisions": editable,
        "editable": editable,
        "own_term": own_term,
        "own_present": own_term is not None and own_term.pk in present_ids,
        "can_sign_in": scheduled,
        "present_signature": ",".join(str(member.pk) for member in present_members),
        "can_close": editable and timezone.now() >= meeting.starts_at,
        "cancel_form": (cancel_form or MeetingCancelForm()) if editable else None,
    }
    if not with_forms:
        return context
    items = list(queries.agenda_of(meeting))
    rows = []
    for index, item in enumerate(items):
        form = None
        decided = hasattr(item, "decision")
        if editable and not decided:
            form = (bound or {}).get(item.pk) or DecisionForm(
                prefix=f"item-{item.pk}", members=members, present=present_members, kind=item.kind
            )
        # Decided items keep their place, so nothing moves past one.
        above = items[index - 1] if index > 0 else None
        below = items[index + 1] if index + 1 < len(items) else None
        movable = editable and not decided
        item.tools = movable
        item.can_move_up = movable and above is not None and not hasattr(above, "decision")
        item.can_move_down = movable and below is not None and not hasattr(below, "decision")
        rows.append((item, form))
    context["rows"] = rows
    # Only where there are vote lists to carry: htmx reports an include that finds nothing.
    context["carry_votes"] = any(form is not None and not form.is_review for _, form in rows)
    context["removed_items"] = list(queries.removed_items_of(meeting))
    if not request.htmx:
        context["minutes"] = minutes_queries.latest_for(meeting)
        context["minutes_draftable"] = minutes_queries.is_draftable(meeting)
    if editable:
        context["following"] = queries.next_meeting_after(meeting)
        context["issue_form"] = issue_form or AgendaIssueForm(
            candidates=queries.agenda_candidates(meeting)
        )
        context["topic_form"] = topic_form or AgendaTopicForm()
    return context


def _vote_slots(request: HttpRequest, meeting: Meeting, context: dict) -> list:
    """The vote fields of every undecided item, for the members now present.

    Sent with a sign-in as out-of-band swaps, so the decision forms list who is
    present without reloading the notes staff are typing. The votes already
    chosen come along with the sign-in and are kept.
    """
    if not context["open_for_decisions"]:
        return []
    present = context["present_members"]
    answers = request.POST if request.method == "POST" else request.GET
    slots = []
    for item in queries.agenda_of(meeting):
        if hasattr(item, "decision") or item.kind == AgendaItem.Kind.REVIEW:
            continue  # a review is not put to a vote
        prefix = f"item-{item.pk}"
        chosen = {
            f"vote_{member.pk}": answers.get(f"{prefix}-vote_{member.pk}", "") for member in present
        }
        form = DecisionForm(
            prefix=prefix,
            members=context["members"],
            present=present,
            kind=item.kind,
            initial={name: value for name, value in chosen.items() if value},
        )
        slots.append((item, form))
    return slots


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
