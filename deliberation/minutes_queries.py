"""Reads of meeting minutes: the versions a user may see, and a council's archive of them."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from common.paging import Page, keyset_page
from deliberation import queries
from deliberation.models import Meeting, Minutes
from members.models import Council, CouncilMember, Role, User
from members.queries import communities_visible_to, council_members_of

ARCHIVE_PAGE_SIZE = 20


def is_draftable(meeting: Meeting, *, now: dt.datetime | None = None) -> bool:
    """Held, or scheduled and already started; a cancelled meeting has no minutes."""
    if meeting.state == Meeting.State.HELD:
        return True
    return meeting.state == Meeting.State.SCHEDULED and meeting.starts_at <= (now or timezone.now())


def minutes_visible_to(user: User) -> QuerySet[Minutes]:
    return Minutes.objects.filter(meeting__in=queries.meetings_visible_to(user))


def minutes_for(user: User, pk: int) -> Minutes:
    """One version of minutes of a meeting the user may see; 404 for anyone else's."""
    return get_object_or_404(
        minutes_visible_to(user).select_related(
            "meeting__council__community__street", "created_by", "edited_by", "approved_by"
        ),
        pk=pk,
    )


def versions_of(meeting: Meeting) -> list[Minutes]:
    """Every version of the meeting's minutes, newest first, in one query."""
    return list(
        meeting.minutes.select_related("created_by", "edited_by", "approved_by").order_by(
            "-version"
        )
    )


def latest_for(meeting: Meeting) -> Minutes | None:
    """The newest version of the meeting's minutes (a draft or approved), in one query."""
    return meeting.minutes.order_by("-version").first()


def council_for(user: User, pk: int) -> Council:
    return get_object_or_404(
        Council.objects.filter(community__in=communities_visible_to(user)).select_related(
            "community"
        ),
        pk=pk,
    )


def archive(council: Council, *, cursor: str = "", size: int = ARCHIVE_PAGE_SIZE) -> Page:
    """The council's meetings that have minutes, newest first, one query a page.

    Each row carries its latest version (``latest_id``, ``latest_version``,
    ``latest_state``) and latest approved version (``approved_id``,
    ``approved_version``, ``approved_on``).
    """
    versions = Minutes.objects.filter(meeting=OuterRef("pk"))
    latest = versions.order_by("-version")
    approved = versions.filter(state=Minutes.State.APPROVED).order_by("-version")
    meetings = (
        Meeting.objects.filter(council=council)
        .filter(Exists(versions))
        .annotate(
            latest_id=Subquery(latest.values("pk")[:1]),
            latest_version=Subquery(latest.values("version")[:1]),
            latest_state=Subquery(latest.values("state")[:1]),
            approved_id=Subquery(approved.values("pk")[:1]),
            approved_version=Subquery(approved.values("version")[:1]),
            approved_on=Subquery(approved.values("approved_at")[:1]),
        )
    )
    return keyset_page(meetings, keys=("-starts_at", "-id"), cursor=cursor, size=size)


def people_for(meeting: Meeting) -> tuple[list[str], list[str]]:
    """(the council's current members, the community's staff): the names a chair or a recorder
    of the minutes is chosen from, each list in its usual order, in two queries."""
    members = [term.resident.name for term in council_members_of(meeting.council)]
    staff = User.objects.filter(
        is_active=True,
        roles__kind=Role.Kind.COMMUNITY_STAFF,
        roles__community_id=meeting.council.community_id,
    ).distinct()
    return members, sorted({str(user) for user in staff})


def leader_name(meeting: Meeting) -> str:
    """The name of the council's current leader, who chairs by default; "" without one."""
    term = (
        CouncilMember.objects.filter(
            council_id=meeting.council_id, role=CouncilMember.Role.LEADER, left_on__isnull=True
        )
        .select_related("resident")
        .order_by("joined_on", "pk")
        .first()
    )
    return term.resident.name if term else ""
