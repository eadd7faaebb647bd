"""Reads of meetings, always as seen by the acting user."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from deliberation.models import AgendaItem, Attendance, Council, Meeting
from members.models import CouncilMember, User
from members.queries import communities_visible_to, council_members_of, scope_of

PAST_MEETINGS_SHOWN = 20


def meetings_visible_to(user: User) -> QuerySet[Meeting]:
    """Meetings of the councils of the communities the user's roles cover."""
    return Meeting.objects.filter(council__community__in=communities_visible_to(user))


def upcoming_meetings(
    user: User, council: Council, *, now: dt.datetime | None = None
) -> QuerySet[Meeting]:
    """The council's scheduled meetings from now on, soonest first; none for an outsider."""
    return (
        meetings_visible_to(user)
        .filter(
            council=council,
            state=Meeting.State.SCHEDULED,
            starts_at__gte=now or timezone.now(),
        )
        .select_related("council")
        .order_by("starts_at", "id")
    )


def meeting_for(user: User, pk: int) -> Meeting:
    return get_object_or_404(
        meetings_visible_to(user).select_related("council__community__street"), pk=pk
    )


def can_run(user: User, meeting: Meeting) -> bool:
    """Staff of the council's community run its meetings."""
    return meeting.council.community_id in scope_of(user).staff_community_ids


def require_runner(user: User, meeting: Meeting) -> None:
    if not can_run(user, meeting):
        raise PermissionDenied


def own_term_at(user: User, meeting: Meeting) -> CouncilMember | None:
    """The user's current term on the meeting's council, if they serve on it."""
    return (
        CouncilMember.objects.filter(
            pk__in=scope_of(user).council_member_ids,
            council_id=meeting.council_id,
            left_on__isnull=True,
        )
        .select_related("resident")
        .first()
    )


def meeting_lists(user: User, *, now: dt.datetime | None = None) -> tuple[list, list]:
    """(upcoming, past) meetings the user may see: all upcoming, the latest past ones."""
    now = now or timezone.now()
    # Today's meeting stays "upcoming" while it runs.
    start_of_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    meetings = (
        meetings_visible_to(user)
        .select_related("council__community")
        .annotate(item_count=Count("agenda_items"))
    )
    upcoming = list(meetings.filter(starts_at__gte=start_of_today).order_by("starts_at", "id"))
    past = list(
        meetings.filter(starts_at__lt=start_of_today).order_by("-starts_at", "-id")[
            :PAST_MEETINGS_SHOWN
        ]
    )
    return upcoming, past


def agenda_of(meeting: Meeting) -> QuerySet[AgendaItem]:
    """The meeting's items with their issue, category and decision, in one query."""
    return meeting.agenda_items.select_related("issue__category", "decision__decided_by").order_by(
        "position", "id"
    )


def agenda_item_for(meeting: Meeting, pk: int) -> AgendaItem:
    return get_object_or_404(agenda_of(meeting), pk=pk)


def attendances_of(meeting: Meeting) -> QuerySet[Attendance]:
    return meeting.attendances.select_related("member__resident").order_by("signed_in_at", "id")


def active_members_of(meeting: Meeting) -> list[CouncilMember]:
    return list(council_members_of(meeting.council))


def member_at(meeting: Meeting, pk: int) -> CouncilMember:
    """A member (current or former) of the meeting's council; 404 for anyone else's."""
    return get_object_or_404(
        CouncilMember.objects.select_related("resident"), council_id=meeting.council_id, pk=pk
    )
