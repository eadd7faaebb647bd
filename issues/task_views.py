"""A council member's own tasks: 我的任务, and a task's page where its members post progress
with photos and report it done, and the community's staff or the council's leader confirm
the work or return it with a reason. The writes are ``issues.actions.member_tasks``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.flows import action_response
from issues import permissions, queries
from issues.actions import member_tasks
from issues.forms import TaskReturnForm, TaskWorkForm
from issues.models import Issue, TaskReport
from issues.views import REFUSALS, refusal_message


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    """我的任务: the member's open tasks, soonest due first, and what waits for their word."""
    tasks = list(queries.member_tasks(request.user))
    return render(
        request,
        "issues/my_tasks.html",
        {
            "to_do": [task for task in tasks if not task.waiting],
            "waiting": [task for task in tasks if task.waiting],
            "to_confirm": list(queries.tasks_to_confirm(request.user)),
            "today": timezone.localdate(),
        },
    )


def _task_page(
    request: HttpRequest,
    issue: Issue,
    *,
    status: int = 200,
    work_form: TaskWorkForm | None = None,
    return_form: TaskReturnForm | None = None,
    refusal: str = "",
) -> HttpResponse:
    user = request.user
    assignees = queries.task_assignees(issue)
    last = queries.task_last_report(issue)
    pending = last if last is not None and last.state == TaskReport.State.PENDING else None
    is_open = issue.is_open and issue.tier == Issue.Tier.COUNCIL
    is_assignee = permissions.may_work_on_task(user, issue, {m.pk for m in assignees})
    can_confirm = permissions.may_confirm_task(user, issue)
    context = {
        "issue": issue,
        "assignees": assignees,
        "timeline": queries.task_timeline(issue),
        "last_report": last,
        "pending": pending,
        "is_open": is_open,
        "is_assignee": is_assignee,
        "can_work": is_assignee and is_open and pending is None,
        "can_confirm": can_confirm and is_open and pending is not None,
        "own_report": pending is not None and pending.reported_by_id == user.pk,
        "work_form": work_form or TaskWorkForm(),
        "return_form": return_form or TaskReturnForm(),
        "refusal": refusal,
        "today": timezone.localdate(),
    }
    return render(request, "issues/task.html", context, status=status)


@login_required
@require_GET
def task(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_page(request, queries.task_for(request.user, pk))


def _work(request: HttpRequest, pk: int, act, done: str) -> HttpResponse:
    """Progress or a report of the work done, from an assigned member's phone."""
    issue = queries.task_for(request.user, pk)
    form = TaskWorkForm(request.POST, request.FILES)
    assignees = {m.pk for m in queries.task_assignees(issue)}
    if not permissions.may_work_on_task(request.user, issue, assignees):
        # Seen, but not theirs: refused in words, and nothing is written.
        refusal = _("Only the council members assigned to this task can report on it.")
        return _task_page(request, issue, status=403, refusal=refusal)
    if form.is_valid():
        try:
            act(issue, form.cleaned_data)
        except member_tasks.NotYourTask as error:
            return _task_page(request, issue, status=403, refusal=str(error))
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            messages.success(request, done)
            return redirect("issues:task", pk=issue.pk)
    return _task_page(request, queries.task_for(request.user, pk), status=422, work_form=form)


@login_required
@require_POST
def task_progress(request: HttpRequest, pk: int) -> HttpResponse:
    def act(issue: Issue, data: dict) -> None:
        member_tasks.task_progress(
            issue=issue, actor=request.user, note=data["note"], uploads=data["photos"]
        )

    return _work(request, pk, act, _("Your progress was posted."))


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    def act(issue: Issue, data: dict) -> None:
        member_tasks.task_report_done(
            issue=issue, actor=request.user, note=data["note"], uploads=data["photos"]
        )

    return _work(
        request, pk, act, _("Reported done. The staff or the council's leader will confirm it.")
    )


@login_required
@require_POST
def task_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    issue = queries.task_for(request.user, pk)
    permissions.require_confirm_task(request.user, issue)
    return action_response(
        request,
        lambda: member_tasks.task_confirm(issue=issue, actor=request.user),
        done=_("Confirmed: the matter is resolved and its follow-up review is booked."),
        to=reverse("issues:task", args=[issue.pk]),
    )


@login_required
@require_POST
def task_return(request: HttpRequest, pk: int) -> HttpResponse:
    issue = queries.task_for(request.user, pk)
    permissions.require_confirm_task(request.user, issue)
    form = TaskReturnForm(request.POST)
    if form.is_valid():
        try:
            member_tasks.task_return(
                issue=issue, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            messages.success(request, _("Returned to the members with your reason."))
            return redirect("issues:task", pk=issue.pk)
    return _task_page(request, issue, status=422, return_form=form)
