"""When a council's meetings fall: pure functions over a :class:`Schedule`.

Dates come from python-dateutil's ``rrule``; nothing here counts days by hand.
Every result is an aware datetime in the project's time zone (Asia/Shanghai,
UTC+08:00 all year: China has no daylight saving time).

Rules, as the product brief describes them:

- **monthly** on each day of ``month_days`` (8th, 18th, 28th by default). A day the
  month does not have is **not skipped**: it falls on the month's last day (31 →
  30 April, 28 or 29 February; 30 → 28/29 February). If that lands on a day the
  schedule already holds (28 and 31 in a non-leap February), the two are one
  meeting.
- **weekly** on ``weekday`` (0 = Monday … 6 = Sunday).
- **quarterly** on the first working day (Monday–Friday) between the 1st and the
  10th of January, April, July and October. Yishi knows no public holidays, so a
  1 January that is a weekday is the meeting day; staff move it by hand.
- With ``move_weekend_to_monday`` a Saturday or Sunday meeting moves to the
  following Monday; two meetings that land on the same Monday are one.
  Chinese public holidays and the make-up working weekends (调休) are out of scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dateutil.relativedelta import MO, relativedelta
from dateutil.rrule import FR, MONTHLY, TH, TU, WE, WEEKLY, rrule, rruleset
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from deliberation.models import Schedule

QUARTER_MONTHS = (1, 4, 7, 10)
QUARTER_WINDOW_DAYS = tuple(range(1, 11))
WORKING_DAYS = (MO, TU, WE, TH, FR)
# A meeting moved off a weekend comes from at most two days before the range.
_MOVE_LOOKBACK = relativedelta(days=2)


def occurrences(schedule: Schedule, start: dt.date, end: dt.date) -> list[dt.datetime]:
    """The schedule's meeting times from ``start`` to ``end`` (both included), in order."""
    if end < start:
        return []
    lookback = start - _MOVE_LOOKBACK if schedule.move_weekend_to_monday else start
    days = _days(schedule, lookback, end)
    if schedule.move_weekend_to_monday:
        days = {_weekday_or_monday(day) for day in days}
    zone = timezone.get_default_timezone()
    return [
        dt.datetime.combine(day, schedule.start_time, tzinfo=zone)
        for day in sorted(days)
        if start <= day <= end
    ]


def _days(schedule: Schedule, start: dt.date, end: dt.date) -> set[dt.date]:
    begin = dt.datetime.combine(start, dt.time())
    until = dt.datetime.combine(end, dt.time())
    if schedule.kind == Schedule.Kind.WEEKLY:
        rules = rrule(WEEKLY, byweekday=schedule.weekday, dtstart=begin, until=until)
    elif schedule.kind == Schedule.Kind.QUARTERLY:
        # The first weekday inside the window 1–10 of each quarter's first month.
        rules = rrule(
            MONTHLY,
            bymonth=QUARTER_MONTHS,
            bymonthday=QUARTER_WINDOW_DAYS,
            byweekday=WORKING_DAYS,
            bysetpos=1,
            dtstart=begin,
            until=until,
        )
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


def _weekday_or_monday(day: dt.date) -> dt.date:
    if day.weekday() >= 5:
        return day + relativedelta(weekday=MO)
    return day


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
