"""The councils at a meeting: its host council and those joined to it (联席会议).

Read by the meeting queries and by the permissions alike, so it imports neither.
"""

from __future__ import annotations

from deliberation.models import JointCouncil, Meeting
from members.models import Council


def councils_at(meeting: Meeting) -> list[Council]:
    """The meeting's councils, the host first, then the joined ones in the order they joined.

    One query (none for the host), kept on the meeting so every caller on a page shares it.
    """
    cached = getattr(meeting, "_councils_at", None)
    if cached is None:
        joined = [
            row.council
            for row in JointCouncil.objects.filter(meeting_id=meeting.pk)
            .select_related("council__community")
            .order_by("id")
        ]
        cached = meeting._councils_at = [meeting.council, *joined]
    return cached


def joined_councils_of(meeting: Meeting) -> list[Council]:
    """The councils meeting with the host council, without it."""
    return councils_at(meeting)[1:]


def council_ids_at(meeting: Meeting) -> list[int]:
    return [council.pk for council in councils_at(meeting)]


def community_ids_at(meeting: Meeting) -> list[int]:
    """The communities whose councils meet: their staff run it, their matters may go on it."""
    return list(dict.fromkeys(council.community_id for council in councils_at(meeting)))
