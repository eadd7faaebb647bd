"""China's working days (common.holidays): holidays, make-up working days, unpublished years."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from common import holidays
from common.holidays import Kind

D = dt.date


@pytest.mark.parametrize(
    ("day", "kind", "holiday", "working"),
    [
        (D(2026, 2, 13), Kind.WORKING, "", True),  # Friday before Spring Festival
        (D(2026, 2, 14), Kind.MAKE_UP, "Spring Festival", True),  # a make-up Saturday
        (D(2026, 2, 15), Kind.HOLIDAY, "Spring Festival", False),
        (D(2026, 2, 18), Kind.HOLIDAY, "Spring Festival", False),  # a Wednesday off
        (D(2026, 2, 23), Kind.HOLIDAY, "Spring Festival", False),
        (D(2026, 2, 24), Kind.WORKING, "", True),
        (D(2026, 2, 28), Kind.MAKE_UP, "Spring Festival", True),
        (D(2026, 3, 1), Kind.WEEKEND, "", False),
        (D(2026, 1, 4), Kind.MAKE_UP, "New Year's Day", True),  # a make-up Sunday
        (D(2026, 9, 20), Kind.MAKE_UP, "National Day", True),
        (D(2026, 10, 1), Kind.HOLIDAY, "National Day", False),
        (D(2026, 10, 7), Kind.HOLIDAY, "National Day", False),
        (D(2026, 10, 8), Kind.WORKING, "", True),
        (D(2026, 10, 10), Kind.MAKE_UP, "National Day", True),
        (D(2027, 10, 1), Kind.UNKNOWN_WORKING, "", True),  # a Friday of an unpublished year
        (D(2027, 10, 2), Kind.UNKNOWN_WEEKEND, "", False),
    ],
)
def test_day_kinds(day, kind, holiday, working):
    found = holidays.day_kind(day)
    assert (found.date, found.kind, found.holiday) == (day, kind, holiday)
    assert holidays.is_working_day(day) is working


def test_covered_years():
    assert holidays.covers(2026)
    assert not holidays.covers(2027)
    assert holidays.day_kind(D(2026, 5, 1)).is_known
    assert not holidays.day_kind(D(2027, 5, 3)).is_known


@pytest.mark.parametrize(
    ("day", "step", "expected"),
    [
        (D(2026, 2, 18), 1, D(2026, 2, 24)),
        (D(2026, 2, 18), -1, D(2026, 2, 14)),  # the make-up Saturday before the holiday
        (D(2026, 10, 1), 1, D(2026, 10, 8)),
        (D(2026, 10, 1), -1, D(2026, 9, 30)),
        (D(2026, 10, 8), 1, D(2026, 10, 8)),  # a working day is its own
        (D(2026, 12, 31), 1, D(2026, 12, 31)),
        (D(2027, 1, 2), 1, D(2027, 1, 4)),  # unpublished: the Monday after the weekend
        (D(2027, 1, 3), -1, D(2027, 1, 1)),  # …and the Friday before it
    ],
)
def test_next_working_day(day, step, expected):
    assert holidays.next_working_day(day, step) == expected


def test_holiday_names_in_both_languages():
    day = holidays.day_kind(D(2026, 10, 1))
    with translation.override("en"):
        assert day.holiday_name == "National Day"
    with translation.override("zh-hans"):
        assert day.holiday_name == "国庆节"
        assert holidays.day_kind(D(2026, 2, 16)).holiday_name == "春节"
        assert holidays.day_kind(D(2026, 4, 5)).holiday_name == "清明节"
    assert holidays.day_kind(D(2026, 10, 8)).holiday_name == ""


def test_every_holiday_of_the_package_has_a_name():
    import chinese_calendar

    assert {holiday.value for holiday in chinese_calendar.Holiday} == set(holidays.HOLIDAY_NAMES)
