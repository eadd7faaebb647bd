"""Running a meeting: members sign in, and the council's decisions are carried out on the issues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from deliberation import queries
from deliberation.actions.base import ActionError, put_on_agenda
from deliberation.models import AgendaItem, Attendance, Decision, Meeting, MeetingGuest, Vote
from issues import lifecycle
from issues.actions import escalations, handling
from issues.events import IssueActionError
from issues.models import Issue
from members.models import CouncilMember, User


@transaction.atomic
def attendance_sign_in(
    *, meeting: Meeting, member: CouncilMember, actor: User, how: str
) -> Attendance:
    """Record that ``member`` is present at ``meeting`` (once; current members of its council)."""
    if how not in Attendance.How.values:
        raise ValueError(f"unknown sign-in: {how!r}")
    # The state as stored, under the lock closing takes: no sign-in slips in after it.
    state = Meeting.objects.select_for_update().values_list("state", flat=True).get(pk=meeting.pk)
    if state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
    if state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed; signing in is over."))
    if member.council_id not in queries.council_ids_at(meeting):
        raise ActionError(_("Only members of this council can sign in at its meetings."))
    opens_at = queries.sign_in_opens_at(meeting)
    if timezone.now() < opens_at:
        raise ActionError(
            ngettext(
                "Signing in opens at %(when)s, %(hours)s hour before the meeting starts.",
                "Signing in opens at %(when)s, %(hours)s hours before the meeting starts.",
                meeting.council.sign_in_opens_hours,
            )
            % {"when": queries.local_time(opens_at), "hours": meeting.council.sign_in_opens_hours}
        )
    if not member.is_current:
        raise ActionError(
            _("%(name)s is no longer a member of the council.") % {"name": member.resident.name}
        )
    if Attendance.objects.filter(meeting=meeting, member=member).exists():
        raise ActionError(_("%(name)s is already signed in.") % {"name": member.resident.name})
    try:
        with transaction.atomic():  # two phones at once: the constraint keeps one row
            return Attendance.objects.create(
                meeting=meeting,
                member=member,
                signed_in_at=timezone.now(),
                how=how,
                recorded_by=actor,
            )
    except IntegrityError as error:
        raise ActionError(
            _("%(name)s is already signed in.") % {"name": member.resident.name}
        ) from error


class Tally(NamedTuple):
    """A vote as counted: how many for, against and abstaining."""

    votes_for: int
    against: int
    abstain: int


def quorum_missing(more: int) -> str:
    """The refusal of a decision below quorum, saying how many more members must sign in."""
    return ngettext(
        "No decision can be recorded yet: %(count)s more member must sign in to reach the quorum.",
        "No decision can be recorded yet: %(count)s more members must sign in to reach the quorum.",
        more,
    ) % {"count": more}


def check_tally(tally: Tally, present: int) -> None:
    """Refuse a count that cannot be: negative, none at all, or more votes than members present."""
    if any(count < 0 for count in tally):
        raise ActionError(_("A number of votes cannot be negative."))
    total = sum(tally)
    if total == 0:
        raise ActionError(_("Count the votes, or record the decision without a vote."))
    if total > present:
        raise ActionError(
            ngettext(
                "%(total)s votes were counted, but only %(present)s member is present.",
                "%(total)s votes were counted, but only %(present)s members are present.",
                present,
            )
            % {"total": total, "present": present}
        )


OUTCOMES_THAT_DECIDE = {
    Decision.Outcome.SOLVE_BY_COUNCIL,
    Decision.Outcome.REFER_TO_COMMUNITY,
    Decision.Outcome.ESCALATE_TO_STREET,
}


@transaction.atomic
def decision_record(
    *,
    item: AgendaItem,
    actor: User,
    outcome: str,
    notes: str,
    explanation: str = "",
    votes: Mapping[int, str] | None = None,
    tally: Tally | None = None,
    members: Iterable[CouncilMember] = (),
    due_on: dt.date | None = None,
    guest_votes: Mapping[int, str] | None = None,
) -> Decision:
    """Record the council's decision on one agenda item and carry it out on the issue.

    Nothing is decided without a quorum of members present. A vote comes as a
    ``tally`` (the numbers for, against and abstaining) or, where the council votes
    by name, as ``votes`` (member id → choice) of members present, which are counted
    into the tally. The issue first records that the council deliberated it, then
    moves by the outcome, all through ``issues.actions``. Whatever any step refuses, nothing
    of the decision is written: it is one transaction.
    """
    if outcome not in Decision.Outcome.values:
        raise ActionError(_("Choose what the council decided."))
    notes = notes.strip()
    explanation = explanation.strip()
    meeting = Meeting.objects.select_for_update().select_related("council").get(pk=item.meeting_id)
    if meeting.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
    if meeting.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed; no more decisions can be recorded."))
    if AgendaItem.objects.filter(pk=item.pk, removed_at__isnull=False).exists():
        raise ActionError(_("This item is no longer on the agenda."))
    if Decision.objects.filter(item=item).exists():
        raise ActionError(_("This item has already been decided."))
    kind = AgendaItem.objects.values_list("kind", flat=True).get(pk=item.pk)
    if outcome not in {value for value, _label in queries.outcomes_for(kind)}:
        raise ActionError(
            _("A follow-up review item is decided by whether the fix worked.")
            if kind == AgendaItem.Kind.REVIEW
            else _("Only a follow-up review item is decided by whether the fix worked.")
        )
    if outcome == Decision.Outcome.NOT_ACTIONABLE and not explanation:
        raise ActionError(_("Explain why the matter is not actionable; the reporter will see it."))
    guest_votes = {int(guest_id): choice for guest_id, choice in (guest_votes or {}).items()}
    guest_votes = {guest_id: choice for guest_id, choice in guest_votes.items() if choice}
    _check_guest_votes(meeting, guest_votes)
    present, needed, reached = queries.quorum(meeting)
    if not reached:
        raise ActionError(quorum_missing(max(needed - present, 1)))
    votes = {int(member_id): choice for member_id, choice in (votes or {}).items() if choice}
    if any(choice not in Vote.Choice.values for choice in [*votes.values(), *guest_votes.values()]):
        raise ActionError(_("A vote is for, against or abstain."))
    if (votes or guest_votes) and tally is not None:
        raise ActionError(_("Give either the numbers of votes or each member's vote, not both."))
    if tally is not None and meeting.council.named_votes:
        raise ActionError(_("This council records each member's vote by name."))
    if votes or guest_votes:
        voters = set(
            Attendance.objects.filter(
                meeting=meeting, member_id__in=votes, member__left_on__isnull=True
            ).values_list("member_id", flat=True)
        )
        votes = {member_id: choice for member_id, choice in votes.items() if member_id in voters}
        chosen = [*votes.values(), *guest_votes.values()]
        tally = Tally(
            chosen.count(Vote.Choice.FOR),
            chosen.count(Vote.Choice.AGAINST),
            chosen.count(Vote.Choice.ABSTAIN),
        )
    if tally is not None:
        # Guests given a vote who signed in vote too; they never count towards the quorum.
        check_tally(tally, present + queries.voting_guests_present(meeting))
    decision = Decision.objects.create(
        item_id=item.pk,  # not item=: a refusal below must not leave it on the caller's item
        outcome=outcome,
        notes=notes,
        explanation=explanation,
        needs_vote=tally is not None,
        votes_for=tally.votes_for if tally else None,
        votes_against=tally.against if tally else None,
        votes_abstain=tally.abstain if tally else None,
        decided_by=actor,
        decided_at=timezone.now(),
    )
    Vote.objects.bulk_create(
        [
            Vote(decision=decision, member_id=member_id, choice=choice)
            for member_id, choice in sorted(votes.items())
        ]
    )
    if kind == AgendaItem.Kind.REVIEW:
        try:
            _carry_out_review(decision, meeting, item, actor)
        except (IssueActionError, lifecycle.TransitionRefused) as error:
            raise ActionError(str(error)) from error
    elif item.issue_id is not None:
        try:
            _carry_out(decision, meeting, item, actor, list(members), due_on)
        except (IssueActionError, lifecycle.TransitionRefused) as error:
            raise ActionError(str(error)) from error
    elif outcome == Decision.Outcome.DEFER:
        _carry_over(item, meeting)
    return decision


def _check_guest_votes(meeting: Meeting, guest_votes: Mapping[int, str]) -> None:
    """Refuse a vote from anyone but a guest of this meeting given a vote, signed in."""
    if not guest_votes:
        return
    guests = {
        guest.pk: guest
        for guest in MeetingGuest.objects.filter(meeting=meeting, pk__in=list(guest_votes))
        .select_related("unit", "user")
        .order_by("id")
    }
    for guest_id in sorted(guest_votes):
        guest = guests.get(guest_id)
        if guest is None:
            raise ActionError(_("Only the members and guests of this meeting can vote at it."))
        if not guest.may_vote:
            raise ActionError(
                _("%(name)s attends without a vote: only guests the council gave a vote can vote.")
                % {"name": guest.name}
            )
        if guest.signed_in_at is None:
            raise ActionError(
                _("%(name)s has not signed in and cannot vote.") % {"name": guest.name}
            )


def _carry_out_review(decision: Decision, meeting: Meeting, item: AgendaItem, actor: User) -> None:
    from issues import reviews

    if decision.outcome == Decision.Outcome.DEFER:
        _carry_over(item, meeting)
        return
    reviews.review_council_record(
        issue=item.issue,
        actor=actor,
        outcome=queries.REVIEW_OUTCOMES[decision.outcome],
        notes=decision.notes,
    )


def _carry_out(
    decision: Decision,
    meeting: Meeting,
    item: AgendaItem,
    actor: User,
    members: list[CouncilMember],
    due_on: dt.date | None,
) -> None:
    day = formats.date_format(timezone.localtime(meeting.starts_at).date(), "Y-m-d")
    held = _("decided at the meeting of %(date)s") % {"date": day}
    issue = handling.issue_record_deliberation(
        issue=item.issue, actor=actor, at=meeting.starts_at, note=held
    )
    outcome = decision.outcome
    reason = decision.notes or held
    if outcome in OUTCOMES_THAT_DECIDE:
        if issue.status == Issue.Status.DEFERRED:
            issue = _transition(issue, actor, "resume")
        if "decide" in {t.name for t in lifecycle.available(issue)}:
            issue = _transition(issue, actor, "decide", note=decision.notes)
    if outcome == Decision.Outcome.SOLVE_BY_COUNCIL:
        handling.issue_assign(
            issue=issue, actor=actor, members=members, staff=issue.assigned_staff, due_on=due_on
        )
    elif outcome == Decision.Outcome.REFER_TO_COMMUNITY:
        if issue.tier != Issue.Tier.COUNCIL:
            raise ActionError(_("This matter is already with the community or above."))
        escalations.issue_escalate(issue=issue, actor=actor, reason=reason)
    elif outcome == Decision.Outcome.ESCALATE_TO_STREET:
        if issue.tier not in (Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY):
            raise ActionError(_("This issue is already with the street office."))
        while issue.tier != Issue.Tier.STREET:
            issue = escalations.issue_escalate(issue=issue, actor=actor, reason=reason)
    elif outcome == Decision.Outcome.NOT_ACTIONABLE:
        _transition(issue, actor, "not_actionable", note=decision.explanation)
    elif outcome == Decision.Outcome.DEFER:
        _transition(issue, actor, "defer", note=reason)
        _carry_over(item, meeting)


def _transition(issue: Issue, actor: User, name: str, note: str = "") -> Issue:
    return handling.issue_transition(issue=issue, actor=actor, name=name, note=note)


def _carry_over(item: AgendaItem, meeting: Meeting) -> AgendaItem | None:
    """Put a deferred item on the council's next scheduled meeting, if there is one.

    The decided item stays on this meeting's agenda (its record); the next
    meeting gets its own item for the same matter (one taken off it by hand
    earlier is put back).
    """
    following = queries.next_meeting_after(meeting)
    if following is None:
        return None
    return put_on_agenda(following, issue_id=item.issue_id, topic=item.topic, kind=item.kind)
