"""China's working days: statutory holidays and make-up working days (调休).

From the ``chinesecalendar`` package. The State Council publishes each year's holidays
late in the year before; the package carries them for the years it was released with
(``covers``). For a year it does not cover yet nothing is guessed: Monday to Friday are
working days and the days carry an ``UNKNOWN_*`` kind, so pages can say that the official
holidays are not known.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from functools import cache

import chinese_calendar
from django.utils.translation import gettext_lazy as _

# The package names each holiday in English; these are the names people read.
HOLIDAY_NAMES = {
    "New Year's Day": _("New Year's Day"),
    "Spring Festival": _("Spring Festival"),
    "Tomb-sweeping Day": _("Qingming Festival"),
    "Labour Day": _("Labour Day"),
    "Dragon Boat Festival": _("Dragon Boat Festival"),
    "National Day": _("National Day"),
    "Mid-autumn Festival": _("Mid-Autumn Festival"),
    "Anti-Fascist 70th Day": _("Victory Day (70th anniversary)"),
}

# The longest run of days off the calendar knows (Spring Festival: 9 days) with a margin:
# no search for a working day goes further.
_LONGEST_SEARCH = 31


class Kind(enum.StrEnum):
    WORKING = "working"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    MAKE_UP = "make_up"  # a Saturday or Sunday that is a working day (调休上班日)
    UNKNOWN_WORKING = "unknown_working"  # Monday–Friday of a year the calendar does not cover
    UNKNOWN_WEEKEND = "unknown_weekend"


WORKING_KINDS = frozenset({Kind.WORKING, Kind.MAKE_UP, Kind.UNKNOWN_WORKING})


@dataclass(frozen=True)
class Day:
    date: dt.date
    kind: Kind
    holiday: str = ""  # the package's name of the holiday (or the one a make-up day serves)

    @property
    def is_working(self) -> bool:
        return self.kind in WORKING_KINDS

    @property
    def is_known(self) -> bool:
        return self.kind not in (Kind.UNKNOWN_WORKING, Kind.UNKNOWN_WEEKEND)

    @property
    def holiday_name(self) -> str:
        """The holiday's name in the active language ('' when none)."""
        if not self.holiday:
            return ""
        return str(HOLIDAY_NAMES.get(self.holiday, self.holiday))


@cache
def _covered_years() -> tuple[int, int]:
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def covers(year: int) -> bool:
    """Whether the calendar knows that year's official holidays."""
    first, last = _covered_years()
    return first <= year <= last


def day_kind(day: dt.date) -> Day:
    """What kind of day ``day`` is, with the holiday's name for a holiday or make-up day."""
    weekend = day.weekday() >= 5
    if not covers(day.year):
        return Day(day, Kind.UNKNOWN_WEEKEND if weekend else Kind.UNKNOWN_WORKING)
    if day in chinese_calendar.workdays:
        if weekend:
            return Day(day, Kind.MAKE_UP, chinese_calendar.workdays[day] or "")
        return Day(day, Kind.WORKING)
    if day in chinese_calendar.holidays:
        return Day(day, Kind.HOLIDAY, chinese_calendar.holidays[day] or "")
    return Day(day, Kind.WEEKEND if weekend else Kind.WORKING)


def is_working_day(day: dt.date) -> bool:
    """Whether people work that day; Monday–Friday in a year the calendar does not cover."""
    return day_kind(day).is_working


def next_working_day(day: dt.date, step: int = 1) -> dt.date:
    """``day`` itself when it is a working day, else the next one (``step=-1``: the previous)."""
    if step not in (1, -1):
        raise ValueError("step is +1 or -1")
    for offset in range(_LONGEST_SEARCH):
        candidate = day + dt.timedelta(days=offset * step)
        if is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day within {_LONGEST_SEARCH} days of {day}")
