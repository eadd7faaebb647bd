"""Follow-up review items: a resolved matter comes back to its council's next meeting.

The meetings app pulls: its sweeper takes the reviews the issues app has sent and that
wait for an agenda (``issues.reviews.reviews_waiting_for_agenda``). When a matter is
reopened or its review ends, the issues app asks, through ``issues.extensions``, for the
items still waiting (``DeliberationConfig.ready`` provides these two functions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import connection, models, transaction
from django.db.models import Max, Q

from deliberation.models import AgendaItem, Decision, Meeting
from issues import reviews
from issues.models import FollowUpReview
from members.models import Council


def reviews_sweep(*, now: dt.datetime) -> dict[str, int]:
    """Everything due about follow-up reviews: ask the reporters, put the reviews on their
    councils' agendas, remind. Safe to run twice, and from two beats at once."""
    return {
        "sent": reviews.reviews_send_due(now=now),
        "placed": reviews_place_on_agenda(now=now),
        "reminded": reviews.reviews_remind(now=now),
    }


def reviews_place_on_agenda(*, now: dt.datetime, batch: int = 1000) -> int:
    """Take the reviews sent and waiting for an agenda, and put each on its council's next
    meeting; returns how many were placed. Walks them all, a batch per transaction.

    A review whose council has no meeting ahead, or whose meeting another sweep holds right
    now, stays waiting for the next sweep.
    """
    waiting = reviews.reviews_waiting_for_agenda()
    placed, after = 0, None
    while True:
        with transaction.atomic():
            page = waiting if after is None else waiting.filter(
                Q(sent_at__gt=after[0]) | Q(sent_at=after[0], pk__gt=after[1])
            )  # fmt: skip
            taken = list(reviews.claimable(page.select_related("issue"))[:batch])
            if not taken:
                return placed
            placed += _place(taken, now)
        after = (taken[-1].sent_at, taken[-1].pk)


def _place(taken: list[FollowUpReview], now: dt.datetime) -> int:
    """Put each review on its council's next meeting; mark those placed. The caller holds them."""
    placed = agenda_reviews_add(
        issues={review.issue_id: review.issue.community_id for review in taken}, now=now
    )
    if not placed:
        return 0
    return reviews.reviews_mark_placed(
        review_ids=[review.pk for review in taken if review.issue_id in placed], now=now
    )


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
    # A review placed after the meeting's notice went out is a late item the members are told of.
    announced = dict(meetings.values_list("pk", "notice_sent_at"))
    locked = set(announced)
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
        .only("pk", "meeting_id", "issue_id", "kind", "removed_at", "late", "late_notified_at")
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
            if announced[meeting_id] is not None and not item.late:
                item.late, item.late_notified_at = True, None
        item.kind = AgendaItem.Kind.REVIEW
        item.removed_at = item.removed_by = item.moved_to = None
    AgendaItem.objects.bulk_create(items)
    AgendaItem.objects.bulk_update(
        changed,
        ["kind", "position", "removed_at", "removed_by", "moved_to", "late", "late_notified_at"],
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
