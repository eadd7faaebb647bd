"""What a meeting's page shows, shared by the views that render it or a part of it.

The page stays light with a long agenda: an undecided item shows its title and one
"Open" link; its tools and decision form come when it is opened (the ``item`` view,
or ``?open=<id>`` without JavaScript). Items already open travel with agenda changes
and sign-ins as ``open`` ids, so they stay open.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from common import holidays
from deliberation import minutes_queries, permissions, queries
from deliberation.forms import (
    AgendaIssueForm,
    AgendaTopicForm,
    DecisionForm,
    MeetingCancelForm,
    MeetingMoveForm,
)
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
    move_form: MeetingMoveForm | None = None,
    open_items: set[int] | None = None,
) -> dict:
    """Everything the meeting page shows, in a fixed number of queries.

    Only the items in ``open_items`` (by default those the request names as ``open``)
    and those with a ``bound`` form carry their tools and decision form.
    """
    user = request.user
    if open_items is None:
        open_items = opened_in(request)
    open_items = open_items | set(bound or {})
    members = queries.active_members_of(meeting)
    attendances = list(queries.attendances_of(meeting))
    present_ids = {a.member_id for a in attendances}
    present_members = [m for m in members if m.pk in present_ids]
    needed, reached = queries.quorum_needed(
        len(members), meeting.council.quorum_ratio, len(present_members)
    )
    guests = queries.guests_of(meeting)
    voting_guests = [g for g in guests if g.may_vote and g.signed_in_at is not None]
    can_run = permissions.can_run(user, meeting)
    own_term = permissions.own_term_at(user, meeting)
    own_guest = queries.own_guest_row(user, guests)
    scheduled = meeting.state == Meeting.State.SCHEDULED
    councils = queries.councils_at(meeting)
    # Closing ends decisions and agenda changes as cancelling does.
    editable = can_run and scheduled
    context = {
        "meeting": meeting,
        "council": meeting.council,
        "councils": councils,
        "joined_councils": councils[1:],
        "can_join_councils": scheduled and permissions.can_join_councils(user, meeting),
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
        "guest_only": not permissions.sees_council(user),
        "unseen_community_ids": permissions.communities_unseen_at(user, meeting, own_term=own_term),
        "council_archive_hidden": not permissions.sees_host_council(
            user, meeting, own_term=own_term
        ),
        "open_for_decisions": editable,
        "editable": editable,
        "own_term": own_term,
        "guests": guests,
        "voting_guests": voting_guests,
        "own_guest": own_guest,
        "own_present": own_term is not None and own_term.pk in present_ids,
        "can_sign_in": scheduled,
        "sign_in_open": queries.sign_in_open(meeting),
        "sign_in_opens_at": queries.sign_in_opens_at(meeting),
        "present_signature": ",".join(
            [str(member.pk) for member in present_members]
            + [f"g{guest.pk}" for guest in guests if guest.signed_in_at]
        ),
        "can_close": editable and timezone.now() >= meeting.starts_at,
        "cancel_form": (cancel_form or MeetingCancelForm()) if editable else None,
        "move_form": (
            (move_form or MeetingMoveForm(meeting=meeting))
            if editable and timezone.now() < meeting.starts_at
            else None
        ),
        **moved_from(meeting),
    }
    if not with_forms:
        return context
    # The page shows each issue's title and status: its long texts stay in the database.
    items = list(
        queries.agenda_of(meeting).defer(
            "issue__description", "issue__search_bigrams", "issue__outcome_note"
        )
    )
    rows = []
    named = meeting.council.named_votes
    for index, item in enumerate(items):
        form = None
        decided = hasattr(item, "decision")
        movable = editable and not decided
        item.openable = movable
        item.opened = movable and item.pk in open_items
        if item.opened:
            form = (bound or {}).get(item.pk) or DecisionForm(
                prefix=f"item-{item.pk}",
                members=assignable_members(meeting, item, members),
                present=present_members,
                kind=item.kind,
                named=named,
                voting_guests=voting_guests,
            )
        # Decided items keep their place, so nothing moves past one.
        above = items[index - 1] if index > 0 else None
        below = items[index + 1] if index + 1 < len(items) else None
        item.tools = item.opened
        item.can_move_up = movable and above is not None and not hasattr(above, "decision")
        item.can_move_down = movable and below is not None and not hasattr(below, "decision")
        rows.append((item, form))
    context["rows"] = rows
    if guests:  # only a meeting with outside parties can give them work
        tasks: dict[int, list] = {}
        for task in queries.party_tasks_of(meeting):
            tasks.setdefault(task.decision_id, []).append(task)
        for item, _form in rows:
            item.party_tasks = tasks.get(item.decision.pk, []) if hasattr(item, "decision") else []
    context["removed_items"] = list(queries.removed_items_of(meeting))

    if not request.htmx:
        context["minutes"] = minutes_queries.latest_for(meeting)
        context["minutes_draftable"] = minutes_queries.is_draftable(meeting)
    if editable:
        context["following"] = queries.next_meeting_after(meeting)
        # The list of issues to add loads when asked for (``?add=issue`` or its own view).
        if issue_form is None and request.GET.get("add") == "issue":
            issue_form = issue_form_for(meeting)
        context["issue_form"] = issue_form
        context["topic_form"] = topic_form or AgendaTopicForm()
        if not request.htmx:  # the invitations stand outside every part htmx swaps
            context["invitable_units"] = queries.invitable_units(meeting, guests)
        context["guest_votes_open"] = timezone.now() < meeting.starts_at
    return context


def assignable_members(meeting: Meeting, item: AgendaItem, members: list) -> list:
    """The members a decision on ``item`` can give the work to: at a joint meeting, those of
    the council of the matter's own community (the only ones who may see the matter)."""
    councils = queries.councils_at(meeting)
    if len(councils) == 1 or item.issue_id is None:
        return members
    community_of = {council.pk: council.community_id for council in councils}
    return [m for m in members if community_of.get(m.council_id) == item.issue.community_id]


def moved_from(meeting: Meeting) -> dict:
    """Where a moved meeting was planned, and why it moved (staff's reason, or the day off)."""
    if meeting.planned_at is None:
        return {}
    planned = timezone.localtime(meeting.planned_at)
    return {"moved_from": planned, "moved_from_day": holidays.day_kind(planned.date())}


def issue_form_for(meeting: Meeting) -> AgendaIssueForm:
    """The form that adds one of the community's open issues to the agenda."""
    return AgendaIssueForm(
        candidates=queries.agenda_candidates(meeting),
        # A joint meeting's list holds several communities' matters: each says whose.
        with_community=len(queries.councils_at(meeting)) > 1,
    )


def opened_in(request: HttpRequest) -> set[int]:
    """The items the request names as open (``open`` ids in the query or the post)."""
    answers = request.POST if request.method == "POST" else request.GET
    return {int(value) for value in answers.getlist("open") if value.isdigit()}


def vote_slots(request: HttpRequest, meeting: Meeting, context: dict) -> list:
    """The vote fields of every open, undecided item, for the members now present.

    Sent with a sign-in as out-of-band swaps, so the decision forms list who is
    present without reloading the notes staff are typing. The votes already
    chosen (or counted) come along with the sign-in and are kept.
    """
    if not context["open_for_decisions"]:
        return []
    opened = opened_in(request)
    if not opened:
        return []
    present = context["present_members"]
    answers = request.POST if request.method == "POST" else request.GET
    slots = []
    for item in queries.agenda_of(meeting).filter(pk__in=opened):
        if hasattr(item, "decision") or item.kind == AgendaItem.Kind.REVIEW:
            continue  # a review is not put to a vote
        prefix = f"item-{item.pk}"
        form = DecisionForm(
            prefix=prefix,
            members=context["members"],
            present=present,
            kind=item.kind,
            named=meeting.council.named_votes,
            voting_guests=context["voting_guests"],
        )
        names = (form.vote_names + form.guest_vote_names) or form.count_names
        chosen = {name: answers.get(f"{prefix}-{name}", "") for name in names}
        form.initial = {name: value for name, value in chosen.items() if value}
        slots.append((item, form))
    return slots
