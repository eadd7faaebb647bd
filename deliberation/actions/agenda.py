"""Editing a meeting's agenda by hand, before or during the meeting.

Staff change a scheduled meeting's agenda. An item taken off keeps its row
(removed_at), so the automatic top-up does not put the issue back on that meeting
and the change stays on record. A decided item is the meeting's record of the
matter: it is neither taken off nor moved. Every change locks the meeting row, so
two people editing at once renumber one after the other.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from deliberation import queries
from deliberation.actions.base import ActionError, has_begun, joins_late, put_on_agenda, start_of
from deliberation.models import AgendaItem, Meeting
from issues.models import FollowUpReview, Issue
from members.models import User

MOVE_UP = "up"
MOVE_DOWN = "down"


def _lock_for_editing(meeting_id: int) -> Meeting:
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("council").get(pk=meeting_id)
    )
    if meeting.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled; its agenda can no longer change."))
    if meeting.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed; its agenda can no longer change."))
    return meeting


def _live_items(meeting: Meeting) -> list[AgendaItem]:
    return list(
        AgendaItem.objects.filter(meeting=meeting, removed_at__isnull=True)
        .select_related("decision")
        .order_by("position", "id")
    )


def _is_decided(item: AgendaItem) -> bool:
    return hasattr(item, "decision")


def _renumber(items: list[AgendaItem]) -> None:
    """Give the items positions 0, 1, 2 … in the order of the list."""
    changed = []
    for position, item in enumerate(items):
        if item.position != position:
            item.position = position
            changed.append(item)
    AgendaItem.objects.bulk_update(changed, ["position"])


def _find_live(items: list[AgendaItem], item: AgendaItem) -> AgendaItem:
    current = next((live for live in items if live.pk == item.pk), None)
    if current is None:
        raise ActionError(_("This item is no longer on the agenda."))
    return current


def _take_off_other_agendas(issue: Issue, meeting: Meeting, actor: User) -> list[Meeting]:
    """Take the issue off every other upcoming agenda it waits on; those items point here.

    An issue is discussed at one meeting at a time (the top-up holds the same rule);
    an item already decided elsewhere is that meeting's record and stays.
    """
    now = timezone.now()
    waiting = (
        AgendaItem.objects.filter(
            issue=issue,
            removed_at__isnull=True,
            decision__isnull=True,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gte=start_of(timezone.localdate(now)),
        )
        .exclude(meeting=meeting)
        .select_related("meeting")
    )
    items = list(waiting)
    for item in items:
        item.removed_at, item.removed_by, item.moved_to = now, actor, meeting
    AgendaItem.objects.bulk_update(items, ["removed_at", "removed_by", "moved_to"])
    return [item.meeting for item in items]


@transaction.atomic
def agenda_item_move(*, item: AgendaItem, actor: User, direction: str) -> AgendaItem:
    """Move an undecided item one place up or down; the agenda is numbered 0, 1, 2 … again.

    Decided items keep their place, so nothing moves past one.
    """
    if direction not in (MOVE_UP, MOVE_DOWN):
        raise ValueError(f"unknown direction: {direction!r}")
    meeting = _lock_for_editing(item.meeting_id)
    items = _live_items(meeting)
    current = _find_live(items, item)
    if _is_decided(current):
        raise ActionError(_("This item has been decided; it keeps its place on the agenda."))
    index = items.index(current)
    other = index - 1 if direction == MOVE_UP else index + 1
    if other < 0:
        raise ActionError(_("This item is already first on the agenda."))
    if other >= len(items):
        raise ActionError(_("This item is already last on the agenda."))
    if _is_decided(items[other]):
        raise ActionError(_("Decided items keep their place; an item cannot move past them."))
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    return current


@transaction.atomic
def agenda_issue_add(
    *, meeting: Meeting, actor: User, issue: Issue
) -> tuple[AgendaItem, list[Meeting]]:
    """Put an open issue of the council's community, or a joined one's, on the agenda's end.

    An issue waiting, undecided, on another upcoming meeting's agenda is moved here: that
    item is taken off and points to this meeting. After the notice went out the issue is a
    late item (临时增加) the members are told of; once the meeting has begun, none joins.
    Returns the item and the meetings the issue was taken from.
    """
    meeting = _lock_for_editing(meeting.pk)
    if has_begun(meeting):
        raise ActionError(
            _(
                "The meeting has begun, so no matter can be added to its agenda any more; "
                "put it on the next meeting instead."
            )
        )
    issue = Issue.objects.get(pk=issue.pk)
    if issue.community_id not in queries.community_ids_at(meeting):
        raise ActionError(_("Only issues of the council's own community can go on its agenda."))
    if not issue.is_open:
        raise ActionError(_("Only an open issue can go on the agenda."))
    if AgendaItem.objects.filter(meeting=meeting, issue=issue, removed_at__isnull=True).exists():
        raise ActionError(_("This issue is already on the agenda."))
    taken_from = _take_off_other_agendas(issue, meeting, actor)
    item = put_on_agenda(
        meeting,
        issue_id=issue.pk,
        topic="",
        kind=AgendaItem.Kind.ISSUE,
        late=joins_late(meeting),
    )
    return item, taken_from


TOPIC_MAX_LENGTH = AgendaItem._meta.get_field("topic").max_length


@transaction.atomic
def agenda_topic_add(*, meeting: Meeting, actor: User, topic: str) -> AgendaItem:
    """Put a free topic (not an issue) at the end of the agenda.

    After the notice went out and before the meeting begins it is a late item; during the
    meeting it is what was raised at the table.
    """
    topic = " ".join(topic.split())
    if not topic:
        raise ActionError(_("Write the topic to put on the agenda."))
    if len(topic) > TOPIC_MAX_LENGTH:
        raise ActionError(_("A topic has at most %(max)d characters.") % {"max": TOPIC_MAX_LENGTH})
    meeting = _lock_for_editing(meeting.pk)
    return put_on_agenda(
        meeting, issue_id=None, topic=topic, kind=AgendaItem.Kind.TOPIC, late=joins_late(meeting)
    )


@transaction.atomic
def agenda_item_remove(*, item: AgendaItem, actor: User) -> AgendaItem:
    """Take an undecided item off the agenda; its row stays, marked removed."""
    meeting = _lock_for_editing(item.meeting_id)
    items = _live_items(meeting)
    current = _find_live(items, item)
    if _is_decided(current):
        raise ActionError(_("This item has been decided; it stays on the agenda as the record."))
    current.removed_at, current.removed_by = timezone.now(), actor
    current.save(update_fields=["removed_at", "removed_by"])
    _renumber([live for live in items if live.pk != current.pk])
    return current


@transaction.atomic
def agenda_item_restore(*, item: AgendaItem, actor: User) -> AgendaItem:
    """Put an item taken off by hand back at the end of the agenda.

    A deferred item is not put back here: it lives on the later meeting's agenda now.
    An issue waiting on another upcoming agenda meanwhile is moved here, as when added.
    """
    meeting = _lock_for_editing(item.meeting_id)
    current = AgendaItem.objects.select_related("moved_to", "issue").get(pk=item.pk)
    if current.removed_at is None:
        raise ActionError(_("This item is on the agenda already."))
    if current.moved_to is not None:
        raise ActionError(
            _(
                "This item was deferred to the meeting of %(date)s; change that meeting's "
                "agenda instead."
            )
            % {"date": _local_day(current.moved_to.starts_at)}
        )
    if current.kind == AgendaItem.Kind.REVIEW:
        # A resolved matter comes back for its review while the review still waits for it.
        if not FollowUpReview.objects.filter(
            issue_id=current.issue_id, state=FollowUpReview.State.SENT
        ).exists():
            raise ActionError(_("The follow-up review of this matter is over."))
        _take_off_other_agendas(current.issue, meeting, actor)
    elif current.issue is not None:
        if not current.issue.is_open:
            raise ActionError(_("Only an open issue can go on the agenda."))
        _take_off_other_agendas(current.issue, meeting, actor)
    return put_on_agenda(
        meeting,
        issue_id=current.issue_id,
        topic=current.topic,
        kind=current.kind,
        late=current.late,
    )


@transaction.atomic
def agenda_item_defer(*, item: AgendaItem, actor: User) -> AgendaItem:
    """Move an undecided item to the council's next scheduled meeting, before discussing it.

    The item here is taken off and points to that meeting, where the matter is appended.
    This is not the council's "defer" decision: the issue's status does not change.
    Returns the item on the later meeting.
    """
    meeting = _lock_for_editing(item.meeting_id)
    items = _live_items(meeting)
    current = _find_live(items, item)
    if _is_decided(current):
        raise ActionError(_("This item has been decided; it can no longer be deferred."))
    following = queries.next_meeting_after(meeting)
    if following is None:
        raise ActionError(
            _("The council has no later meeting scheduled, so the item cannot be deferred.")
        )
    following = Meeting.objects.select_for_update(of=("self",)).get(pk=following.pk)
    moved = put_on_agenda(
        following,
        issue_id=current.issue_id,
        topic=current.topic,
        kind=current.kind,
        late=joins_late(following),
    )
    current.removed_at, current.removed_by, current.moved_to = timezone.now(), actor, following
    current.save(update_fields=["removed_at", "removed_by", "moved_to"])
    _renumber([live for live in items if live.pk != current.pk])
    return moved


def _local_day(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment).date(), "Y-m-d")
