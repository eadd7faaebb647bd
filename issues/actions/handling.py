"""Handling a matter: its status, who handles it and by when, its deliberation, and the
follow-up reviews that resolving, reopening and closing book, call off or close.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from issues import events, extensions, lifecycle, permissions
from issues.actions.base import review_schedule
from issues.actions.supporters import supporters_tell
from issues.events import IssueActionError
from issues.models import Escalation, Event, FollowUpReview, Issue
from members.models import CouncilMember, User

# While an escalation is open the street office holds the matter: the community
# cannot finish or park it behind the street's back.
STREET_HOLDS = {"resolve", "close", "defer", "not_actionable"}
# The residents who said "me too" hear when the matter is handled or found not actionable
# (the reporter hears through the follow-up review and the tracking page).
SUPPORTERS_TOLD = {Issue.Status.RESOLVED, Issue.Status.NOT_ACTIONABLE, Issue.Status.REOPENED}


@transaction.atomic
def issue_transition(
    *,
    issue: Issue,
    actor: User,
    name: str,
    note: str = "",
    expected_version: int | None = None,
) -> Issue:
    issue = events.lock(issue, expected_version)
    transition = lifecycle.check(issue, name, note=note)
    if (
        transition.name in STREET_HOLDS
        and issue.escalations.filter(state__in=Escalation.OPEN_STATES).exists()
    ):
        raise IssueActionError(
            _(
                "The street office is handling this matter. Wait for its confirmation, "
                "or ask it to return the matter to the community."
            )
        )
    before = issue.status
    issue.status = transition.target
    fields = ["status"]
    if transition.target == Issue.Status.RESOLVED:
        issue.resolved_at = timezone.now()
        fields.append("resolved_at")
    if transition.target == Issue.Status.NOT_ACTIONABLE:
        issue.outcome_note = note.strip()
        fields.append("outcome_note")
    if transition.target in (Issue.Status.CLOSED, Issue.Status.NOT_ACTIONABLE):
        issue.closed_at = timezone.now()
        fields.append("closed_at")
    elif issue.closed_at is not None:
        issue.closed_at = None
        fields.append("closed_at")
    if transition.name == "reopen":
        issue.resolved_at = None
        fields.append("resolved_at")
        _reviews_cancel(issue, timezone.now())
        _review_items_reopen(issue)
    if transition.target == Issue.Status.RESOLVED:
        review_schedule(issue, issue.resolved_at)
    if transition.name == "close":
        _reviews_close(issue, timezone.now())
    events.save(issue, fields)
    event = events.record(
        issue,
        actor,
        Event.Kind.STATUS,
        from_value=before,
        to_value=issue.status,
        note=note,
        public=True,
        # The reporter sees why a matter is not actionable or reopened; other notes stay internal.
        note_public=transition.name in {"not_actionable", "reopen"},
    )
    if transition.target in SUPPORTERS_TOLD:
        context = {**events.notice_context(issue), "code": issue.tracking_code}
        supporters_tell(issue, "supporter_progress", context, key=f"supporter_progress:{event.pk}")
    return issue


def _reviews_cancel(issue: Issue, at: dt.datetime) -> int:
    """Call off the live review of a reopened matter: there is nothing to review until it is
    resolved again, and the next resolve schedules a fresh one."""
    return FollowUpReview.objects.filter(issue=issue, state__in=FollowUpReview.LIVE_STATES).update(
        state=FollowUpReview.State.CANCELLED, cancelled_at=at
    )


def _reviews_close(issue: Issue, at: dt.datetime) -> int:
    """Staff closed the matter by hand: a review under way ends with it, closed; one not due
    yet is called off, since nobody went back to look (the figures would count it reviewed).

    (A review that settles itself is done before it closes the matter: nothing is live here.)
    """
    reviews = FollowUpReview.objects.filter(issue=issue)
    reviews.filter(state=FollowUpReview.State.PENDING).update(
        state=FollowUpReview.State.CANCELLED, cancelled_at=at
    )
    closed = reviews.filter(state=FollowUpReview.State.SENT).update(
        state=FollowUpReview.State.DONE, result=FollowUpReview.Result.CLOSED, finished_at=at
    )
    if closed:
        extensions.review_items_done(issue_id=issue.pk, now=at)
    return closed


def _review_items_reopen(issue: Issue) -> int:
    """A reopened matter waiting on an agenda for its review is deliberated there instead."""
    return extensions.review_items_reopen(issue_id=issue.pk)


@transaction.atomic
def issue_record_deliberation(
    *, issue: Issue, actor: User, at: dt.datetime, note: str = ""
) -> Issue:
    """Mark that a council meeting deliberated the issue (the meetings app calls this)."""
    issue = events.lock(issue, None)
    issue.deliberated_at = at
    events.save(issue, ["deliberated_at"])
    events.record(issue, actor, Event.Kind.DELIBERATED, to_value=at.date().isoformat(), note=note,
            public=True)  # fmt: skip
    return issue


@transaction.atomic
def issue_assign(
    *,
    issue: Issue,
    actor: User,
    members: Iterable[CouncilMember] = (),
    staff: User | None = None,
    due_on: dt.date | None = None,
    expected_version: int | None = None,
) -> Issue:
    issue = events.lock(issue, expected_version)
    if not issue.is_open:
        raise IssueActionError(_("A closed or resolved issue cannot be assigned."))
    members = list(members)
    if any(m.council.community_id != issue.community_id or not m.is_current for m in members):
        raise IssueActionError(
            _("Only current members of this community's council can be assigned.")
        )
    if (
        staff is not None
        and staff.pk != issue.assigned_staff_id
        and not permissions.may_be_assigned_issue(staff, issue)
    ):
        # Else someone outside the community would be told about, and own, a matter
        # they cannot even open.
        raise IssueActionError(_("Only staff of this community can be assigned."))
    before_members = sorted(issue.assigned_members.values_list("pk", flat=True))
    after_members = sorted(m.pk for m in members)
    changed = False
    if before_members != after_members or issue.assigned_staff_id != (staff.pk if staff else None):
        issue.assigned_members.set(members)
        issue.assigned_staff = staff
        names = [m.resident.name for m in members] + ([str(staff)] if staff else [])
        events.record(issue, actor, Event.Kind.ASSIGNED, note="、".join(names), public=False,
                data={"members": after_members, "staff": staff.pk if staff else None})  # fmt: skip
        changed = True
    if due_on != issue.due_on:
        before_due = issue.due_on
        issue.due_on = due_on
        events.record(issue, actor, Event.Kind.DUE,
                from_value=before_due.isoformat() if before_due else "",
                to_value=due_on.isoformat() if due_on else "", public=False)  # fmt: skip
        changed = True
    if changed:
        events.save(issue, ["assigned_staff", "due_on"])
        member_users = [m.user for m in _member_accounts(members)]
        if issue.tier == Issue.Tier.COUNCIL:
            # The council solves it itself: the members find it among their tasks.
            events.notify(member_users, "task_assigned", issue,
                    key=f"task_assigned:{issue.pk}:v{issue.version}", actor=actor)  # fmt: skip
            member_users = []
        events.notify(
            member_users + ([staff] if staff else []),
            "issue_assigned",
            issue,
            key=f"issue_assigned:{issue.pk}:v{issue.version}",
            actor=actor,
        )
    return issue


def _member_accounts(members: Iterable[CouncilMember]):
    from members.models import Role

    return Role.objects.filter(
        kind=Role.Kind.COUNCIL_MEMBER, council_member__in=list(members)
    ).select_related("user")
