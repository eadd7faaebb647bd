"""What a meeting's page shows, shared by the views that render it or a part of it."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from deliberation import minutes_queries, permissions, queries
from deliberation.forms import AgendaIssueForm, AgendaTopicForm, DecisionForm, MeetingCancelForm
from deliberation.models import AgendaItem, Meeting


def meeting_context(
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


def vote_slots(request: HttpRequest, meeting: Meeting, context: dict) -> list:
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
