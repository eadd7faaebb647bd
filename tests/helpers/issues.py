"""Issues and escalations built through the actions, some moved in time afterwards."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from issues.actions import escalations
from issues.models import Escalation, Issue
from members.models import Community
from tests import factories


def reported(
    community: Community,
    created: dt.datetime,
    *,
    resolved: dt.datetime | None = None,
    status: str | None = None,
    code: str = "other",
    channel: str = "patrol",
    tier: str | None = None,
    due_on: dt.date | None = None,
) -> Issue:
    """An issue reported through the action, then moved to the moment ``created``."""
    issue = factories.issue(community, code=code, channel=channel)
    fields: dict = {"created": created}
    if resolved is not None:
        fields |= {"status": Issue.Status.RESOLVED, "resolved_at": resolved}
    if status is not None:
        fields["status"] = status
    if tier is not None:
        fields["tier"] = tier
    if due_on is not None:
        fields["due_on"] = due_on
    return factories.moved(issue, **fields)


def to_street(issue: Issue, actor) -> Escalation:
    escalations.issue_escalate(issue=issue, actor=actor, reason="议事会协调不了")
    escalations.issue_escalate(issue=issue, actor=actor, reason="需要街道协调城管")
    return Escalation.objects.get(issue=issue, state=Escalation.State.PENDING)


def accept(escalation, actor, *, days=5) -> Escalation:
    return escalations.escalation_accept(
        escalation=escalation,
        actor=actor,
        department=factories.department(escalation.street),
        deadline=timezone.localdate() + dt.timedelta(days=days),
    )
