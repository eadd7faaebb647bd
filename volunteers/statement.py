"""A volunteer's printable statement of a year and their certificate of the year's service
hours: PDFs in Chinese (WeasyPrint, Noto CJK), nothing fetched.

Both count a year by the day of the service (``HoursEntry.served_on``), and both are read
from aggregated queries whatever the length of the history: the statement's service is one
line a month and team (how many activities, how many minutes), beside each exchange and
correction of the year; the certificate is the year's totals and its teams.

Rendering a PDF takes a good part of a second, so the PDFs are made once per state of the
ledger (``volunteers.printouts``) and kept in the cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import quote

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.template.loader import render_to_string
from django.utils import timezone, translation

from common.pdf import pdf_from_html
from volunteers.models import HoursEntry, Volunteer

TEMPLATE = "volunteers/statement_pdf.html"
CERTIFICATE_TEMPLATE = "volunteers/certificate_pdf.html"


@dataclass
class Line:
    """One line of a statement: a month's service in one team, or one exchange or correction."""

    day: dt.date
    kind: str
    what: str
    minutes: int
    balance: int = 0
    activities: int = 0

    @property
    def is_service(self) -> bool:
        return self.kind == HoursEntry.Kind.CREDIT


@dataclass
class Statement:
    volunteer: Volunteer
    year: int
    brought_forward: int
    lines: list[Line] = field(default_factory=list)
    credited: int = 0
    spent: int = 0
    corrected: int = 0

    @property
    def carried_forward(self) -> int:
        return self.brought_forward + self.credited - self.spent + self.corrected


def _year(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def statement_of(volunteer: Volunteer, year: int) -> Statement:
    """Three queries: the balance brought forward, the year's service by month and team,
    and the year's exchanges and corrections."""
    start, end = _year(year)
    entries = HoursEntry.objects.filter(volunteer=volunteer)
    before = entries.filter(served_on__lt=start).aggregate(total=Sum("minutes"))["total"] or 0
    in_year = entries.filter(served_on__gte=start, served_on__lt=end)
    service = (
        in_year.filter(kind=HoursEntry.Kind.CREDIT)
        .annotate(month=TruncMonth("served_on"))
        .values("month", "attendance__activity__team__name")
        .annotate(minutes=Sum("minutes"), activities=Count("id"))
        .order_by("month", "attendance__activity__team__name")
    )
    lines = [
        Line(
            day=row["month"],
            kind=HoursEntry.Kind.CREDIT,
            what=row["attendance__activity__team__name"],
            minutes=row["minutes"],
            activities=row["activities"],
        )
        for row in service
    ]
    others = (
        in_year.exclude(kind=HoursEntry.Kind.CREDIT)
        .select_related("exchange")
        .order_by("served_on", "id")
    )
    for entry in others:
        lines.append(
            Line(
                day=entry.served_on,
                kind=entry.kind,
                what=entry.exchange.gives if entry.exchange_id else entry.note,
                minutes=entry.minutes,
            )
        )
    # A month's service first, then that month's exchanges and corrections by day.
    lines.sort(key=lambda line: (line.day.year, line.day.month, not line.is_service, line.day))
    statement = Statement(volunteer=volunteer, year=year, brought_forward=before, lines=lines)
    running = before
    for line in lines:
        running += line.minutes
        line.balance = running
        if line.kind == HoursEntry.Kind.CREDIT:
            statement.credited += line.minutes
        elif line.kind == HoursEntry.Kind.DEBIT:
            statement.spent -= line.minutes
        else:
            statement.corrected += line.minutes
    return statement


@dataclass
class TeamService:
    name: str
    activities: int
    minutes: int


@dataclass
class Certificate:
    """A year's service of one volunteer: the minutes credited for activities (with the
    year's corrections), how many activities, in which teams."""

    volunteer: Volunteer
    year: int
    teams: list[TeamService]
    corrected: int

    @property
    def activities(self) -> int:
        return sum(team.activities for team in self.teams)

    @property
    def minutes(self) -> int:
        return max(0, sum(team.minutes for team in self.teams) + self.corrected)


def certificate_of(volunteer: Volunteer, year: int) -> Certificate:
    """One query: the year's credits by team, and its corrections, summed in SQL."""
    start, end = _year(year)
    rows = (
        HoursEntry.objects.filter(
            volunteer=volunteer,
            served_on__gte=start,
            served_on__lt=end,
            kind__in=[HoursEntry.Kind.CREDIT, HoursEntry.Kind.CORRECTION],
        )
        .values("kind", "attendance__activity__team__name")
        .annotate(minutes=Sum("minutes"), activities=Count("id", filter=Q(kind="credit")))
        .order_by("kind", "attendance__activity__team__name")
    )
    teams, corrected = [], 0
    for row in rows:
        if row["kind"] == HoursEntry.Kind.CREDIT:
            teams.append(
                TeamService(
                    name=row["attendance__activity__team__name"],
                    activities=row["activities"],
                    minutes=row["minutes"],
                )
            )
        else:
            corrected += row["minutes"]
    return Certificate(volunteer=volunteer, year=year, teams=teams, corrected=corrected)


def _language() -> str:
    return "zh-Hans" if translation.get_language() == "zh-hans" else "en"


def render_pdf(statement: Statement) -> bytes:
    html = render_to_string(
        TEMPLATE,
        {
            "statement": statement,
            "volunteer": statement.volunteer,
            "lang": _language(),
            "printed_at": timezone.localtime(),
        },
    )
    return pdf_from_html(html)


def render_certificate_pdf(certificate: Certificate) -> bytes:
    html = render_to_string(
        CERTIFICATE_TEMPLATE,
        {
            "certificate": certificate,
            "volunteer": certificate.volunteer,
            "lang": _language(),
            "printed_at": timezone.localtime(),
        },
    )
    return pdf_from_html(html)


def content_disposition(volunteer: Volunteer, year: int, kind: str = "statement") -> str:
    if kind == "certificate":
        name = f"{volunteer.resident.name}-志愿服务证明-{year}.pdf"
        ascii_name = f"volunteer-certificate-{year}.pdf"
    else:
        name = f"{volunteer.resident.name}-志愿服务时长-{year}.pdf"
        ascii_name = f"volunteer-hours-{year}.pdf"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
