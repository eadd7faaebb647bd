"""The figures of the community and street dashboards, against fixtures computed by hand.

Every date here is a local date of Asia/Shanghai (UTC+8). Issues, meetings and escalations
sit on purpose just after local midnight of a month's first day (still the previous day in
UTC) or just before the next one, so a figure read in UTC instead of local time comes out
wrong somewhere.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import translation

from common.periods import MAX_YEARS, Period, named_period, period_form
from deliberation.actions import closing
from deliberation.models import Attendance, Meeting
from issues.actions import handling
from issues.figures import Share
from issues.models import Category, FollowUpReview, Issue
from members.models import Community, CouncilMember, Role
from reports import dashboard
from reports.dashboard import CommunityRow, IssueFigures, MeetingFigures
from tests import factories
from tests.helpers.clock import local
from tests.helpers.issues import reported
from tests.helpers.reviews import cancelled, done, sent

# The first quarter of 2025, seen on 20 April 2025.
Q1 = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
TODAY = dt.date(2025, 4, 20)


def figures_of(*communities: Community, period: Period = Q1, **kwargs) -> dashboard.Dashboard:
    if len(communities) == 1:
        links = dashboard.InboxLinks(period, community=communities[0].pk)
    else:
        links = dashboard.InboxLinks(period, street=communities[0].street_id)
    return dashboard.dashboard(list(communities), period, links=links, today=TODAY, **kwargs)


def query_of(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert parts.path == reverse("issues:inbox")
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


# --- Periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "today", "since", "until"),
    [
        ("month", dt.date(2025, 5, 20), dt.date(2025, 5, 1), dt.date(2025, 5, 20)),
        ("month", dt.date(2025, 5, 1), dt.date(2025, 5, 1), dt.date(2025, 5, 1)),
        ("quarter", dt.date(2025, 5, 20), dt.date(2025, 4, 1), dt.date(2025, 5, 20)),
        ("quarter", dt.date(2025, 3, 31), dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
        ("quarter", dt.date(2025, 10, 1), dt.date(2025, 10, 1), dt.date(2025, 10, 1)),
        ("year", dt.date(2025, 5, 20), dt.date(2025, 1, 1), dt.date(2025, 5, 20)),
        ("last_quarter", dt.date(2025, 5, 20), dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
        ("last_quarter", dt.date(2025, 2, 10), dt.date(2024, 10, 1), dt.date(2024, 12, 31)),
        ("last_quarter", dt.date(2025, 8, 31), dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
        ("last_quarter", dt.date(2025, 12, 31), dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
        ("last_year", dt.date(2025, 5, 20), dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("last_year", dt.date(2025, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
    ],
)
def test_named_periods_for_a_fixed_today(kind, today, since, until):
    form = period_form({"period": kind}, today=today)

    assert form.is_valid(), form.errors
    assert form.result == Period(since, until, kind)
    assert named_period(kind, today) == Period(since, until, kind)


def test_no_period_given_is_this_month():
    for data in (None, {}):
        form = period_form(data, today=dt.date(2025, 2, 14))
        assert form.is_valid()
        assert form.result == Period(dt.date(2025, 2, 1), dt.date(2025, 2, 14), "month")


def test_a_custom_range_runs_from_local_midnight_to_local_midnight():
    form = period_form(
        {"period": "custom", "since": "2025-01-01", "until": "2025-03-31"},
        today=dt.date(2025, 5, 20),
    )

    assert form.is_valid(), form.errors
    period = form.result
    assert period == Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31), "custom")
    assert period.start == local(2025, 1, 1)
    assert period.end == local(2025, 4, 1)  # the bound is exclusive: all of 31 March is in
    assert period.start.utcoffset() == dt.timedelta(hours=8)
    assert period.query() == {"period": "custom", "since": "2025-01-01", "until": "2025-03-31"}
    # Dates alone, with no kind, are a custom range too.
    assert period_form({"since": "2025-01-01", "until": "2025-03-31"}).result == period


def test_a_named_period_gives_its_kind_back_and_ignores_dates():
    form = period_form(
        {"period": "last_year", "since": "2001-01-01", "until": "2000-01-01"},
        today=dt.date(2025, 5, 20),
    )

    assert form.is_valid()
    assert form.result.query() == {"period": "last_year"}
    assert (form.result.since, form.result.until) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"period": "custom"},
            "__all__",
            "Choose both a start and an end date for a custom range.",
        ),
        (
            {"period": "custom", "since": "2025-01-01"},
            "__all__",
            "Choose both a start and an end date for a custom range.",
        ),
        (
            {"until": "2025-01-01"},
            "__all__",
            "Choose both a start and an end date for a custom range.",
        ),
        (
            {"period": "custom", "since": "2025-03-01", "until": "2025-02-28"},
            "until",
            "The end date is before the start date.",
        ),
        (
            {"period": "custom", "since": "2005-01-01", "until": "2024-12-31"},
            "until",
            f"Choose a range of at most {MAX_YEARS} years.",
        ),
    ],
    ids=["custom-without-dates", "no-end", "no-start", "end-before-start", "twenty-years"],
)
def test_a_bad_range_says_what_is_wrong(data, field, message):
    with translation.override("en"):
        form = period_form(data, today=dt.date(2025, 5, 20))
        assert not form.is_valid()
        assert [str(error) for error in form.errors[field]] == [message]
    assert "result" not in form.cleaned_data


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"period": "custom"}, "__all__", "自定义时段请同时选择起始日期和截止日期。"),
        (
            {"period": "custom", "since": "2025-03-01", "until": "2025-02-28"},
            "until",
            "截止日期早于起始日期。",
        ),
        (
            {"period": "custom", "since": "2005-01-01", "until": "2024-12-31"},
            "until",
            "时段最长为 5 年，请缩短。",
        ),
    ],
    ids=["empty", "end-before-start", "twenty-years"],
)
def test_a_bad_range_is_said_in_chinese(data, field, message):
    with translation.override("zh-hans"):
        form = period_form(data)
        assert [str(error) for error in form.errors[field]] == [message]


def test_five_years_is_the_longest_range():
    def valid(since: str, until: str) -> bool:
        return period_form({"period": "custom", "since": since, "until": until}).is_valid()

    assert MAX_YEARS == 5
    assert valid("2020-01-01", "2024-12-31")
    assert not valid("2020-01-01", "2025-01-01")
    assert valid("2025-03-01", "2025-03-01")  # a single day
    # From a 29 February, five years later is 28 February.
    assert valid("2020-02-29", "2025-02-27")
    assert not valid("2020-02-29", "2025-02-28")


def test_a_date_or_a_kind_that_does_not_exist_is_refused():
    with translation.override("en"):
        bad_date = period_form({"period": "custom", "since": "2025-02-30", "until": "2025-03-31"})
        bad_kind = period_form({"period": "decade"})

    assert not bad_date.is_valid() and list(bad_date.errors) == ["since"]
    assert not bad_kind.is_valid() and list(bad_kind.errors) == ["period"]


def test_the_months_a_period_touches_and_their_parts_inside_it():
    period = Period(dt.date(2024, 11, 15), dt.date(2025, 2, 3))

    assert period.months() == [
        dt.date(2024, 11, 1),
        dt.date(2024, 12, 1),
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
    ]
    assert period.clamp(dt.date(2024, 11, 1)) == (dt.date(2024, 11, 15), dt.date(2024, 11, 30))
    assert period.clamp(dt.date(2024, 12, 1)) == (dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    assert period.clamp(dt.date(2025, 2, 1)) == (dt.date(2025, 2, 1), dt.date(2025, 2, 3))
    assert Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29)).clamp(dt.date(2024, 2, 1)) == (
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 29),
    )


# --- Issues collected and resolved ---------------------------------------------------------------


@pytest.fixture
def quarter(manan, xingfu):
    """马南's first quarter of 2025, each issue on a boundary a UTC reading would get wrong."""
    return {
        # 00:30 on 1 January is 16:30 on 31 December in UTC: in the period.
        "new_year": reported(manan, local(2025, 1, 1, 0, 30), resolved=local(2025, 1, 3, 0, 30)),
        "february": reported(manan, local(2025, 2, 10, 9), resolved=local(2025, 2, 15, 9)),
        # Midnight of 1 March is 28 February in UTC: collected and resolved in March.
        "march_first": reported(manan, local(2025, 3, 1), resolved=local(2025, 3, 10)),
        "march_open": reported(manan, local(2025, 3, 15, 12), due_on=dt.date(2025, 5, 1)),
        # 23:59 on 31 March: the last minute of the period; open and late on 20 April.
        "last_minute": reported(manan, local(2025, 3, 31, 23, 59), due_on=dt.date(2025, 4, 10)),
        # Before and after the period, though UTC would put them inside it.
        # Resolved at midnight of 1 April: the first instant after the period.
        "old_year": reported(manan, local(2024, 12, 31, 23, 30), resolved=local(2025, 4, 1)),
        "april": reported(manan, local(2025, 4, 1), due_on=dt.date(2025, 4, 2)),
        "elsewhere": reported(xingfu, local(2025, 2, 1, 12), resolved=local(2025, 2, 2, 12)),
    }


def test_collected_and_resolved_per_month_in_local_time(manan, quarter):
    found = figures_of(manan)

    assert (found.totals.collected, found.totals.resolved) == (5, 3)
    assert [(row.month, row.collected, row.resolved) for row in found.months] == [
        (dt.date(2025, 1, 1), 1, 1),
        (dt.date(2025, 2, 1), 1, 1),
        (dt.date(2025, 3, 1), 3, 1),
    ]
    assert (found.totals.still_open, found.totals.overdue) == (2, 1)
    assert found.chart_data()["collected"] == [1, 1, 3]
    assert found.chart_data()["resolved"] == [1, 1, 1]


def test_open_and_overdue_come_from_the_kept_months_and_move_with_today(manan, quarter):
    """Each kept month holds its open issues' first due days: the figures read no issue, and
    a later day finds more of them overdue without anything written."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        found = figures_of(manan)
    assert not [q["sql"] for q in captured.captured_queries if '"due_on"' in q["sql"]]
    assert (found.totals.still_open, found.totals.overdue) == (2, 1)  # last_minute, due 10 April

    links = dashboard.InboxLinks(Q1, community=manan.pk)
    in_may = dashboard.dashboard([manan], Q1, links=links, today=dt.date(2025, 5, 2))
    assert (in_may.totals.still_open, in_may.totals.overdue) == (2, 2)  # march_open, due 1 May
    before = dashboard.dashboard([manan], Q1, links=links, today=dt.date(2025, 4, 10))
    assert before.totals.overdue == 0  # due that day: not yet late

    # Resolved since: no longer open, and no longer late.
    factories.moved(
        quarter["last_minute"], status=Issue.Status.RESOLVED, resolved_at=local(2025, 4, 12)
    )
    after = figures_of(manan)
    assert (after.totals.still_open, after.totals.overdue) == (1, 0)


def test_each_month_links_to_its_own_days_of_the_inbox(manan, quarter):
    found = figures_of(manan, period=Period(dt.date(2025, 1, 15), dt.date(2025, 3, 10)))

    assert [query_of(row.collected_url) for row in found.months] == [
        {"community": str(manan.pk), "since": "2025-01-15", "until": "2025-01-31"},
        {"community": str(manan.pk), "since": "2025-02-01", "until": "2025-02-28"},
        {"community": str(manan.pk), "since": "2025-03-01", "until": "2025-03-10"},
    ]
    assert query_of(found.months[2].resolved_url) == {
        "community": str(manan.pk),
        "resolved_since": "2025-03-01",
        "resolved_until": "2025-03-10",
    }
    # From 15 January the new year's issue is out; 10 March still holds the one of the 1st.
    assert [(row.collected, row.resolved) for row in found.months] == [(0, 0), (1, 1), (1, 1)]


def test_the_figures_link_to_the_inbox_filtered_to_what_they_count(manan, nanen, quarter):
    found = figures_of(manan)
    period = {"community": str(manan.pk), "since": "2025-01-01", "until": "2025-03-31"}

    assert query_of(found.links["collected"]) == period
    assert query_of(found.links["still_open"]) == period | {"state": "open"}
    assert query_of(found.links["overdue"]) == period | {"overdue": "on"}
    assert query_of(found.links["review_satisfied"]) == period | {"review": "satisfied"}
    assert query_of(found.links["resolved"]) == {
        "community": str(manan.pk),
        "resolved_since": "2025-01-01",
        "resolved_until": "2025-03-31",
    }
    assert query_of(found.channels[0].url) == period | {"channel": "patrol"}
    assert query_of(found.tiers[0].url) == period | {"tier": "council"}

    street = figures_of(manan, factories.community("第三社区", street_=nanen))
    assert query_of(street.links["collected"]) == {
        "street": str(nanen.pk),
        "since": "2025-01-01",
        "until": "2025-03-31",
    }


def test_readers_with_no_inbox_get_no_links(manan, quarter):
    links = dashboard.InboxLinks(Q1, community=manan.pk, enabled=False)

    found = dashboard.dashboard([manan], Q1, links=links, today=TODAY)

    assert found.totals.collected == 5  # the figures are the same
    assert set(found.links.values()) == {None}
    assert {row.collected_url for row in found.months} == {None}
    assert {row.resolved_url for row in found.months} == {None}
    assert {t.url for t in found.categories + found.channels + found.tiers} == {None}


def test_three_resolutions_after_2_5_and_9_days(manan, quarter):
    found = figures_of(manan)

    assert found.totals.median_days == 5.0
    assert found.totals.p90_days == 8.2  # 5 + 0.8 × (9 − 5)


def test_resolved_counts_a_resolution_that_stands_whenever_the_issue_was_reported(
    manan, manan_staff
):
    earlier = factories.resolved_issue(manan, actor=manan_staff)
    factories.moved(earlier, created=local(2024, 10, 1, 8), resolved_at=local(2025, 2, 1, 8))
    undone = factories.resolved_issue(manan, actor=manan_staff)
    undone = factories.moved(undone, created=local(2025, 1, 20), resolved_at=local(2025, 1, 25))
    handling.issue_transition(issue=undone, actor=manan_staff, name="reopen", note="又漏水了")

    found = figures_of(manan)

    assert (found.totals.collected, found.totals.resolved, found.totals.still_open) == (1, 1, 1)
    assert [(row.collected, row.resolved) for row in found.months] == [(1, 0), (0, 1), (0, 0)]
    assert found.totals.median_days == 123.0  # 1 October to 1 February


def test_a_period_with_nothing_is_zeros_and_no_medians(manan, quarter):
    found = figures_of(manan, period=Period(dt.date(2024, 6, 1), dt.date(2024, 8, 31)))

    assert found.totals == IssueFigures()
    assert [(row.collected, row.resolved) for row in found.months] == [(0, 0)] * 3
    assert (found.totals.median_days, found.totals.p90_days) == (None, None)
    assert found.totals.reviewed_share.percent is None
    assert found.totals.satisfied_share.percent is None
    assert {t.count for t in found.categories + found.channels + found.tiers} == {0}
    assert found.meetings == MeetingFigures()
    assert found.meetings.held_share.percent is None
    chart = found.chart_data()
    assert (chart["categories"], chart["channels"], chart["tiers"]) == ([], [], [])


def test_days_to_resolution_per_community_and_over_all_issues(manan, xingfu):
    for days in (2, 5, 9):
        reported(manan, local(2025, 1, 1, 10), resolved=local(2025, 1, 1, 10) + dt.timedelta(days))
    reported(xingfu, local(2025, 1, 2), resolved=local(2025, 1, 22))
    reported(xingfu, local(2025, 1, 2))  # not resolved: no days to count

    found = figures_of(manan, xingfu)

    rows = {row.community.pk: row.issues for row in found.communities}
    assert (rows[manan.pk].median_days, rows[manan.pk].p90_days) == (5.0, 8.2)
    assert (rows[xingfu.pk].median_days, rows[xingfu.pk].p90_days) == (20.0, 20.0)
    # Over all four issues (2, 5, 9, 20), not the median of the two medians (12.5).
    assert (found.totals.median_days, found.totals.p90_days) == (7.0, 16.7)
    nothing = figures_of(manan, xingfu, period=Period(dt.date(2020, 1, 1), dt.date(2020, 12, 31)))
    assert (nothing.totals.median_days, nothing.totals.p90_days) == (None, None)


def test_hours_count_as_fractions_of_a_day_to_one_decimal(manan):
    reported(manan, local(2025, 1, 5, 8), resolved=local(2025, 1, 5, 20))  # 12 hours: 0.5
    reported(manan, local(2025, 1, 5, 8), resolved=local(2025, 1, 6, 16))  # 32 hours: 1.333
    reported(manan, local(2025, 1, 5, 8), resolved=local(2025, 1, 8, 16))  # 80 hours: 3.333

    found = figures_of(manan)

    assert found.totals.median_days == 1.3
    assert found.totals.p90_days == 2.9  # 1.333 + 0.8 × (3.333 − 1.333) = 2.933


def test_a_streets_figures_are_the_sum_of_its_communities(manan, xingfu, quarter):
    found = figures_of(manan, xingfu)
    rows = {row.community.pk: row.issues for row in found.communities}

    assert [row.community for row in found.communities] == [manan, xingfu]
    assert (rows[manan.pk].collected, rows[manan.pk].resolved) == (5, 3)
    assert (rows[xingfu.pk].collected, rows[xingfu.pk].resolved) == (1, 1)
    assert (rows[xingfu.pk].median_days, rows[xingfu.pk].p90_days) == (1.0, 1.0)
    assert (found.totals.collected, found.totals.resolved) == (6, 4)
    assert (found.totals.still_open, found.totals.overdue) == (2, 1)
    # 1, 2, 5, 9 days: over all the street's resolutions.
    assert (found.totals.median_days, found.totals.p90_days) == (3.5, 7.8)
    assert [row.collected for row in found.months] == [1, 2, 3]


# --- Breakdowns ------------------------------------------------------------------------------


def test_categories_list_the_must_deliberate_ones_first(manan, nanen):
    other = factories.category(nanen, "other")
    assert other.position == 10 and not other.must_deliberate
    Category.objects.filter(pk=other.pk).update(position=0)
    parking = Category.objects.create(
        street=nanen, code="parking", name="停车", name_en="Parking", must_deliberate=True,
        position=50,
    )  # fmt: skip
    noise = Category.objects.create(street=nanen, code="noise", name="噪音", position=0)
    old = Category.objects.create(street=nanen, code="old", name="旧分类", position=1)
    gone = Category.objects.create(
        street=nanen, code="gone", name="废弃", must_deliberate=True, position=2
    )
    for code, created in [
        ("parking", local(2025, 1, 3)),
        ("parking", local(2025, 2, 3)),
        ("environment", local(2025, 3, 3)),
        ("old", local(2025, 3, 4)),
        ("other", local(2025, 3, 5)),
        ("noise", local(2024, 12, 5)),  # before the period
    ]:
        reported(manan, created, code=code)
    Category.objects.filter(pk__in=[old.pk, gone.pk, noise.pk]).update(is_active=False)
    codes = dict(Category.objects.filter(street=nanen).values_list("pk", "code"))

    with translation.override("en"):
        found = figures_of(manan)

    assert [codes[int(t.key)] for t in found.categories] == [
        "policy", "interests", "facilities", "environment", "security", "management",
        "stability", "neighbours", "appeals", "livelihood", "parking",
        # Then the others, by position; out of use, "old" still shows for its issue,
        # "gone" and "noise" have none in the period and are left out.
        "other", "old",
    ]  # fmt: skip
    counts = {codes[int(t.key)]: t.count for t in found.categories}
    assert {code: n for code, n in counts.items() if n} == {
        "parking": 2,
        "environment": 1,
        "old": 1,
        "other": 1,
    }
    flags = {codes[int(t.key)]: t.must_deliberate for t in found.categories}
    assert flags["parking"] and flags["policy"] and not flags["other"] and not flags["old"]
    assert [t.label for t in found.categories][-3:] == ["Parking", "Other", "旧分类"]
    assert query_of(found.categories[-3].url)["category"] == str(parking.pk)
    assert found.chart_data()["categories"] == [
        {"name": "Environment and sanitation", "value": 1},
        {"name": "Parking", "value": 2},
        {"name": "Other", "value": 1},
        {"name": "旧分类", "value": 1},
    ]


def test_a_street_lists_its_categories_once(manan, xingfu, nanen, quarter):
    found = figures_of(manan, xingfu)

    assert len(found.categories) == Category.objects.filter(street=nanen).count() == 11


def test_channels_and_handling_levels_count_the_issues_collected(manan, xingfu):
    reported(manan, local(2025, 1, 1), channel="hotline", tier="street")
    reported(manan, local(2025, 2, 1), channel="hotline", tier="department")
    reported(manan, local(2025, 3, 31, 23), channel="public_form")
    reported(manan, local(2025, 3, 1), channel="patrol", tier="community")
    reported(manan, local(2025, 4, 1), channel="chat_group", tier="street")  # after the period
    reported(xingfu, local(2025, 2, 1), channel="chat_group")  # another community

    found = figures_of(manan)

    assert [(t.key, t.count) for t in found.channels] == [
        ("patrol", 1),
        ("suggestion_box", 0),
        ("chat_group", 0),
        ("home_visit", 0),
        ("deliberation_point", 0),
        ("public_form", 1),
        ("hotline", 2),
        ("team_visit", 0),  # the visiting teams' concerns
    ]
    assert [(t.key, t.count) for t in found.tiers] == [
        ("council", 1),
        ("community", 1),
        ("street", 1),
        ("department", 1),
    ]
    assert sum(t.count for t in found.channels) == found.totals.collected == 4


def test_still_open_and_overdue_count_the_issues_collected(manan):
    late = dt.date(2025, 4, 19)
    for status in ("submitted", "awaiting", "decided", "in_progress", "reopened", "deferred"):
        reported(manan, local(2025, 2, 1), status=status, due_on=late)
    reported(manan, local(2025, 2, 1), status="in_progress", due_on=TODAY)  # due today: not late
    reported(manan, local(2025, 2, 1), status="submitted")  # no due date
    reported(manan, local(2025, 2, 1), resolved=local(2025, 4, 15), due_on=late)
    reported(manan, local(2025, 2, 1), status="closed", due_on=late)
    reported(manan, local(2025, 2, 1), status="not_actionable", due_on=late)
    reported(manan, local(2024, 12, 1), status="submitted", due_on=late)  # before the period

    found = figures_of(manan)

    assert (found.totals.collected, found.totals.still_open, found.totals.overdue) == (11, 8, 6)


# --- Follow-up reviews ---------------------------------------------------------------------------


@pytest.fixture
def reviews_due_after_a_day(nanen):
    category = factories.category(nanen, "other")
    category.review_after_days = 1
    category.save(update_fields=["review_after_days"])


def collected_on(review: FollowUpReview, moment: dt.datetime) -> None:
    factories.moved(review.issue, created=moment)


def test_follow_up_review_figures_count_issues(
    reviews_due_after_a_day, manan, xingfu, manan_staff, xingfu_staff
):
    five = done(manan, manan_staff, after_days=2, rating=5)
    four = done(manan, manan_staff, after_days=3, rating=4)
    fair = done(manan, manan_staff, after_days=3, rating=3)  # rated, not satisfied
    bad = done(manan, manan_staff, after_days=4, rating=2)
    assert bad.result == FollowUpReview.Result.REOPENED
    # The reopened matter is resolved again: a second review of the same issue, pending.
    issue = Issue.objects.get(pk=bad.issue_id)
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")
    asked = sent(manan, manan_staff)
    called_off = cancelled(manan, manan_staff)
    for review in (five, four, fair, bad, asked, called_off):
        collected_on(review, local(2025, 2, 1 + review.pk % 20, 10))
    outside = done(manan, manan_staff, after_days=2, rating=5)
    collected_on(outside, local(2024, 12, 31, 23, 30))
    other = done(xingfu, xingfu_staff, after_days=2, rating=1)
    collected_on(other, local(2025, 2, 1))

    found = figures_of(manan)

    # Issues, not reviews: the matter reviewed twice counts once in each figure.
    assert found.totals.reviews == {
        "any": 5,
        "reviewed": 4,
        "rated": 4,
        "satisfied": 2,
        "reopened": 1,
        "rated_by_staff": 0,
    }
    assert found.totals.reviewed_share == Share(4, 5)
    assert found.totals.reviewed_share.percent == 80
    assert (found.totals.satisfied_share, found.totals.satisfied_share.percent) == (Share(2, 4), 50)
    assert (found.totals.reopened_share, found.totals.reopened_share.percent) == (Share(1, 4), 25)

    street = figures_of(manan, xingfu)
    assert street.totals.reviews == {
        "any": 6,
        "reviewed": 5,
        "rated": 5,
        "satisfied": 2,
        "reopened": 2,
        "rated_by_staff": 0,
    }
    assert street.communities[1].issues.reviews["reopened"] == 1


def rated_by_staff(community, staff, satisfaction: int, source: str) -> FollowUpReview:
    """A review sent, then rated by staff who were told the rating in person or by phone."""
    from issues import reviews

    review = sent(community, staff)
    reviews.review_rate(
        review=review, actor=staff, fixed="yes" if satisfaction >= 3 else "no",
        satisfaction=satisfaction, source=source,
    )  # fmt: skip
    return review


def test_ratings_recorded_by_staff_count_in_the_satisfied_share_and_are_shown_apart(
    reviews_due_after_a_day, manan, xingfu, manan_staff, xingfu_staff
):
    by_link = [done(manan, manan_staff, after_days=2, rating=5)]
    by_staff = [
        rated_by_staff(manan, manan_staff, 4, "in_person"),  # satisfied
        rated_by_staff(manan, manan_staff, 2, "phone"),  # not satisfied: reopened
        rated_by_staff(xingfu, xingfu_staff, 5, "phone"),
    ]
    not_rated = [sent(manan, manan_staff)]
    for review in by_link + by_staff + not_rated:
        collected_on(review, local(2025, 2, 1 + review.pk % 20, 10))

    manan_only = figures_of(manan).totals
    # 马南社区 by hand: rated 3 (1 by link, 2 by staff), satisfied 2 (the 5 and the 4).
    assert (manan_only.reviews["rated"], manan_only.reviews["rated_by_staff"]) == (3, 2)
    assert (manan_only.satisfied_share, manan_only.satisfied_share.percent) == (Share(2, 3), 67)

    street = figures_of(manan, xingfu)
    assert street.totals.reviews["rated"] == 4 and street.totals.reviews["rated_by_staff"] == 3
    assert street.totals.satisfied_share == Share(3, 4)
    by_community = {row.community: row.issues.reviews for row in street.communities}
    assert {c: r["rated_by_staff"] for c, r in by_community.items()} == {manan: 2, xingfu: 1}
    # The same rule as the review figures of the community pages (issues.figures).
    from issues.figures import review_figures

    seen = review_figures(manan_staff, [manan.pk])[manan.pk]
    assert (seen.rated, seen.satisfied, seen.rated_by_staff) == (3, 2, 2)


# --- Meetings and attendance ---------------------------------------------------------------------


def held(community: Community, starts_at: dt.datetime, actor) -> Meeting:
    meeting = factories.meeting(community, starts_at)
    return closing.meeting_close(
        meeting=meeting, actor=actor, now=starts_at + dt.timedelta(hours=2)
    )


def signed_in(meeting: Meeting, actor, *members: CouncilMember) -> None:
    Attendance.objects.bulk_create(
        Attendance(
            meeting=meeting,
            member=member,
            signed_in_at=meeting.starts_at,
            how=Attendance.How.STAFF,
            recorded_by=actor,
        )
        for member in members
    )


@pytest.fixture
def council_quarter(manan, xingfu, manan_staff, xingfu_staff, manan_leader_term):
    """马南's council meetings around the first quarter of 2025 and who came to them."""

    def term(name: str, joined: dt.date, left: dt.date | None = None) -> CouncilMember:
        return factories.council_member(
            manan, factories.resident(manan, name), joined_on=joined, left_on=left
        )

    leader = manan_leader_term
    li = term("李四", dt.date(2024, 1, 8), dt.date(2025, 3, 10))  # left on the March meeting's day
    zhang = term("张三", dt.date(2025, 2, 10))  # joined on the February meeting's day
    zhao = term("赵六", dt.date(2023, 1, 1), dt.date(2024, 12, 1))  # left before the quarter
    sun = term("孙八", dt.date(2024, 5, 1), dt.date(2025, 1, 1))  # left on its first day
    term("钱七", dt.date(2025, 4, 5))  # joined after it

    december = held(manan, local(2024, 12, 20, 15), manan_staff)
    january = held(manan, local(2025, 1, 10, 15), manan_staff)
    february = held(manan, local(2025, 2, 10, 15), manan_staff)
    march = held(manan, local(2025, 3, 10, 15), manan_staff)
    april = held(manan, local(2025, 4, 1, 0, 30), manan_staff)  # 31 March in UTC
    factories.meeting(manan, local(2025, 3, 31, 23, 30))  # still scheduled, last evening
    typhoon = factories.meeting(manan, local(2025, 2, 20, 15))
    closing.meeting_cancel(meeting=typhoon, actor=manan_staff, reason="台风")
    held(xingfu, local(2025, 2, 12, 15), xingfu_staff)

    signed_in(december, manan_staff, leader, zhao, sun)
    signed_in(january, manan_staff, leader, li)
    signed_in(february, manan_staff, li, zhang)
    signed_in(march, manan_staff, leader, zhang)
    signed_in(april, manan_staff, leader, zhang)
    return {"leader": leader, "li": li, "zhang": zhang}


def test_meetings_held_scheduled_and_cancelled_in_the_period(manan, xingfu, council_quarter):
    found = figures_of(manan)

    assert found.meetings == MeetingFigures(held=3, scheduled=1, cancelled=1)
    assert found.meetings.planned == 5
    assert found.meetings.held_share.percent == 60
    assert figures_of(manan, xingfu).meetings == MeetingFigures(held=4, scheduled=1, cancelled=1)
    rows = figures_of(manan, xingfu).communities
    assert [row.meetings.held for row in rows] == [3, 1]


def test_attendance_counts_only_meetings_held_while_the_member_was_on_the_council(
    manan, council_quarter
):
    found = figures_of(manan, with_attendance=True)

    shown = {row.member.resident.name: (row.attended, row.eligible) for row in found.attendance}
    assert shown == {
        "王建国": (2, 3),  # January and March; December and April are outside the quarter
        "李四": (2, 2),  # January and February; gone by the March meeting
        "张三": (2, 2),  # February (the day they joined) and March
    }
    by_name = {row.member.resident.name: row for row in found.attendance}
    assert by_name["王建国"].share.percent == 67
    assert by_name["李四"].share.percent == 100
    assert figures_of(manan).attendance == []  # only asked for on a community's dashboard


def test_a_member_with_no_meeting_while_on_the_council_has_no_rate(manan, manan_staff):
    newcomer = factories.council_member(manan, joined_on=dt.date(2025, 3, 20))
    held(manan, local(2025, 3, 10, 15), manan_staff)

    found = figures_of(manan, with_attendance=True)

    row = next(row for row in found.attendance if row.member == newcomer)
    assert (row.attended, row.eligible, row.share.percent) == (0, 0, None)


# --- The street's departments --------------------------------------------------------------------


def test_departments_assigned_handled_overdue_and_median(
    manan, xingfu, nanen, beishan, chengbei, nanen_admin, other_admin
):
    city = factories.department(nanen, "城市管理和综合执法局")
    housing = factories.department(nanen, "住房和城乡建设局")
    factories.department(nanen, "水务局")
    elsewhere = factories.department(chengbei, "城北城管")

    def escalation(community, department, decided, *, state, deadline=None, handled=None):
        raised_by = other_admin if community == beishan else nanen_admin
        factories.escalation(
            issue=reported(community, local(2025, 1, 2)),
            street=community.street,
            reason="需要街道协调",
            raised_by=raised_by,
            state=state,
            department=department,
            deadline=deadline,
            decided_by=raised_by,
            decided_at=decided,
            handled_at=handled,
        )

    accepted = "accepted"
    escalation(manan, city, local(2025, 1, 10, 9), state="confirmed", handled=local(2025, 1, 12, 9))
    # Handled after its deadline, but handled: not overdue.
    escalation(
        xingfu, city, local(2025, 2, 1, 9), state="handled", deadline=dt.date(2025, 2, 3),
        handled=local(2025, 2, 6, 9),
    )  # fmt: skip
    # Assigned at midnight of 1 March (28 February in UTC), past its deadline today.
    escalation(manan, city, local(2025, 3, 1), state=accepted, deadline=dt.date(2025, 3, 20))
    # Assigned before the period.
    escalation(manan, city, local(2024, 12, 31, 23), state=accepted, deadline=dt.date(2025, 1, 5))
    escalation(manan, housing, local(2025, 3, 5), state=accepted, deadline=dt.date(2025, 5, 1))
    escalation(manan, housing, local(2025, 3, 6), state=accepted, deadline=TODAY)  # due today
    escalation(xingfu, None, local(2025, 3, 7), state="returned")  # returned: no department
    escalation(xingfu, None, None, state="pending")
    escalation(beishan, elsewhere, local(2025, 2, 1), state=accepted, deadline=dt.date(2025, 2, 5))

    found = figures_of(manan, xingfu, street=nanen)

    shown = {
        row.department.name: (row.assigned, row.handled, row.overdue, row.median_days)
        for row in found.departments
    }
    assert shown == {
        "城市管理和综合执法局": (3, 2, 1, 3.5),  # handled after 2 and 5 days
        "住房和城乡建设局": (2, 0, 0, None),
        "水务局": (0, 0, 0, None),
    }
    assert figures_of(manan, xingfu).departments == []


# --- Sorting the street's comparison -------------------------------------------------------------


def comparison_row(
    name: str, *, collected=0, median=None, reviewed=(0, 0), satisfied=(0, 0), held=0
):
    issues = IssueFigures(collected=collected, median_days=median)
    issues.reviews.update(any=reviewed[1], reviewed=reviewed[0])
    issues.reviews.update(rated=satisfied[1], satisfied=satisfied[0])
    return CommunityRow(Community(name=name), issues, MeetingFigures(held=held))


def names(rows) -> list[str]:
    return [r.community.name for r in rows]


@pytest.fixture
def comparison():
    return [
        comparison_row(
            "c社区", collected=5, median=None, reviewed=(1, 2), satisfied=(0, 0), held=1
        ),
        comparison_row("a社区", collected=9, median=3.5, reviewed=(0, 0), satisfied=(3, 4), held=2),
        comparison_row(
            "d社区", collected=1, median=12.0, reviewed=(3, 3), satisfied=(1, 4), held=0
        ),
        comparison_row("b社区", collected=7, median=0.5, reviewed=(1, 4), satisfied=(0, 0), held=3),
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["a社区", "b社区", "c社区", "d社区"]),
        ("-name", ["d社区", "c社区", "b社区", "a社区"]),
        ("collected", ["d社区", "c社区", "b社区", "a社区"]),
        ("-collected", ["a社区", "b社区", "c社区", "d社区"]),
        ("meetings", ["d社区", "c社区", "a社区", "b社区"]),
        ("-meetings", ["b社区", "a社区", "c社区", "d社区"]),
        # No figure (no resolution, no review, no rating): last, whichever the direction.
        ("median", ["b社区", "a社区", "d社区", "c社区"]),
        ("-median", ["d社区", "a社区", "b社区", "c社区"]),
        ("reviewed", ["b社区", "c社区", "d社区", "a社区"]),
        ("-reviewed", ["d社区", "c社区", "b社区", "a社区"]),
        ("satisfied", ["d社区", "a社区", "c社区", "b社区"]),
        ("-satisfied", ["a社区", "d社区", "c社区", "b社区"]),
    ],
)
def test_sorted_rows(comparison, sort, expected):
    ordered, applied = dashboard.sorted_rows(comparison, sort)

    assert names(ordered) == expected
    assert applied == sort


def test_an_unknown_sort_is_by_name(comparison):
    for sort in ("", "population", "-population", "community__name"):
        ordered, applied = dashboard.sorted_rows(comparison, sort)
        assert (names(ordered), applied) == (["a社区", "b社区", "c社区", "d社区"], "name")


def test_ties_keep_the_order_the_rows_came_in_by_name():
    tied = [comparison_row(name, collected=2) for name in ("a社区", "b社区", "c社区")]

    assert names(dashboard.sorted_rows(tied, "collected")[0]) == ["a社区", "b社区", "c社区"]
    assert names(dashboard.sorted_rows(tied, "-collected")[0]) == ["a社区", "b社区", "c社区"]


# --- Who may see a dashboard ---------------------------------------------------------------------


def test_who_may_see_a_communitys_dashboard(
    manan, xingfu, manan_staff, xingfu_staff, nanen_admin, manan_member, manan_leader_term
):
    from issues.permissions import may_use_inbox as has_inbox
    from reports.permissions import may_see_community_dashboard as can_see_dashboard

    def council_account(username: str, **fields):
        account = factories.user(username)
        member = factories.council_member(manan, **fields)
        factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=member)
        return account

    deputy = council_account("deputy", role=CouncilMember.Role.DEPUTY)
    member = council_account("member", role=CouncilMember.Role.MEMBER)
    former = council_account("former", role=CouncilMember.Role.LEADER, left_on=dt.date(2025, 1, 1))

    assert can_see_dashboard(manan_staff, manan) and has_inbox(manan_staff)
    assert can_see_dashboard(nanen_admin, manan) and has_inbox(nanen_admin)
    assert can_see_dashboard(manan_member, manan) and not has_inbox(manan_member)
    assert can_see_dashboard(deputy, manan)
    assert not can_see_dashboard(member, manan)
    assert not can_see_dashboard(former, manan)
    assert not can_see_dashboard(xingfu_staff, manan)
    assert not can_see_dashboard(manan_member, xingfu)
