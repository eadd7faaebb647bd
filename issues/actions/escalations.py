"""Escalations: a matter sent up a tier, and the street office and its departments
answering for it (accept, return, reply, confirm).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from issues import events, lifecycle, photos, rollup
from issues.actions.base import review_schedule, store_photos
from issues.events import IssueActionError
from issues.models import Escalation, Event, Issue, Photo
from issues.queries import community_staff_of, responsible_users, street_admins_of
from members.models import Department, User

TIER_ORDER = [Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY, Issue.Tier.STREET]


@transaction.atomic
def issue_escalate(
    *, issue: Issue, actor: User, reason: str, expected_version: int | None = None
) -> Issue:
    """Send a matter one tier up: council → community → street office."""
    reason = reason.strip()
    if not reason:
        raise IssueActionError(_("Please give a reason for escalating."))
    issue = events.lock(issue, expected_version)
    if not issue.is_open:
        raise IssueActionError(_("Only open issues can be escalated."))
    if issue.tier not in (Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY):
        raise IssueActionError(_("This issue is already with the street office."))
    before = issue.tier
    issue.tier = TIER_ORDER[TIER_ORDER.index(before) + 1]
    events.save(issue, ["tier"])
    events.record(issue, actor, Event.Kind.ESCALATED, from_value=before, to_value=issue.tier,
            note=reason, public=True)  # fmt: skip
    if issue.tier == Issue.Tier.STREET:
        Escalation.objects.create(
            issue=issue, street_id=issue.community.street_id, reason=reason, raised_by=actor
        )
    events.notify(responsible_users(issue), "issue_escalated", issue,
            key=f"issue_escalated:{issue.pk}:v{issue.version}", actor=actor)  # fmt: skip
    return issue


@transaction.atomic
def escalation_accept(
    *, escalation: Escalation, actor: User, department: Department, deadline: dt.date
) -> Escalation:
    escalation = _lock_escalation(escalation, Escalation.State.PENDING)
    if department.street_id != escalation.street_id:
        raise IssueActionError(_("Choose a department of this street."))
    if deadline < timezone.localdate():
        raise IssueActionError(_("The deadline cannot be in the past."))
    issue = events.lock(escalation.issue, None)
    startable = {t.name for t in lifecycle.available(issue)}
    if issue.status != Issue.Status.IN_PROGRESS and "start" not in startable:
        raise IssueActionError(
            _("The matter is “%(status)s” at the community; return it to them instead.")
            % {"status": issue.get_status_display()}
        )
    escalation.state = Escalation.State.ACCEPTED
    escalation.department = department
    escalation.deadline = deadline
    escalation.decided_by = actor
    escalation.decided_at = timezone.now()
    escalation.save()
    rollup.escalation_changed(escalation)
    issue.tier = Issue.Tier.DEPARTMENT
    issue.assigned_department = department
    issue.due_on = deadline
    if "start" in {t.name for t in lifecycle.available(issue)}:
        before = issue.status
        issue.status = Issue.Status.IN_PROGRESS
        events.record(issue, actor, Event.Kind.STATUS, from_value=before, to_value=issue.status,
                public=True)  # fmt: skip
    events.save(issue, ["tier", "assigned_department", "due_on", "status"])
    events.record(issue, actor, Event.Kind.ACCEPTED, to_value=deadline.isoformat(),
            note=department.name, public=True)  # fmt: skip
    events.notify(responsible_users(issue), "escalation_assigned", issue,
            key=f"escalation_assigned:{escalation.pk}", actor=actor)  # fmt: skip
    return escalation


@transaction.atomic
def escalation_return(*, escalation: Escalation, actor: User, reason: str) -> Escalation:
    reason = reason.strip()
    if not reason:
        raise IssueActionError(_("Please say why the matter goes back to the community."))
    escalation = _lock_escalation(escalation, Escalation.State.PENDING)
    issue = events.lock(escalation.issue, None)
    escalation.state = Escalation.State.RETURNED
    escalation.return_reason = reason
    escalation.decided_by = actor
    escalation.decided_at = timezone.now()
    escalation.save()
    issue.tier = Issue.Tier.COMMUNITY
    events.save(issue, ["tier"])
    events.record(issue, actor, Event.Kind.RETURNED, from_value=Issue.Tier.STREET,
            to_value=Issue.Tier.COMMUNITY, note=reason, public=False)  # fmt: skip
    events.notify(responsible_users(issue), "escalation_returned", issue,
            key=f"escalation_returned:{escalation.pk}", actor=actor)  # fmt: skip
    return escalation


@transaction.atomic
def escalation_reply(
    *,
    escalation: Escalation,
    actor: User,
    reply: str,
    uploads: Sequence[UploadedFile] = (),
) -> Escalation:
    """The department reports the matter handled, with a reply and completion photos."""
    reply = reply.strip()
    if not reply:
        raise IssueActionError(_("Please describe what was done."))
    escalation = _lock_escalation(escalation, Escalation.State.ACCEPTED)
    if len(uploads) > photos.MAX_PHOTOS:
        raise IssueActionError(_("At most %(n)s photos at a time.") % {"n": photos.MAX_PHOTOS})
    cleaned = [photos.process(upload) for upload in uploads]
    issue = events.lock(escalation.issue, None)
    escalation.state = Escalation.State.HANDLED
    escalation.reply = reply
    escalation.handled_by = actor
    escalation.handled_at = timezone.now()
    escalation.save()
    rollup.escalation_changed(escalation)
    store_photos(issue, actor, cleaned, Photo.Kind.COMPLETION)
    events.save(issue, [])
    events.record(issue, actor, Event.Kind.HANDLED, note=reply, public=True)
    events.notify(street_admins_of(issue), "escalation_handled", issue,
            key=f"escalation_handled:{escalation.pk}", actor=actor)  # fmt: skip
    return escalation


@transaction.atomic
def escalation_rework(
    *, escalation: Escalation, actor: User, reason: str, deadline: dt.date | None = None
) -> Escalation:
    """The street office finds the department's reported work not done and sends it back:
    the department's task is open again (by ``deadline``, when given), with the reason on
    the timeline and in a notice to the department."""
    reason = reason.strip()
    if not reason:
        raise IssueActionError(_("Please say what is still not done."))
    if deadline is not None and deadline < timezone.localdate():
        raise IssueActionError(_("The deadline cannot be in the past."))
    escalation = _lock_escalation(escalation, Escalation.State.HANDLED)
    issue = events.lock(escalation.issue, None)
    escalation.state = Escalation.State.ACCEPTED
    escalation.rework_reason = reason
    escalation.reworked_at = timezone.now()
    escalation.handled_at = None
    changed = []
    if deadline is not None and deadline != escalation.deadline:
        before = escalation.deadline
        escalation.deadline = issue.due_on = deadline
        changed = ["due_on"]
        events.record(issue, actor, Event.Kind.DUE, from_value=before.isoformat() if before
                else "", to_value=deadline.isoformat(), public=False)  # fmt: skip
    escalation.save()
    rollup.escalation_changed(escalation)
    events.save(issue, changed)
    events.record(issue, actor, Event.Kind.REWORK, note=reason, public=False)
    events.notify(responsible_users(issue), "escalation_reworked", issue,
            key=f"escalation_reworked:{escalation.pk}:v{issue.version}", actor=actor,
            extra={"reason": Truncator(reason).chars(140)})  # fmt: skip
    return escalation


@transaction.atomic
def escalation_confirm(*, escalation: Escalation, actor: User) -> Escalation:
    """The street office confirms the department's work; the issue is resolved."""
    escalation = _lock_escalation(escalation, Escalation.State.HANDLED)
    issue = events.lock(escalation.issue, None)
    transition = lifecycle.check(issue, "resolve")
    escalation.state = Escalation.State.CONFIRMED
    escalation.confirmed_at = timezone.now()
    escalation.save()
    before = issue.status
    issue.status = transition.target
    issue.resolved_at = timezone.now()
    review_schedule(issue, issue.resolved_at)
    events.save(issue, ["status", "resolved_at"])
    events.record(issue, actor, Event.Kind.CONFIRMED, public=True)
    events.record(
        issue, actor, Event.Kind.STATUS, from_value=before, to_value=issue.status, public=True
    )
    events.notify([*responsible_users(issue), *community_staff_of(issue)], "issue_resolved", issue,
            key=f"issue_resolved:{issue.pk}:v{issue.version}", actor=actor)  # fmt: skip
    return escalation


def _lock_escalation(escalation: Escalation, state: str) -> Escalation:
    # A conditional UPDATE claims the row: it holds on SQLite, which ignores FOR UPDATE.
    claimed = Escalation.objects.filter(pk=escalation.pk, state=state).update(state=state)
    if not claimed:
        raise IssueActionError(_("This escalation has already been dealt with."))
    return (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("issue", "street")
        .get(pk=escalation.pk)
    )
