"""Meeting minutes: drafted by staff, edited by staff or the leader, approved by the leader.

Scope first (an outsider gets 404 for every id), then the permission (403 for
someone who may see the meeting but not act), then one action.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.flows import action_response
from deliberation import minutes_pdf, minutes_queries, minutes_text, permissions, queries
from deliberation.actions import minutes as minutes_actions
from deliberation.actions.base import ActionError
from deliberation.minutes_forms import CorrectionForm, MinutesForm, people_choices
from deliberation.models import Meeting, Minutes

# --- Pages -------------------------------------------------------------------------------


@login_required
@require_GET
def meeting_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    """The latest version of a meeting's minutes, with the list of all versions."""
    meeting = queries.meeting_for(request.user, pk)
    versions = minutes_queries.versions_of(meeting)
    shown = versions[0] if versions else None
    return render(request, "meetings/minutes.html", _page(request, meeting, versions, shown))


@login_required
@require_GET
def minutes_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One version of the minutes, the earlier ones included."""
    shown = minutes_queries.minutes_for(request.user, pk)
    meeting = shown.meeting
    versions = minutes_queries.versions_of(meeting)
    return render(request, "meetings/minutes.html", _page(request, meeting, versions, shown))


def _page(
    request: HttpRequest, meeting: Meeting, versions: list[Minutes], shown: Minutes | None
) -> dict:
    user = request.user
    own_term = permissions.own_term_at(user, meeting)
    leader = permissions.is_leader(user, meeting, own_term=own_term)
    can_run = permissions.can_run(user, meeting)
    can_edit = permissions.can_edit_minutes(user, meeting, leader=leader)
    can_draft = permissions.can_draft_minutes(user, meeting)
    has_draft = any(version.state == Minutes.State.DRAFT for version in versions)
    return {
        "meeting": meeting,
        "council": meeting.council,
        "versions": versions,
        "shown": shown,
        "stamp": minutes_text.stamp_of(shown) if shown else "",
        "is_latest": bool(shown and versions and shown.pk == versions[0].pk),
        "can_run": can_run,
        "guest_only": not permissions.sees_council(user),
        "council_archive_hidden": not permissions.sees_host_council(
            user, meeting, own_term=own_term
        ),
        "can_draft": can_draft and not versions and minutes_queries.is_draftable(meeting),
        "can_edit": can_edit,
        "can_approve": leader,
        "can_correct": can_edit and not has_draft and bool(versions),
    }


# --- Writes ------------------------------------------------------------------------------


@login_required
@require_POST
def minutes_draft(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.meeting_for(request.user, pk)
    if not permissions.can_draft_minutes(request.user, meeting):
        raise PermissionDenied
    return action_response(
        request,
        lambda: minutes_actions.minutes_draft(meeting=meeting, actor=request.user),
        done=_("The draft of the minutes is ready to edit."),
        to=lambda draft: reverse("minutes:edit", args=[draft.pk]),
        refused_to=reverse("minutes:meeting", args=[meeting.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def minutes_edit(request: HttpRequest, pk: int) -> HttpResponse:
    minutes = minutes_queries.minutes_for(request.user, pk)
    meeting = minutes.meeting
    if not permissions.can_edit_minutes(request.user, meeting):
        raise PermissionDenied
    if request.method == "GET":
        if minutes.is_locked:
            messages.error(
                request,
                _(
                    "This version of the minutes is approved and can no longer be changed; "
                    "to change it, start a correction."
                ),
            )
            return redirect("minutes:detail", pk=minutes.pk)
        form = MinutesForm(
            initial={
                "title": minutes.title,
                "chair": minutes.chair,
                "recorder": minutes.recorder,
                "text": minutes.text,
                "stamp": minutes_text.stamp_of(minutes),
            },
            people=_people(minutes),
        )
        return _edit_page(request, minutes, form)
    form = MinutesForm(request.POST, people=_people(minutes))
    current = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            minutes_actions.minutes_edit(
                minutes=minutes,
                actor=request.user,
                title=data["title"],
                text=data["text"],
                stamp=data["stamp"],
                chair=data["chair"],
                recorder=data["recorder"],
            )
        except minutes_actions.StaleMinutes as refusal:
            current = refusal.current
            form.add_error(None, str(refusal))
            # Saving again after comparing is a deliberate choice to replace the current text.
            form.data = form.data.copy()
            form.data["stamp"] = minutes_text.stamp_of(current)
        except ActionError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("The minutes were saved."))
            return redirect("minutes:detail", pk=minutes.pk)
    return _edit_page(request, minutes, form, current=current, status=422)


def _people(minutes: Minutes) -> list:
    members, staff = minutes_queries.people_for(minutes.meeting)
    return people_choices(members, staff, (minutes.chair, minutes.recorder))


def _edit_page(
    request: HttpRequest,
    minutes: Minutes,
    form: MinutesForm,
    *,
    current: Minutes | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "meetings/minutes_edit.html",
        {
            "minutes": minutes,
            "meeting": minutes.meeting,
            "council": minutes.meeting.council,
            "form": form,
            "current": current,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def minutes_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approving asks first: a page says the version locks, and only its confirm button
    (``confirmed``) approves; a post without it shows that page again, approving nothing."""
    minutes = minutes_queries.minutes_for(request.user, pk)
    if not permissions.can_approve_minutes(request.user, minutes.meeting):
        raise PermissionDenied
    if minutes.is_locked:
        messages.error(request, _("This version of the minutes is already approved."))
        return redirect("minutes:detail", pk=minutes.pk)
    if request.method == "GET" or request.POST.get("confirmed") != "yes":
        return render(
            request,
            "meetings/minutes_approve.html",
            {
                "minutes": minutes,
                "meeting": minutes.meeting,
                "council": minutes.meeting.council,
                "stamp": request.POST.get("stamp") or minutes_text.stamp_of(minutes),
            },
        )
    return action_response(
        request,
        lambda: minutes_actions.minutes_approve(
            minutes=minutes, actor=request.user, stamp=request.POST.get("stamp", "")
        ),
        done=_("The minutes are approved."),
        to=reverse("minutes:detail", args=[minutes.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def minutes_correct(request: HttpRequest, pk: int) -> HttpResponse:
    minutes = minutes_queries.minutes_for(request.user, pk)
    meeting = minutes.meeting
    if not permissions.can_edit_minutes(request.user, meeting):
        raise PermissionDenied
    if request.method == "GET":
        latest = minutes_queries.latest_for(meeting)
        if latest is not None and latest.state == Minutes.State.DRAFT:
            messages.error(
                request,
                _("A new version of these minutes is being drafted already; edit that one."),
            )
            return redirect("minutes:edit", pk=latest.pk)
    form = CorrectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = minutes_actions.minutes_correct(
                minutes=minutes, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ActionError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("A new version was started from the approved minutes."))
            return redirect("minutes:edit", pk=draft.pk)
    return render(
        request,
        "meetings/minutes_correct.html",
        {"minutes": minutes, "meeting": meeting, "council": meeting.council, "form": form},
        status=422 if form.is_bound else 200,
    )


# --- Printing and the archive ------------------------------------------------------------


@login_required
@require_GET
def minutes_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    minutes = minutes_queries.minutes_for(request.user, pk)
    response = HttpResponse(minutes_pdf.render_pdf(minutes), content_type="application/pdf")
    response["Content-Disposition"] = minutes_pdf.content_disposition(minutes)
    return response


@login_required
@require_GET
def council_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    """Every meeting of a council that has minutes, newest first."""
    council = minutes_queries.council_for(request.user, pk)
    page = minutes_queries.archive(
        council, cursor=request.GET.get("after", ""), size=minutes_queries.ARCHIVE_PAGE_SIZE
    )
    return render(
        request,
        "meetings/minutes_archive.html",
        {"council": council, "community": council.community, "page": page},
    )
