"""Reads of meetings, always as seen by the acting user."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from deliberation.models import Council, Meeting
from members.models import User
from members.queries import communities_visible_to


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
