"""A council's meetings as a file: attendance and the decisions taken on each agenda item.

The XLSX workbook has two sheets: "Meetings" (one row per meeting) and "Decisions"
(one row per agenda item, with the meeting's date so the two can be matched). A CSV
file holds one table only, so the CSV is flat: one row per agenda item with its
meeting's columns repeated (a meeting without items has one row of its own). A street
office opening it in Excel gets everything in one download and can filter or pivot on
any column, which two separate CSV files would not give.

All meetings of the range are read in a fixed number of queries, however many there
are: the meetings, their attendance with the members' names, their live agenda items
with issue, decision and vote counts, and the council's terms (to count who was an
active member on each meeting's day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from common.periods import years_later
from deliberation import queries
from deliberation.models import AgendaItem, Attendance, Meeting
from issues.exports import local_time
from members.models import Council, CouncilMember

MAX_YEARS = 20

MEETING_HEADERS = [
    gettext_lazy("Date and time"),
    gettext_lazy("Type"),
    gettext_lazy("State"),
    gettext_lazy("Place"),
    gettext_lazy("Present"),
    gettext_lazy("Active members"),
    gettext_lazy("Quorum reached"),
    gettext_lazy("Members present"),
    gettext_lazy("Agenda items"),
]
ITEM_HEADERS = [
    gettext_lazy("Item"),
    gettext_lazy("Tracking code"),
    gettext_lazy("Item type"),
    gettext_lazy("Decision"),
    gettext_lazy("Notes"),
    gettext_lazy("Votes for"),
    gettext_lazy("Votes against"),
    gettext_lazy("Abstentions"),
]


def meeting_headers() -> list[str]:
    return [str(header) for header in MEETING_HEADERS]


def decision_headers() -> list[str]:
    """The "Decisions" sheet: the meeting's date and time, then the item's columns."""
    return [str(MEETING_HEADERS[0]), *(str(header) for header in ITEM_HEADERS)]


def flat_headers() -> list[str]:
    """The CSV: the meeting's columns, then the item's."""
    return meeting_headers() + [str(header) for header in ITEM_HEADERS]


class RangeError(ValueError):
    """The date range asked for cannot be exported; the message says why."""


@dataclass(frozen=True)
class DateRange:
    since: dt.date
    until: dt.date

    def record(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def date_range(since: str, until: str, *, today: dt.date | None = None) -> DateRange:
    """The range from the query string (both ends included); this year when not given."""
    today = today or timezone.localdate()
    start = _parse(since, dt.date(today.year, 1, 1))
    end = _parse(until, dt.date(today.year, 12, 31))
    if end < start:
        raise RangeError(_("The end date is before the start date."))
    if end > years_later(start, MAX_YEARS):
        raise RangeError(
            _("A range of more than %(years)s years cannot be exported.") % {"years": MAX_YEARS}
        )
    return DateRange(start, end)


def _parse(text: str, default: dt.date) -> dt.date:
    text = (text or "").strip()
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RangeError(
            _("“%(value)s” is not a date; use the form 2026-01-31.") % {"value": text[:20]}
        ) from None


def meetings_in(council: Council, span: DateRange) -> list[Meeting]:
    """The council's meetings whose local start day is in the range, with all they show."""
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(span.since, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(span.until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    items = (
        AgendaItem.objects.filter(removed_at__isnull=True)
        .select_related("issue", "decision")
        .order_by("position", "id")
    )
    attendances = Attendance.objects.select_related("member__resident").order_by(
        "signed_in_at", "id"
    )
    return list(
        Meeting.objects.filter(council=council, starts_at__gte=start, starts_at__lt=end)
        .prefetch_related(
            Prefetch("agenda_items", items, to_attr="live_items"),
            Prefetch("attendances", attendances, to_attr="present"),
        )
        .order_by("starts_at", "id")
    )


def terms_of(council: Council) -> list[CouncilMember]:
    """Every term on the council, former ones too: who was active depends on the day."""
    return list(CouncilMember.objects.filter(council=council).only("pk", "joined_on", "left_on"))


def _active_on(terms: list[CouncilMember], day: dt.date) -> set[int]:
    """Terms running on ``day``: joined by then, and not left before or on it."""
    return {
        term.pk
        for term in terms
        if term.joined_on <= day and (term.left_on is None or term.left_on > day)
    }


def meeting_cells(meeting: Meeting, council: Council, terms: list[CouncilMember]) -> list[Any]:
    """One meeting's columns; present and quorum count the members active on its day."""
    day = timezone.localtime(meeting.starts_at).date()
    active = _active_on(terms, day)
    present = [a for a in meeting.present if a.member_id in active]
    if meeting.state == Meeting.State.CANCELLED:
        quorum = ""
    else:
        _needed, reached = queries.quorum_needed(len(active), council.quorum_ratio, len(present))
        quorum = _("yes") if reached else _("no")
    return [
        local_time(meeting.starts_at),
        meeting.get_kind_display(),
        meeting.get_state_display(),
        meeting.place,
        len(present),
        len(active),
        quorum,
        pgettext("list separator", ", ").join(a.member.resident.name for a in meeting.present),
        len(meeting.live_items),
    ]


def item_cells(item: AgendaItem) -> list[Any]:
    decision = item.decision if hasattr(item, "decision") else None
    return [
        item.issue.title if item.issue_id else item.topic,
        item.issue.tracking_code if item.issue_id else "",
        item.get_kind_display(),
        decision.get_outcome_display() if decision else "",
        decision.notes if decision else "",
        (decision.votes_for or 0) if decision else "",
        (decision.votes_against or 0) if decision else "",
        (decision.votes_abstain or 0) if decision else "",
    ]


def meeting_rows(
    meetings: list[Meeting], council: Council, terms: list[CouncilMember]
) -> Iterator[list[Any]]:
    for meeting in meetings:
        yield meeting_cells(meeting, council, terms)


def decision_rows(meetings: list[Meeting]) -> Iterator[list[Any]]:
    for meeting in meetings:
        for item in meeting.live_items:
            yield [local_time(meeting.starts_at), *item_cells(item)]


def flat_rows(
    meetings: list[Meeting], council: Council, terms: list[CouncilMember]
) -> Iterator[list[Any]]:
    """The CSV's rows: one per agenda item, a meeting without items on a row of its own."""
    blank = [""] * len(ITEM_HEADERS)
    for meeting in meetings:
        cells = meeting_cells(meeting, council, terms)
        if not meeting.live_items:
            yield cells + blank
        for item in meeting.live_items:
            yield cells + item_cells(item)
