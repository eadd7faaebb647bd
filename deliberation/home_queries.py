"""Reads for a council member's home of four tiles (长辈版): the counts beside each tile.

It lives with the meetings because one of its tiles counts the member's coming meetings;
the unread notices come from the header's count (``members.queries.unread_count``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from deliberation.models import Meeting
from deliberation.queries import current_terms_of, meetings_visible_to
from issues.models import Issue
from issues.queries import issues_visible_to, reported_or_assigned
from members.models import CouncilMember, User


@dataclass(frozen=True)
class MemberHome:
    """What the tiles show: where 我要反映 reports, and the three counts of the member's own."""

    community_id: int | None
    open_issues: int
    upcoming_meetings: int
    open_tasks: int


def member_home(user: User, *, now: dt.datetime | None = None) -> MemberHome:
    """The tiles' figures for a council member: four queries, whatever the numbers."""
    terms = current_terms_of(user)
    return MemberHome(
        community_id=terms[0].council.community_id if terms else None,
        open_issues=open_issue_count(user),
        upcoming_meetings=upcoming_meeting_count(user, terms, now=now),
        open_tasks=my_task_count(user),
    )


def open_issue_count(user: User) -> int:
    """Open issues the member reported or is assigned to (the 我要反映 tile)."""
    return reported_or_assigned(user).filter(status__in=Issue.OPEN_STATUSES).count()


def upcoming_meeting_count(
    user: User, terms: list[CouncilMember], *, now: dt.datetime | None = None
) -> int:
    """The member's councils' meetings still to come (not held, not cancelled)."""
    if not terms:
        return 0
    councils = Q(council_id__in=[term.council_id for term in terms])
    return (
        meetings_visible_to(user)
        .filter(councils, state=Meeting.State.SCHEDULED, starts_at__gte=now or timezone.now())
        .count()
    )


def my_task_count(user: User) -> int:
    """The 我的任务 tile: the member's work still to do.

    Today that is the open issues the member is assigned to; when members have tasks of
    their own, this one function is where the tile learns of them.
    """
    return (
        issues_visible_to(user)
        .filter(assigned_members__roles__user=user, status__in=Issue.OPEN_STATUSES)
        .values("pk")
        .distinct()
        .count()
    )
