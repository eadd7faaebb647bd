"""A council's members as a file: the roster the council page shows, phones masked.

Council roles are public, so names are listed; phone numbers are personal data and
only ever leave masked here (``mask_phone``), never in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext_lazy

from common.phones import mask_phone
from members.models import CouncilMember

HEADERS = [
    gettext_lazy("Name"),
    gettext_lazy("Role"),
    gettext_lazy("Category"),
    gettext_lazy("Lane"),
    gettext_lazy("Building"),
    gettext_lazy("Lane covered"),
    gettext_lazy("Building covered"),
    gettext_lazy("Phone (masked)"),
    gettext_lazy("Joined on"),
    gettext_lazy("Left on"),
]


def headers() -> list[str]:
    return [str(header) for header in HEADERS]


def roster_rows(members: Iterable[CouncilMember]) -> Iterator[list[Any]]:
    """One row per term, in the council page's order; ``members`` has its residents joined."""
    for member in members:
        resident = member.resident
        yield [
            resident.name,
            member.get_role_display(),
            member.get_category_display(),
            resident.lane,
            resident.building,
            member.covers_lane if member.is_lane_leader else "",
            member.covers_building if member.is_building_leader else "",
            mask_phone(resident.phone),
            member.joined_on,
            member.left_on,
        ]
