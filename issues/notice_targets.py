"""The page the issues app's notices are about (see ``members.extensions.notice_target``).

Every notice about a matter names it as ``issue_id`` in its context (``events.notice_context``
writes it); it opens the matter's page, or 404 when the reader may no longer see it.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse

from issues import queries
from members.models import User


def issue_page(user: User, context: dict) -> str:
    issue_id = int(context["issue_id"])
    if not queries.issues_visible_to(user).filter(pk=issue_id).exists():
        raise Http404
    return reverse("issues:detail", args=[issue_id])


ISSUE_KINDS = (
    "issue_reported",
    "issue_assigned",
    "issue_escalated",
    "escalation_assigned",
    "escalation_returned",
    "escalation_handled",
    "issue_resolved",
    "issue_overdue",
    "issue_reopened",
    # A member's own task on a matter the council solves itself.
    "task_assigned",
    "task_overdue",
    "task_returned",
    "task_done_reported",
)
