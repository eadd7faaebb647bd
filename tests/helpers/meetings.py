"""Meetings in tests: members signed in within the sign-in window, a quorum present."""

from __future__ import annotations

from collections.abc import Iterable

import time_machine

from deliberation import queries
from deliberation.actions import running
from deliberation.models import Attendance, Meeting
from members.models import CouncilMember, User
from tests import factories


def sign_in(meeting: Meeting, terms: Iterable[CouncilMember], actor: User) -> None:
    """Staff sign ``terms`` in at ``meeting``; the clock goes to its start for the sign-in."""
    with time_machine.travel(meeting.starts_at, tick=True):
        for term in terms:
            running.attendance_sign_in(meeting=meeting, member=term, actor=actor, how="staff")


def quorum_present(meeting: Meeting, actor: User) -> list[CouncilMember]:
    """Sign in just enough current members for a quorum (a council with none gets one).

    Returns the members signed in here.
    """
    council = meeting.council
    active = list(CouncilMember.objects.filter(council=council, left_on__isnull=True))
    if not active:
        active = [factories.council_member(council.community)]
    present = set(
        Attendance.objects.filter(meeting=meeting, member__in=active).values_list(
            "member_id", flat=True
        )
    )
    needed, _reached = queries.quorum_needed(len(active), council.quorum_ratio, len(present))
    absent = [term for term in active if term.pk not in present]
    chosen = absent[: max(needed - len(present), 0)]
    sign_in(meeting, chosen, actor)
    return chosen
