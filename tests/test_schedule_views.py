"""Staff keep their council's meeting schedules; editing one moves its open meetings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from deliberation.actions import materialise, schedules
from deliberation.actions.base import ActionError
from deliberation.models import Meeting, Schedule
from members.models import Notice
from tests import factories
from tests.helpers.clock import local


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_english(client):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def form_data(**fields) -> dict:
    data = {
        "kind": "monthly",
        "month_days": "8,18,28",
        "weekday": "",
        "start_time": "15:00",
        "place": "社区居民议事点",
        "notice_days": "3",
        "on_day_off": "next",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def list_url(community):
    return reverse("schedules:list", args=[community.pk])


def create_url(community):
    return reverse("schedules:create", args=[community.pk])


def edit_url(schedule):
    return reverse("schedules:edit", args=[schedule.council.community_id, schedule.pk])


def deactivate_url(schedule):
    return reverse("schedules:deactivate", args=[schedule.council.community_id, schedule.pk])


# --- Happy paths ---------------------------------------------------------------------------


def test_staff_see_the_next_five_dates(as_user, manan, manan_staff):
    factories.schedule(manan, month_days=[8, 18, 28])
    response = in_english(as_user(manan_staff)).get(list_url(manan))
    assert response.status_code == 200
    ((_schedule, rows, _weekday),) = response.context["rows"]
    dates = [when for when, _day in rows]
    assert len(dates) == 5
    assert all(timezone.localtime(d).date() >= timezone.localdate() for d in dates)
    assert dates == sorted(dates)
    assert f"{timezone.localtime(dates[0]):%Y-%m-%d}" in response.text
    assert "Add a schedule" in response.text


def test_staff_add_a_weekly_schedule_and_its_meetings_appear(as_user, manan, manan_staff):
    response = as_user(manan_staff).post(
        create_url(manan),
        form_data(kind="weekly", weekday="2", month_days="", place=" 活动室 ", notice_days="2"),
    )
    assert response.status_code == 302
    schedule = Schedule.objects.get(council=manan.council)
    assert (schedule.kind, schedule.weekday, schedule.month_days) == ("weekly", 2, [])
    assert (schedule.place, schedule.notice_days) == ("活动室", 2)
    meetings = Meeting.objects.filter(schedule=schedule)
    assert meetings.count() >= 5
    assert {timezone.localtime(m.starts_at).weekday() for m in meetings} == {2}


def test_staff_edit_a_schedule_with_chinese_commas(as_user, manan, manan_staff):
    schedule = factories.schedule(manan)
    response = as_user(manan_staff).post(
        edit_url(schedule), form_data(month_days="5，15、25", start_time="09:30")
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.month_days == [5, 15, 25]
    assert schedule.start_time == dt.time(9, 30)


def test_the_edit_form_shows_the_stored_values(as_user, manan, manan_staff):
    schedule = factories.schedule(manan, month_days=[3, 13])
    response = as_user(manan_staff).get(edit_url(schedule))
    assert response.status_code == 200
    assert 'value="3,13"' in response.text


def test_staff_deactivate_a_schedule_and_its_open_meetings_are_cancelled(
    as_user, manan, manan_staff, manan_member
):
    schedule = factories.schedule(manan)
    materialise.meetings_materialise(today=timezone.localdate())
    open_ids = set(Meeting.objects.filter(schedule=schedule).values_list("pk", flat=True))
    assert open_ids
    response = as_user(manan_staff).post(deactivate_url(schedule))
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert not schedule.is_active
    assert (
        set(Meeting.objects.filter(pk__in=open_ids, state="cancelled").values_list("pk", flat=True))
        == open_ids
    )
    assert Notice.objects.filter(
        kind="meeting_cancelled", recipient=manan_member, channel="inapp"
    ).count() == len(open_ids)
    # A second press changes nothing and says so.
    again = in_english(as_user(manan_staff)).post(deactivate_url(schedule), follow=True)
    assert "already out of use" in again.text


# --- Refused input -------------------------------------------------------------------------


BAD_INPUT = [
    ({"month_days": ""}, "Choose at least one day of the month."),
    ({"month_days": "0"}, "0 is not a day of the month"),
    ({"month_days": "32"}, "32 is not a day of the month"),
    ({"month_days": "8,18,8"}, "Day 8 is listed more than once."),
    ({"month_days": "8,x"}, "is not a day of the month"),
    ({"kind": "weekly", "weekday": ""}, "Choose a day of the week."),
    ({"notice_days": "31"}, "less than or equal to 30"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUT)
def test_bad_input_on_add_is_refused_kept_and_writes_nothing(
    as_user, manan, manan_staff, fields, message
):
    data = form_data(**fields)
    response = in_english(as_user(manan_staff)).post(create_url(manan), data)
    assert response.status_code == 422
    assert message in response.text
    if data["month_days"]:
        assert f'value="{data["month_days"]}"' in response.text  # what was typed stays
    assert not Schedule.objects.exists()
    assert not Meeting.objects.exists()


@pytest.mark.parametrize(("fields", "message"), BAD_INPUT)
def test_bad_input_on_edit_is_refused_and_changes_nothing(
    as_user, manan, manan_staff, fields, message
):
    schedule = factories.schedule(manan)
    materialise.meetings_materialise(today=timezone.localdate())
    before = list(Meeting.objects.values_list("pk", "state", "starts_at"))
    response = in_english(as_user(manan_staff)).post(edit_url(schedule), form_data(**fields))
    assert response.status_code == 422
    assert message in response.text
    schedule.refresh_from_db()
    assert (schedule.kind, schedule.month_days, schedule.notice_days) == ("monthly", [8, 18, 28], 3)
    assert list(Meeting.objects.values_list("pk", "state", "starts_at")) == before
    assert not Notice.objects.filter(kind="meeting_cancelled").exists()


def test_the_action_refuses_what_the_form_would(manan, manan_staff):
    with pytest.raises(ActionError, match="more than once"):
        schedules.schedule_save(actor=manan_staff, council=manan.council, month_days=[8, 8])
    with pytest.raises(ActionError, match="0 to 30"):
        schedules.schedule_save(actor=manan_staff, council=manan.council, notice_days=31)
    assert not Schedule.objects.exists()


# --- Editing moves the open meetings -------------------------------------------------------


def test_editing_cancels_removed_meetings_creates_new_ones_and_notifies_once(
    as_user, manan, manan_staff, manan_member
):
    schedule = factories.schedule(manan, month_days=[8, 18, 28], on_day_off="keep")
    today = timezone.localdate()
    materialise.meetings_materialise(today=today)
    now = timezone.now()
    old = list(Meeting.objects.filter(schedule=schedule, starts_at__gt=now))
    assert old
    # One meeting already announced: it stays whatever the schedule says.
    announced = old[0]
    Meeting.objects.filter(pk=announced.pk).update(notice_sent_at=now)
    # A past meeting is history and stays too.
    past = Meeting.objects.create(
        council=manan.council,
        schedule=schedule,
        starts_at=now - dt.timedelta(days=3),
        notice_due_at=now - dt.timedelta(days=6),
    )

    client = as_user(manan_staff)
    data = form_data(month_days="5,15,25", on_day_off="keep")
    assert client.post(edit_url(schedule), data).status_code == 302

    removed = {m.pk for m in old} - {announced.pk}
    assert (
        set(Meeting.objects.filter(pk__in=removed, state="cancelled").values_list("pk", flat=True))
        == removed
    )
    assert Meeting.objects.get(pk=announced.pk).state == "scheduled"
    assert Meeting.objects.get(pk=past.pk).state == "scheduled"
    new_days = {
        timezone.localtime(m.starts_at).day
        for m in Meeting.objects.filter(
            schedule=schedule, state="scheduled", starts_at__gt=now
        ).exclude(pk=announced.pk)
    }
    assert new_days and new_days <= {5, 15, 25}
    notices = Notice.objects.filter(kind="meeting_cancelled", recipient=manan_member)
    assert notices.filter(channel="inapp").count() == len(removed)
    assert not Notice.objects.filter(kind="meeting_cancelled").exclude(recipient=manan_member)
    count = notices.count()

    # Saving again changes nothing and tells nobody twice.
    assert client.post(edit_url(schedule), data).status_code == 302
    assert notices.count() == count


def test_a_meeting_another_schedule_still_wants_is_not_cancelled(manan, manan_staff):
    first = factories.schedule(manan, month_days=[8, 18, 28], on_day_off="keep")
    factories.schedule(manan, month_days=[8], on_day_off="keep")
    materialise.meetings_materialise(today=timezone.localdate())
    schedules.schedule_save(
        actor=manan_staff, council=manan.council, schedule=first, month_days=[18]
    )
    eighth = [
        m
        for m in Meeting.objects.filter(council=manan.council, starts_at__gt=timezone.now())
        if timezone.localtime(m.starts_at).day == 8
    ]
    assert eighth and all(m.state == "scheduled" for m in eighth)


# --- Who may do what -----------------------------------------------------------------------


def urls_of(schedule):
    community = schedule.council.community
    return [
        list_url(community),
        create_url(community),
        edit_url(schedule),
        deactivate_url(schedule),
    ]


@pytest.mark.outsider(
    "schedules:list", "schedules:create", "schedules:edit", "schedules:deactivate"
)
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin", "city_handler"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_get_404_on_every_url(request, as_user, manan, outsider, htmx):
    schedule = factories.schedule(manan)
    client = as_user(request.getfixturevalue(outsider))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for url in urls_of(schedule):
        for method in ("get", "post"):
            response = getattr(client, method)(url, form_data(month_days="1"), **headers)
            assert response.status_code == 404, (outsider, method, url, response.status_code)
    schedule.refresh_from_db()
    assert schedule.is_active and schedule.month_days == [8, 18, 28]
    assert Schedule.objects.count() == 1 and not Meeting.objects.exists()


@pytest.mark.outsider("schedules:edit", "schedules:deactivate")
def test_a_schedule_of_another_community_is_404_to_staff(as_user, manan, xingfu, manan_staff):
    foreign = factories.schedule(xingfu)
    client = as_user(manan_staff)
    for url in (
        reverse("schedules:edit", args=[manan.pk, foreign.pk]),
        reverse("schedules:deactivate", args=[manan.pk, foreign.pk]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, form_data()).status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active


@pytest.mark.parametrize("viewer", ["manan_member", "nanen_admin"])
def test_members_and_street_admins_may_look_but_not_change(request, as_user, manan, viewer):
    schedule = factories.schedule(manan)
    client = in_english(as_user(request.getfixturevalue(viewer)))
    response = client.get(list_url(manan))
    assert response.status_code == 200
    assert "Add a schedule" not in response.text
    assert "Stop using" not in response.text
    list_, create, edit, deactivate = urls_of(schedule)
    for url in (list_, create, edit, deactivate):
        assert client.post(url, form_data(month_days="1")).status_code == 403
    for url in (create, edit):
        assert client.get(url).status_code == 403
    schedule.refresh_from_db()
    assert schedule.is_active and schedule.month_days == [8, 18, 28]
    assert Schedule.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client, manan):
    schedule = factories.schedule(manan)
    for url in urls_of(schedule):
        assert client.get(url).status_code == 302


# --- Queries -------------------------------------------------------------------------------

LIST_QUERIES = 6


@pytest.mark.parametrize("count", [1, 5])
def test_the_list_page_takes_a_fixed_number_of_queries(as_user, manan, manan_staff, count):
    for offset in range(count):
        factories.schedule(manan, kind="weekly", weekday=offset % 7, month_days=[])
    client = as_user(manan_staff)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(list_url(manan))
    assert response.status_code == 200
    assert len(response.context["rows"]) == count
    assert len(queries) == LIST_QUERIES, [q["sql"] for q in queries.captured_queries]


# --- China's holidays on the schedule page -------------------------------------------------


def test_the_page_shows_which_dates_moved_for_spring_festival(as_user, manan, manan_staff,
                                                              clock):  # fmt: skip
    clock.move_to(local(2026, 2, 10, 9))
    factories.schedule(manan, month_days=[8, 18, 28])
    client = as_user(manan_staff)
    page = in_english(client).get(list_url(manan)).text
    assert "2026-02-24" in page
    assert "moved from 02-18 (Spring Festival)" in page
    assert "make-up working day" in page  # Saturday Feb 28 stays
    assert "moved from 03-08 (Sun)" in page
    assert "not published yet" not in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(list_url(manan)).text
    assert "原定 02-18（春节），已调整" in page
    assert "调休上班日" in page


def test_a_quarterly_council_meets_after_the_national_day_week(as_user, manan, manan_staff,
                                                               clock):  # fmt: skip
    clock.move_to(local(2026, 9, 20, 9))
    factories.schedule(manan, kind="quarterly", month_days=[])
    page = in_english(as_user(manan_staff)).get(list_url(manan)).text
    assert "2026-10-08" in page
    assert "moved from 10-01 (National Day)" in page


def test_a_year_without_published_holidays_is_flagged_not_guessed(as_user, manan, manan_staff,
                                                                  clock):  # fmt: skip
    clock.move_to(local(2026, 12, 20, 9))
    factories.schedule(manan, month_days=[8, 18, 28])
    client = as_user(manan_staff)
    page = in_english(client).get(list_url(manan)).text
    assert "The official holidays of 2027 are not published yet" in page
    assert "only" in page and "weekends" in page
    assert "holidays not yet published" in page
    # Sunday 2027-01-03 is only known as a Sunday.
    assert "2026-12-28" in page and "2027-01-08" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(list_url(manan)).text
    assert "2027 年的法定节假日安排尚未公布" in page


def test_no_warning_while_every_date_is_in_a_published_year(as_user, manan, manan_staff):
    factories.schedule(manan, month_days=[8, 18, 28])  # today is 2026-11-18
    page = in_english(as_user(manan_staff)).get(list_url(manan)).text
    assert "not published yet" not in page
