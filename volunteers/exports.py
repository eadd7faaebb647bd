"""A community's service-hours ledger as a workbook: every row as it was written, and each
volunteer's balance. Names only: no phone number leaves here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from members.models import Community
from volunteers.models import Balance, HoursEntry

LEDGER_HEADERS = [
    gettext_lazy("Recorded at"),
    gettext_lazy("Volunteer"),
    gettext_lazy("Kind"),
    pgettext_lazy("length of time", "Minutes"),
    pgettext_lazy("volunteer team", "Team"),
    gettext_lazy("Activity or exchange"),
    gettext_lazy("Note"),
    gettext_lazy("Recorded by"),
]
BALANCE_HEADERS = [gettext_lazy("Volunteer"), gettext_lazy("Minutes in hand")]
CHUNK = 2000


def ledger_headers() -> list[str]:
    return [str(header) for header in LEDGER_HEADERS]


def balance_headers() -> list[str]:
    return [str(header) for header in BALANCE_HEADERS]


def _local(moment: dt.datetime) -> dt.datetime:
    """Local time without its zone: a spreadsheet cell holds no time zone."""
    return timezone.localtime(moment).replace(tzinfo=None)


def ledger_of_community(community: Community) -> QuerySet[HoursEntry]:
    return (
        HoursEntry.objects.filter(volunteer__resident__community=community)
        .select_related(
            "volunteer__resident", "attendance__activity__team", "exchange", "recorded_by"
        )
        .order_by("created", "id")
    )


def ledger_rows(community: Community) -> Iterator[list[Any]]:
    """One row per ledger entry, oldest first, read in chunks (a fixed number of queries
    per chunk, memory flat however long the ledger)."""
    kinds = dict(HoursEntry.Kind.choices)
    for entry in ledger_of_community(community).iterator(chunk_size=CHUNK):
        activity = entry.attendance.activity if entry.attendance_id else None
        source = activity.title if activity else (entry.exchange.gives if entry.exchange_id else "")
        yield [
            _local(entry.created),
            entry.volunteer.resident.name,
            str(kinds[entry.kind]),
            entry.minutes,
            activity.team.name if activity else "",
            source,
            entry.note,
            str(entry.recorded_by),
        ]


def balance_rows(community: Community) -> Iterator[list[Any]]:
    for balance in (
        Balance.objects.filter(volunteer__resident__community=community)
        .select_related("volunteer__resident")
        .order_by("volunteer__resident__name", "volunteer_id")
        .iterator(chunk_size=CHUNK)
    ):
        yield [balance.volunteer.resident.name, balance.minutes]
