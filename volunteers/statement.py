"""A volunteer's printable statement of a year: every ledger row with the running
balance, and the year's totals; a PDF in Chinese (WeasyPrint, Noto CJK), nothing fetched.

Three queries whatever the length of the history: the balance brought forward (one sum
over the rows before the year), the year's rows with what each came from, and nothing
else (the volunteer comes with their community).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import quote

from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation

from common.pdf import pdf_from_html
from volunteers.models import HoursEntry, Volunteer

TEMPLATE = "volunteers/statement_pdf.html"


@dataclass
class Row:
    entry: HoursEntry
    balance: int


@dataclass
class Statement:
    volunteer: Volunteer
    year: int
    brought_forward: int
    rows: list[Row] = field(default_factory=list)
    credited: int = 0
    spent: int = 0
    corrected: int = 0

    @property
    def carried_forward(self) -> int:
        return self.brought_forward + self.credited - self.spent + self.corrected


def statement_of(volunteer: Volunteer, year: int) -> Statement:
    zone = timezone.get_current_timezone()
    start = dt.datetime(year, 1, 1, tzinfo=zone)
    end = dt.datetime(year + 1, 1, 1, tzinfo=zone)
    entries = HoursEntry.objects.filter(volunteer=volunteer)
    before = entries.filter(created__lt=start).aggregate(total=Sum("minutes"))["total"] or 0
    statement = Statement(volunteer=volunteer, year=year, brought_forward=before)
    running = before
    for entry in (
        entries.filter(created__gte=start, created__lt=end)
        .select_related("attendance__activity__team", "exchange")
        .order_by("created", "id")
    ):
        running += entry.minutes
        statement.rows.append(Row(entry, running))
        if entry.kind == HoursEntry.Kind.CREDIT:
            statement.credited += entry.minutes
        elif entry.kind == HoursEntry.Kind.DEBIT:
            statement.spent -= entry.minutes
        else:
            statement.corrected += entry.minutes
    return statement


def render_pdf(statement: Statement) -> bytes:
    html = render_to_string(
        TEMPLATE,
        {
            "statement": statement,
            "volunteer": statement.volunteer,
            "lang": "zh-Hans" if translation.get_language() == "zh-hans" else "en",
            "printed_at": timezone.localtime(),
        },
    )
    return pdf_from_html(html)


def content_disposition(statement: Statement) -> str:
    name = f"{statement.volunteer.resident.name}-志愿服务时长-{statement.year}.pdf"
    return (
        f'attachment; filename="volunteer-hours-{statement.year}.pdf"; '
        f"filename*=UTF-8''{quote(name)}"
    )
