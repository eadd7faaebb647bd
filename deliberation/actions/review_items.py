"""Follow-up review items: a resolved matter comes back to its council's next meeting.

Called by ``issues`` as reviews fall due, end or are reopened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import connection, models
from django.db.models import Max

from deliberation.models import AgendaItem, Council, Decision, Meeting


def agenda_reviews_add(*, issues: Mapping[int, int], now: dt.datetime) -> set[int]:
    """Put a follow-up review item for each issue on its council's next meeting.

    ``issues`` maps issue ids to their community ids. The next meeting is the council's
    first scheduled one that has not begun. Meetings someone is editing right now are
    skipped rather than waited for (the sweeper comes back for those reviews), so a sweep
    never waits behind a meeting while holding its issues. Returns the issue ids placed
    (an issue already on that meeting counts as placed).
    """
    if not issues:
        return set()
    upcoming = Meeting.objects.filter(
        council=models.OuterRef("pk"), state=Meeting.State.SCHEDULED, starts_at__gt=now
    ).order_by("starts_at", "id")
    next_meeting = dict(
        Council.objects.filter(community_id__in=set(issues.values()))
        .annotate(meeting_id=models.Subquery(upcoming.values("pk")[:1]))
        .values_list("community_id", "meeting_id")
    )
    wanted = sorted({pk for pk in next_meeting.values() if pk is not None})
    if not wanted:
        return set()
    meetings = Meeting.objects.filter(pk__in=wanted, state=Meeting.State.SCHEDULED).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        meetings = meetings.select_for_update(no_key=True, skip_locked=True)
    locked = set(meetings.values_list("pk", flat=True))
    last = dict(
        AgendaItem.objects.filter(meeting_id__in=locked, removed_at__isnull=True)
        .values("meeting_id")
        .annotate(last=Max("position"))
        .values_list("meeting_id", "last")
    )
    # An issue has one row per meeting. The matter may be there already: reopened after an
    # earlier review (its item turned into an issue item) and resolved again since.
    already = {
        (item.meeting_id, item.issue_id): item
        for item in AgendaItem.objects.filter(meeting_id__in=locked, issue_id__in=list(issues))
        .annotate(decided=models.Exists(Decision.objects.filter(item=models.OuterRef("pk"))))
        .only("pk", "meeting_id", "issue_id", "kind", "removed_at")
    }
    placed, items, changed = set(), [], []
    for issue_id, community_id in sorted(issues.items()):
        meeting_id = next_meeting.get(community_id)
        if meeting_id not in locked:
            continue
        item = already.get((meeting_id, issue_id))
        if item is not None and item.decided:
            continue  # that meeting discussed it already: the review waits for the next one
        placed.add(issue_id)
        if item is not None and item.kind == AgendaItem.Kind.REVIEW and item.removed_at is None:
            continue
        if item is None:
            item = AgendaItem(meeting_id=meeting_id, issue_id=issue_id)
            items.append(item)
        else:
            changed.append(item)
        if item.removed_at is not None or item.pk is None:
            last[meeting_id] = last.get(meeting_id, -1) + 1
            item.position = last[meeting_id]
        item.kind = AgendaItem.Kind.REVIEW
        item.removed_at = item.removed_by = item.moved_to = None
    AgendaItem.objects.bulk_create(items)
    AgendaItem.objects.bulk_update(
        changed, ["kind", "position", "removed_at", "removed_by", "moved_to"]
    )
    return placed


def _waiting_review_items(issue_id: int):
    """The matter's review items still waiting, undecided, on meetings to come."""
    return AgendaItem.objects.filter(
        issue_id=issue_id,
        kind=AgendaItem.Kind.REVIEW,
        removed_at__isnull=True,
        decision__isnull=True,
        meeting__state=Meeting.State.SCHEDULED,
    )


def agenda_review_items_reopen(*, issue_id: int) -> int:
    """The matter was reopened: its waiting review items become issue items, so the council
    deliberates it there instead of reviewing a fix that failed."""
    return _waiting_review_items(issue_id).update(kind=AgendaItem.Kind.ISSUE)


def agenda_review_items_done(*, issue_id: int, now: dt.datetime) -> int:
    """The matter's review is over: take its waiting review items off coming agendas."""
    return _waiting_review_items(issue_id).update(removed_at=now)
