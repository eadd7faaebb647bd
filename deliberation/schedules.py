"""When a council's meetings fall: pure functions over a :class:`Schedule`.

Dates come from python-dateutil's ``rrule``; nothing here counts days by hand.
Every result is an aware datetime in the project's time zone (Asia/Shanghai,
UTC+08:00 all year: China has no daylight saving time). Schedules follow China's
working days (``common.holidays``): statutory holidays are days off, and a make-up
working day (调休, a Saturday or Sunday) is a working day.

Rules, as the product brief describes them:

- **monthly** on each day of ``month_days`` (8th, 18th, 28th by default). A day the
  month does not have is **not skipped**: it falls on the month's last day (31 →
  30 April, 28 or 29 February; 30 → 28/29 February). If that lands on a day the
  schedule already holds (28 and 31 in a non-leap February), the two are one
  meeting.
- **weekly** on ``weekday`` (0 = Monday … 6 = Sunday).
- **quarterly** on the first working day from the 1st of January, April, July and
  October (after New Year's Day, after the National Day week: 8 October 2026).
- A monthly or weekly meeting that falls on a day off stays there (``keep``) or moves
  to the next (``next``) or the previous (``previous``) working day, per the schedule's
  ``on_day_off``; two meetings that land on the same day are one.
- For a year ``chinesecalendar`` does not cover yet, only weekends are days off: the
  official holidays are not guessed (``PlannedDay.is_known`` is false).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from dateutil.rrule import MONTHLY, WEEKLY, rrule, rruleset
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common import holidays
from deliberation.models import Schedule

QUARTER_MONTHS = (1, 4, 7, 10)
QUARTER_WINDOW_DAYS = tuple(range(1, 11))
# A moved meeting comes from at most this far outside the range (the longest run of days
# off, Spring Festival's nine, with a margin).
_MOVE_MARGIN = dt.timedelta(days=16)


@dataclass(frozen=True)
class PlannedDay:
    """A meeting's day (``date``) and the day the schedule's rule gave (``planned``)."""

    date: dt.date
    planned: holidays.Day

    @property
    def moved(self) -> bool:
        return self.date != self.planned.date

    @property
    def is_known(self) -> bool:
        """Whether the official holidays of both days are known (not only weekends)."""
        return self.planned.is_known and holidays.covers(self.date.year)

    @property
    def is_make_up(self) -> bool:
        """Kept on a make-up working day (调休上班日)."""
        return not self.moved and self.planned.kind == holidays.Kind.MAKE_UP

    @property
    def on_holiday(self) -> bool:
        """Kept on a statutory holiday (a schedule that keeps its dates)."""
        return not self.moved and self.planned.kind == holidays.Kind.HOLIDAY

    def at(self, start_time: dt.time) -> dt.datetime:
        return dt.datetime.combine(self.date, start_time, tzinfo=timezone.get_default_timezone())

    def planned_at(self, start_time: dt.time) -> dt.datetime | None:
        """The slot the rule gave, when the meeting moved off it; None otherwise."""
        if not self.moved:
            return None
        zone = timezone.get_default_timezone()
        return dt.datetime.combine(self.planned.date, start_time, tzinfo=zone)


def planned_days(schedule: Schedule, start: dt.date, end: dt.date) -> list[PlannedDay]:
    """The schedule's meeting days from ``start`` to ``end`` (both included), in order."""
    if end < start:
        return []
    if schedule.kind == Schedule.Kind.QUARTERLY:
        # The rule is the first working day from the quarter's 1st: a 1st that is a day
        # off moves forward whatever the council does with other days off.
        days = [
            PlannedDay(holidays.next_working_day(first), holidays.day_kind(first))
            for first in sorted(_days(schedule, start - _MOVE_MARGIN, end))
        ]
        return [day for day in days if start <= day.date <= end]
    rules = _days(schedule, start - _MOVE_MARGIN, end + _MOVE_MARGIN)
    step = {Schedule.DayOff.NEXT: 1, Schedule.DayOff.PREVIOUS: -1}.get(schedule.on_day_off)
    chosen: dict[dt.date, PlannedDay] = {}
    for day in sorted(rules):
        planned = holidays.day_kind(day)
        date = day if step is None or planned.is_working else holidays.next_working_day(day, step)
        if not start <= date <= end:
            continue
        found = PlannedDay(date, planned)
        # Two rule days on one meeting day are one meeting: the one not moved speaks for it.
        if date not in chosen or (chosen[date].moved and not found.moved):
            chosen[date] = found
    return [chosen[date] for date in sorted(chosen)]


def occurrences(schedule: Schedule, start: dt.date, end: dt.date) -> list[dt.datetime]:
    """The schedule's meeting times from ``start`` to ``end`` (both included), in order."""
    return [day.at(schedule.start_time) for day in planned_days(schedule, start, end)]


def _days(schedule: Schedule, start: dt.date, end: dt.date) -> set[dt.date]:
    begin = dt.datetime.combine(start, dt.time())
    until = dt.datetime.combine(end, dt.time())
    if schedule.kind == Schedule.Kind.WEEKLY:
        rules = rrule(WEEKLY, byweekday=schedule.weekday, dtstart=begin, until=until)
    elif schedule.kind == Schedule.Kind.QUARTERLY:
        rules = rrule(MONTHLY, bymonth=QUARTER_MONTHS, bymonthday=1, dtstart=begin, until=until)
    else:
        rules = rruleset()
        for day in schedule.month_days or []:
            rules.rrule(_monthly_rule(int(day), begin, until))
    return {moment.date() for moment in rules}


def _monthly_rule(day: int, begin: dt.datetime, until: dt.datetime) -> rrule:
    if day <= 28:
        return rrule(MONTHLY, bymonthday=day, dtstart=begin, until=until)
    # Day 29–31: the last of the month's days 28…day that exist, i.e. the day
    # itself or, in a shorter month, the month's last day.
    return rrule(
        MONTHLY, bymonthday=tuple(range(28, day + 1)), bysetpos=-1, dtstart=begin, until=until
    )


# --- Validation of what staff type in ---------------------------------------------------


def clean_month_days(days: Iterable) -> list[int]:
    """The days of a monthly schedule, sorted; ValidationError with every problem found."""
    errors: list[ValidationError] = []
    values: list[int] = []
    seen: set[int] = set()
    for raw in days or []:
        try:
            day = int(raw)
        except (TypeError, ValueError):
            errors.append(
                ValidationError(
                    _("“%(day)s” is not a day of the month: use a number from 1 to 31."),
                    code="invalid_day",
                    params={"day": raw},
                )
            )
            continue
        if not 1 <= day <= 31:
            errors.append(
                ValidationError(
                    _("%(day)s is not a day of the month: use a number from 1 to 31."),
                    code="invalid_day",
                    params={"day": day},
                )
            )
        elif day in seen:
            errors.append(
                ValidationError(
                    _("Day %(day)s is listed more than once."),
                    code="duplicate_day",
                    params={"day": day},
                )
            )
        else:
            seen.add(day)
            values.append(day)
    if not values and not errors:
        errors.append(ValidationError(_("Choose at least one day of the month."), code="no_days"))
    if errors:
        raise ValidationError(errors)
    return sorted(values)


def clean_schedule(
    *, kind: str, month_days: Iterable | None = None, weekday: int | None = None
) -> dict:
    """The fields a schedule of ``kind`` keeps; ValidationError keyed by field otherwise."""
    if kind == Schedule.Kind.MONTHLY:
        try:
            return {"kind": kind, "month_days": clean_month_days(month_days or []), "weekday": None}
        except ValidationError as error:
            raise ValidationError({"month_days": error.error_list}) from error
    if kind == Schedule.Kind.WEEKLY:
        if weekday is None or not 0 <= int(weekday) <= 6:
            raise ValidationError(
                {"weekday": ValidationError(_("Choose a day of the week."), code="no_weekday")}
            )
        return {"kind": kind, "month_days": [], "weekday": int(weekday)}
    if kind == Schedule.Kind.QUARTERLY:
        return {"kind": kind, "month_days": [], "weekday": None}
    raise ValidationError(
        {"kind": ValidationError(_("Choose how often the council meets."), code="no_kind")}
    )
