"""The period a dashboard or report covers: this month, this quarter, this year, or a range.

Periods are local dates (Asia/Shanghai), both ends included. "This month" and the like run
from the first day to today; "last quarter" and "last year" are whole. A range may not be
empty, end before it starts, or be longer than ``MAX_YEARS`` (a dashboard of twenty years
answers nobody's question and reads everything).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.forms import day_field

MAX_YEARS = 5

KINDS = [
    ("month", _("This month")),
    ("quarter", _("This quarter")),
    ("year", _("This year")),
    ("last_quarter", _("Last quarter")),
    ("last_year", _("Last year")),
    ("custom", _("Custom range")),
]


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date
    kind: str = "custom"

    @property
    def start(self) -> dt.datetime:
        """The first instant of the first day, local time."""
        return local_midnight(self.since)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the last day (the bound is exclusive)."""
        return local_midnight(self.until + dt.timedelta(days=1))

    def months(self) -> list[dt.date]:
        """The first day of each calendar month the period touches, in order."""
        month = self.since.replace(day=1)
        months = []
        while month <= self.until:
            months.append(month)
            month += relativedelta(months=1)
        return months

    def clamp(self, month: dt.date) -> tuple[dt.date, dt.date]:
        """The part of ``month`` inside the period, as (first day, last day)."""
        last = month + relativedelta(months=1) - dt.timedelta(days=1)
        return max(month, self.since), min(last, self.until)

    def query(self) -> dict[str, str]:
        """The period as the dashboard's query string gives it back."""
        if self.kind == "custom":
            return {
                "period": "custom",
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
            }
        return {"period": self.kind}


def local_midnight(day: dt.date) -> dt.datetime:
    """The first instant of a local day (Asia/Shanghai)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def quarter_of(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def named_period(kind: str, today: dt.date) -> Period:
    if kind == "month":
        return Period(today.replace(day=1), today, kind)
    if kind == "quarter":
        return Period(quarter_of(today), today, kind)
    if kind == "year":
        return Period(dt.date(today.year, 1, 1), today, kind)
    if kind == "last_quarter":
        start = quarter_of(today) - relativedelta(months=3)
        return Period(start, start + relativedelta(months=3) - dt.timedelta(days=1), kind)
    if kind == "last_year":
        return Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31), kind)
    raise ValueError(kind)


def years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), required=False, choices=KINDS)
    since = day_field(_("From"))
    until = day_field(_("To"))

    def __init__(self, *args, today: dt.date | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        kind = data.get("period") or ("custom" if since or until else "month")
        if kind != "custom":
            data["result"] = named_period(kind, self.today)
            return data
        if self.errors:
            return data
        if not since or not until:
            raise forms.ValidationError(
                _("Choose both a start and an end date for a custom range."), code="empty"
            )
        if until < since:
            self.add_error("until", _("The end date is before the start date."))
        elif until >= years_later(since, MAX_YEARS):
            self.add_error(
                "until",
                _("Choose a range of at most %(years)s years.") % {"years": MAX_YEARS},
            )
        else:
            data["result"] = Period(since, until, "custom")
        return data

    @property
    def result(self) -> Period:
        return self.cleaned_data["result"]


def period_form(data, today: dt.date | None = None) -> PeriodForm:
    """The period form on a query string; with no period given, this month."""
    form = PeriodForm(data or {"period": "month"}, today=today)
    form.is_valid()
    return form
