"""When meetings fall: deliberation.schedules, table-driven."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from deliberation.models import Schedule
from deliberation.schedules import clean_month_days, clean_schedule, occurrences, planned_days

D = dt.date


def monthly(*days: int, move: bool = False, **fields) -> Schedule:
    fields.setdefault("on_day_off", "next" if move else "keep")
    return Schedule(kind="monthly", month_days=list(days), **fields)


def dates(schedule: Schedule, start: dt.date, end: dt.date) -> list[dt.date]:
    return [moment.date() for moment in occurrences(schedule, start, end)]


CASES = [
    # (why, schedule, start, end, expected dates)
    (
        "8/18/28 across a month end",
        monthly(8, 18, 28),
        D(2026, 1, 20),
        D(2026, 2, 20),
        [D(2026, 1, 28), D(2026, 2, 8), D(2026, 2, 18)],
    ),
    (
        "8/18/28 in February of a common year",
        monthly(8, 18, 28),
        D(2026, 2, 1),
        D(2026, 2, 28),
        [D(2026, 2, 8), D(2026, 2, 18), D(2026, 2, 28)],
    ),
    (
        "8/18/28 in February of a leap year",
        monthly(8, 18, 28),
        D(2028, 2, 1),
        D(2028, 2, 29),
        [D(2028, 2, 8), D(2028, 2, 18), D(2028, 2, 28)],
    ),
    (
        "year end: Dec 28 then Jan 8",
        monthly(8, 18, 28),
        D(2026, 12, 20),
        D(2027, 1, 10),
        [D(2026, 12, 28), D(2027, 1, 8)],
    ),
    (
        "range bounds are included",
        monthly(8, 18, 28),
        D(2026, 3, 8),
        D(2026, 3, 18),
        [D(2026, 3, 8), D(2026, 3, 18)],
    ),
    (
        "day 31 in long and short months falls on the last day",
        monthly(31),
        D(2026, 1, 1),
        D(2026, 12, 31),
        [
            D(2026, 1, 31),
            D(2026, 2, 28),
            D(2026, 3, 31),
            D(2026, 4, 30),
            D(2026, 5, 31),
            D(2026, 6, 30),
            D(2026, 7, 31),
            D(2026, 8, 31),
            D(2026, 9, 30),
            D(2026, 10, 31),
            D(2026, 11, 30),
            D(2026, 12, 31),
        ],
    ),
    ("day 31 in a leap February", monthly(31), D(2028, 2, 1), D(2028, 3, 1), [D(2028, 2, 29)]),
    (
        "day 29 in common and leap Februaries",
        monthly(29),
        D(2026, 2, 1),
        D(2026, 3, 1),
        [D(2026, 2, 28)],
    ),
    ("day 29 in a leap February", monthly(29), D(2028, 2, 1), D(2028, 3, 1), [D(2028, 2, 29)]),
    ("day 30 in February", monthly(30), D(2026, 2, 1), D(2026, 3, 1), [D(2026, 2, 28)]),
    (
        "28 and 31 meet on Feb 28: one meeting",
        monthly(28, 31),
        D(2026, 2, 1),
        D(2026, 3, 1),
        [D(2026, 2, 28)],
    ),
    (
        "weekly on Wednesday",
        Schedule(kind="weekly", weekday=2),
        D(2026, 11, 1),
        D(2026, 11, 30),
        [D(2026, 11, 4), D(2026, 11, 11), D(2026, 11, 18), D(2026, 11, 25)],
    ),
    (
        "quarterly: first working day from the 1st of Jan/Apr/Jul/Oct",
        Schedule(kind="quarterly", on_day_off="keep"),
        D(2026, 1, 1),
        D(2028, 12, 31),
        [
            # New Year's Day holiday Jan 1-3, then the make-up working Sunday.
            D(2026, 1, 4),
            D(2026, 4, 1),
            D(2026, 7, 1),
            # The National Day week Oct 1-7.
            D(2026, 10, 8),
            # 2027's holidays are not published in the calendar: weekends only.
            D(2027, 1, 1),
            D(2027, 4, 1),
            D(2027, 7, 1),
            D(2027, 10, 1),
            # 2028: the 1st is a Saturday (or Sunday in October): the first Monday.
            D(2028, 1, 3),
            D(2028, 4, 3),
            D(2028, 7, 3),
            D(2028, 10, 2),
        ],
    ),
    (
        "quarterly: a range starting after the window's meeting has none that quarter",
        Schedule(kind="quarterly"),
        D(2028, 1, 4),
        D(2028, 6, 30),
        [D(2028, 4, 3)],
    ),
    (
        "weekend move: Saturday 18th to Monday 20th",
        monthly(8, 18, 28, move=True),
        D(2026, 4, 1),
        D(2026, 4, 30),
        [D(2026, 4, 8), D(2026, 4, 20), D(2026, 4, 28)],
    ),
    ("no move without the flag", monthly(18), D(2026, 4, 1), D(2026, 4, 30), [D(2026, 4, 18)]),
    (
        "weekend move across a month end: Sat Jan 31 to Mon Feb 2",
        monthly(31, move=True),
        D(2026, 1, 20),
        D(2026, 2, 5),
        [D(2026, 2, 2)],
    ),
    # --- China's holidays (chinesecalendar: 2026 is published, 2027 is not) ---
    (
        "Spring Festival: Feb 18 (holiday Feb 15-23) moves to Tue Feb 24",
        monthly(8, 18, 28, move=True),
        D(2026, 2, 1),
        D(2026, 3, 10),
        # Sun Feb 8 to Mon Feb 9; Sat Feb 28 is a make-up working day and stays; Sun Mar 8.
        [D(2026, 2, 9), D(2026, 2, 24), D(2026, 2, 28), D(2026, 3, 9)],
    ),
    (
        "Spring Festival, to the previous working day: Feb 18 to the make-up Sat Feb 14",
        monthly(8, 18, 28, on_day_off="previous"),
        D(2026, 2, 1),
        D(2026, 3, 10),
        [D(2026, 2, 6), D(2026, 2, 14), D(2026, 2, 28), D(2026, 3, 6)],
    ),
    (
        "Spring Festival, kept: the 18th stays on the holiday",
        monthly(8, 18, 28),
        D(2026, 2, 1),
        D(2026, 2, 28),
        [D(2026, 2, 8), D(2026, 2, 18), D(2026, 2, 28)],
    ),
    (
        "National Day: Oct 1 moves to Thu Oct 8; Sat Oct 10 is a make-up working day",
        monthly(1, 10, move=True),
        D(2026, 9, 25),
        D(2026, 10, 31),
        [D(2026, 10, 8), D(2026, 10, 10)],
    ),
    (
        "National Day, to the previous working day: Oct 1 to Wed Sep 30, Oct 8 stays",
        monthly(1, 8, on_day_off="previous"),
        D(2026, 9, 20),
        D(2026, 10, 20),
        [D(2026, 9, 30), D(2026, 10, 8)],
    ),
    (
        "a moved meeting comes into the range from before it (Oct 1 to Oct 8)",
        monthly(1, move=True),
        D(2026, 10, 8),
        D(2026, 10, 20),
        [D(2026, 10, 8)],
    ),
    (
        "weekly on Wednesdays, previous: Oct 7 moves onto Sep 30, one meeting",
        Schedule(kind="weekly", weekday=2, on_day_off="previous"),
        D(2026, 9, 28),
        D(2026, 10, 16),
        [D(2026, 9, 30), D(2026, 10, 14)],
    ),
    (
        "weekly on Wednesdays, next: Oct 7 moves to Thu Oct 8",
        Schedule(kind="weekly", weekday=2),
        D(2026, 9, 28),
        D(2026, 10, 16),
        [D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 14)],
    ),
    (
        "weekly on Sundays: the make-up working Sunday Sep 20 keeps its meeting",
        Schedule(kind="weekly", weekday=6),
        D(2026, 9, 14),
        D(2026, 9, 30),
        # Sun Sep 13 to Mon Sep 14; Sun Sep 27 (Mid-Autumn Festival) to Mon Sep 28.
        [D(2026, 9, 14), D(2026, 9, 20), D(2026, 9, 28)],
    ),
    (
        "2027 is not published: only weekends move (Sun Feb 28 to Mon Mar 1)",
        monthly(8, 18, 28, move=True),
        D(2027, 2, 1),
        D(2027, 3, 1),
        [D(2027, 2, 8), D(2027, 2, 18), D(2027, 3, 1)],
    ),
    (
        "collision after a move: 18, 19 and 20 are one Monday meeting",
        monthly(18, 19, 20, move=True),
        D(2026, 4, 1),
        D(2026, 4, 30),
        [D(2026, 4, 20)],
    ),
    (
        "a moved meeting enters a range that starts on the Monday",
        monthly(18, move=True),
        D(2026, 4, 20),
        D(2026, 4, 30),
        [D(2026, 4, 20)],
    ),
    (
        "a moved meeting leaves a range that ends on the Sunday",
        monthly(18, move=True),
        D(2026, 4, 1),
        D(2026, 4, 19),
        [],
    ),
    (
        "a weekly Saturday with the flag meets on Mondays",
        Schedule(kind="weekly", weekday=5),
        D(2026, 11, 1),
        D(2026, 11, 20),
        [D(2026, 11, 2), D(2026, 11, 9), D(2026, 11, 16)],
    ),
    ("empty range", monthly(8), D(2026, 3, 9), D(2026, 3, 1), []),
]


@pytest.mark.parametrize(
    ("schedule", "start", "end", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_occurrences(schedule, start, end, expected):
    assert dates(schedule, start, end) == expected


@pytest.mark.parametrize(
    ("kind", "fields"),
    [("monthly", {"month_days": [8, 18, 28]}), ("weekly", {"weekday": 2}), ("quarterly", {})],
)
def test_times_are_aware_in_shanghai_at_the_start_time(kind, fields):
    schedule = Schedule(kind=kind, start_time=dt.time(9, 30), **fields)
    found = occurrences(schedule, D(2026, 1, 1), D(2026, 12, 31))
    assert found
    for moment in found:
        assert moment.tzinfo.key == "Asia/Shanghai"
        assert moment.utcoffset() == dt.timedelta(hours=8)  # no DST in China, all year
        assert (moment.hour, moment.minute) == (9, 30)
    assert found == sorted(found)


def test_the_default_start_is_three_in_the_afternoon():
    moment = occurrences(monthly(8), D(2026, 7, 1), D(2026, 7, 31))[0]
    assert moment.isoformat() == "2026-07-08T15:00:00+08:00"


# --- Validation ------------------------------------------------------------------------


def messages(language: str, days) -> list[str]:
    with translation.override(language), pytest.raises(ValidationError) as caught:
        clean_month_days(days)
    with translation.override(language):
        return caught.value.messages


@pytest.mark.parametrize(
    ("days", "english", "chinese"),
    [
        ([], ["Choose at least one day of the month."], ["请至少选择每月的一个日期。"]),
        ([0], ["0 is not a day of the month: use a number from 1 to 31."],
         ["0 不是有效的日期：请填写 1 到 31 之间的数字。"]),
        ([32], ["32 is not a day of the month: use a number from 1 to 31."],
         ["32 不是有效的日期：请填写 1 到 31 之间的数字。"]),
        ([8, 18, 8], ["Day 8 is listed more than once."], ["8 日重复填写了。"]),
        (["abc"], ["“abc” is not a day of the month: use a number from 1 to 31."],
         ["“abc”不是有效的日期：请填写 1 到 31 之间的数字。"]),
        ([0, 8, 8], ["0 is not a day of the month: use a number from 1 to 31.",
                     "Day 8 is listed more than once."],
         ["0 不是有效的日期：请填写 1 到 31 之间的数字。", "8 日重复填写了。"]),
    ],
)  # fmt: skip
def test_month_day_messages_in_both_languages(days, english, chinese):
    assert messages("en", days) == english
    assert messages("zh-hans", days) == chinese


def test_valid_month_days_are_sorted_numbers():
    assert clean_month_days(["28", 8, 18]) == [8, 18, 28]
    assert clean_month_days([31]) == [31]


def test_clean_schedule_by_kind():
    assert clean_schedule(kind="monthly", month_days=[18, 8]) == {
        "kind": "monthly", "month_days": [8, 18], "weekday": None,
    }  # fmt: skip
    assert clean_schedule(kind="weekly", weekday=2)["weekday"] == 2
    assert clean_schedule(kind="quarterly") == {
        "kind": "quarterly", "month_days": [], "weekday": None,
    }  # fmt: skip
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        clean_schedule(kind="weekly", weekday=None)
    with translation.override("zh-hans"):
        assert caught.value.message_dict == {"weekday": ["请选择星期几。"]}
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        clean_schedule(kind="monthly", month_days=[])
    with translation.override("en"):
        assert caught.value.message_dict == {
            "month_days": ["Choose at least one day of the month."]
        }
    with pytest.raises(ValidationError):
        clean_schedule(kind="weekly", weekday=7)
    with pytest.raises(ValidationError):
        clean_schedule(kind="daily")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "weekly", "weekday": 7},
        {"kind": "weekly", "weekday": None},
        {"kind": "monthly", "notice_days": 31},
        {"kind": "daily"},
    ],
)
def test_the_database_refuses_schedules_out_of_range(manan, fields):
    from django.db import IntegrityError, transaction

    from tests import factories

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.schedule(manan, **fields)


def test_planned_days_say_which_dates_moved_and_why():
    with translation.override("en"):
        days = planned_days(monthly(8, 18, 28, move=True), D(2026, 2, 15), D(2026, 2, 28))
        assert [(d.date, d.moved, d.planned.date, d.planned.holiday_name) for d in days] == [
            (D(2026, 2, 24), True, D(2026, 2, 18), "Spring Festival"),
            (D(2026, 2, 28), False, D(2026, 2, 28), "Spring Festival"),
        ]
        assert [(d.is_make_up, d.is_known) for d in days] == [(False, True), (True, True)]
        assert days[0].planned_at(dt.time(15)).isoformat() == "2026-02-18T15:00:00+08:00"
        assert days[1].planned_at(dt.time(15)) is None
    with translation.override("zh-hans"):
        assert days[0].planned.holiday_name == "春节"


def test_a_year_the_calendar_does_not_cover_is_not_known():
    (day,) = planned_days(monthly(28, move=True), D(2027, 2, 1), D(2027, 3, 5))
    assert (day.date, day.planned.date, day.moved, day.is_known) == (
        D(2027, 3, 1), D(2027, 2, 28), True, False,
    )  # fmt: skip
