"""Editing a meeting's agenda by hand: moving, taking off, restoring, deferring and adding items.

Each change answers htmx with the agenda section (the decision forms in it are kept as
typed, hx-preserve) and a plain post with a redirect to the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.flows import action_response
from deliberation import meeting_page, permissions, queries
from deliberation.actions import agenda
from deliberation.actions.base import ActionError
from deliberation.forms import AgendaIssueForm, AgendaTopicForm
from deliberation.models import AgendaItem, Meeting


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
        context = meeting_page.meeting_context(request, meeting, **forms)
        context |= {"agenda_error": error, "agenda_done": done, "keep_typed": True}
        # 200 even for a refusal: htmx swaps the section in with its message.
        return render(request, "meetings/meeting.html#agenda", context)
    if status == 422:
        context = meeting_page.meeting_context(request, meeting, **forms)
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
@require_GET
def agenda_issue_choices(request: HttpRequest, pk: int) -> HttpResponse:
    """The list of open issues to add to the agenda, loaded when staff ask for it."""
    meeting, _item = _editing(request, pk)
    if not request.htmx:
        url = reverse("meetings:detail", args=[meeting.pk])
        return redirect(f"{url}?add=issue#add-issue")
    context = {"meeting": meeting, "editable": meeting.state == Meeting.State.SCHEDULED}
    if context["editable"]:
        context["issue_form"] = meeting_page.issue_form_for(meeting)
    return render(request, "meetings/meeting.html#add_issue", context)


@login_required
@require_POST
def agenda_add_issue(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _item = _editing(request, pk)
    form = AgendaIssueForm(
        request.POST,
        candidates=queries.agenda_candidates(meeting),
        with_community=len(queries.councils_at(meeting)) > 1,
    )
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
