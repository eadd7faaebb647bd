"""The page the issues app's notices are about (see ``members.extensions.notice_target``).

Every notice about a matter names it as ``issue_id`` in its context (``events.notice_context``
writes it); it opens the matter's page, or 404 when the reader may no longer see it. A notice
about the matter's escalation opens the page where the reader acts on it: the street office
decides on it, a department replies to it.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse

from issues import queries
from issues.models import Escalation
from members.models import User
from members.queries import scope_of


def issue_page(user: User, context: dict) -> str:
    issue_id = int(context["issue_id"])
    if not queries.issues_visible_to(user).filter(pk=issue_id).exists():
        raise Http404
    return reverse("issues:detail", args=[issue_id])


def task_page(user: User, context: dict) -> str:
    """A member's own task on a matter the council solves itself: its task page, where the
    assignees report and the staff or the leader confirm."""
    issue_id = int(context["issue_id"])
    queries.task_for(user, issue_id)
    return reverse("issues:task", args=[issue_id])


def escalation_page(user: User, context: dict) -> str:
    """The matter's latest escalation, where the reader acts on it: its reply page for a
    handler of its department, its page at the street office for an admin of its street;
    the matter's page for anyone else."""
    scope = scope_of(user)
    if scope.department_ids or scope.admin_street_ids:
        escalation = (
            Escalation.objects.filter(issue_id=int(context["issue_id"]))
            .order_by("-created", "-id")
            .only("pk", "street_id", "department_id")
            .first()
        )
        if escalation is not None and escalation.department_id in scope.department_ids:
            return reverse("issues:reply", args=[escalation.pk])
        if escalation is not None and escalation.street_id in scope.admin_street_ids:
            return reverse("issues:escalation", args=[escalation.pk])
    return issue_page(user, context)


ESCALATION_KINDS = (
    "issue_escalated",
    "escalation_assigned",
    "escalation_returned",
    "escalation_reworked",
    "escalation_handled",
    "issue_overdue",
)

ISSUE_KINDS = (
    "issue_reported",
    "issue_assigned",
    "issue_resolved",
    "issue_reopened",
)

TASK_KINDS = (
    "task_assigned",
    "task_overdue",
    "task_returned",
    "task_done_reported",
    "task_confirmed",
)


def export_page(user: User, context: dict) -> str:
    """A large export that is ready opens its page; 404 for anyone but who asked for it."""
    job = queries.export_job_for(user, int(context["export_id"]))
    return reverse("issues:export_job", args=[job.pk])


EXPORT_KINDS = ("export_ready",)
