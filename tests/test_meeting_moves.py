"""Meetings moved off days off by their schedule, and moved by staff by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from deliberation.actions import materialise, moving, schedules
from deliberation.actions.base import ActionError
from deliberation.models import Meeting
from members.models import Notice
from tests import factories
from tests.helpers.clock import local

pytestmark = pytest.mark.django_db


def starts(council) -> list[tuple[dt.datetime, dt.datetime | None]]:
    return list(
        Meeting.objects.filter(council=council, state="scheduled")
        .order_by("starts_at")
        .values_list("starts_at", "planned_at")
    )


def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- Materialising around Spring Festival ------------------------------------------------


def test_spring_festival_meetings_move_and_are_created_once(manan, clock):
    clock.move_to(local(2026, 2, 1, 9))
    factories.schedule(manan, month_days=[8, 18, 28], notice_days=3)
    assert materialise.meetings_materialise(today=dt.date(2026, 2, 1), horizon_days=38) == 4
    assert starts(manan.council) == [
        (local(2026, 2, 9, 15), local(2026, 2, 8, 15)),  # a Sunday
        (local(2026, 2, 24, 15), local(2026, 2, 18, 15)),  # Spring Festival
        (local(2026, 2, 28, 15), None),  # a make-up working Saturday
        (local(2026, 3, 9, 15), local(2026, 3, 8, 15)),
    ]
    moved = Meeting.objects.get(starts_at=local(2026, 2, 24, 15))
    assert moved.notice_due_at == local(2026, 2, 21, 15)
    assert moved.move_reason == ""
    assert materialise.meetings_materialise(today=dt.date(2026, 2, 1), horizon_days=38) == 0
    assert materialise.meetings_materialise(today=dt.date(2026, 2, 10), horizon_days=30) == 0


def test_a_meeting_moved_by_hand_is_not_created_again_in_its_slot(manan, manan_staff, clock):
    clock.move_to(local(2026, 2, 1, 9))
    schedule = factories.schedule(manan, month_days=[8, 18, 28], notice_days=3)
    materialise.meetings_materialise(today=dt.date(2026, 2, 1), horizon_days=38)
    meeting = Meeting.objects.get(starts_at=local(2026, 2, 24, 15))
    moving.meeting_move(
        meeting=meeting, to=local(2026, 2, 25, 9), reason="议事点在装修", actor=manan_staff
    )
    meeting.refresh_from_db()
    assert (meeting.starts_at, meeting.planned_at) == (
        local(2026, 2, 25, 9),
        local(2026, 2, 18, 15),
    )
    assert materialise.meetings_materialise(today=dt.date(2026, 2, 1), horizon_days=38) == 0
    assert not Meeting.objects.filter(starts_at=local(2026, 2, 24, 15)).exists()
    # A schedule edit that keeps the slot keeps the meeting where staff put it.
    schedules.schedule_save(actor=manan_staff, council=manan.council, schedule=schedule,
                            place="活动室")  # fmt: skip
    meeting.refresh_from_db()
    assert (meeting.state, meeting.starts_at) == ("scheduled", local(2026, 2, 25, 9))
    assert Meeting.objects.filter(council=manan.council, state="scheduled").count() == 4


def test_a_meeting_made_on_the_slot_before_it_became_a_day_off_holds_it(manan, clock):
    """One made before the holidays were known stays the slot's one meeting (staff move it);
    one a schedule change cancelled does not hold the slot."""
    clock.move_to(local(2026, 2, 1, 9))
    schedule = factories.schedule(manan, month_days=[18])
    factories.meeting(manan, local(2026, 2, 18, 15), schedule=schedule)
    assert materialise.meetings_materialise(today=dt.date(2026, 2, 1), horizon_days=30) == 0
    Meeting.objects.filter(council=manan.council).update(state="cancelled")
    assert materialise.meetings_materialise(today=dt.date(2026, 2, 1), horizon_days=30) == 1
    assert starts(manan.council) == [(local(2026, 2, 24, 15), local(2026, 2, 18, 15))]


def test_a_council_moving_to_the_previous_working_day(manan, manan_staff, clock):
    clock.move_to(local(2026, 9, 20, 9))
    factories.schedule(manan, month_days=[1, 8], on_day_off="previous")
    materialise.meetings_materialise(today=dt.date(2026, 9, 20), horizon_days=25)
    assert starts(manan.council) == [
        (local(2026, 9, 30, 15), local(2026, 10, 1, 15)),
        (local(2026, 10, 8, 15), None),
    ]


# --- Moving by hand ----------------------------------------------------------------------


@pytest.fixture
def announced(manan, manan_member):
    """A meeting on 2026-12-08 15:00, its notice sent, its reminder sent too."""
    meeting = factories.meeting(manan, local(2026, 12, 8, 15))
    Meeting.objects.filter(pk=meeting.pk).update(
        notice_sent_at=timezone.now(), reminder_sent_at=timezone.now()
    )
    meeting.refresh_from_db()
    return meeting


def test_moving_an_announced_meeting_tells_each_member_once(announced, manan_staff,
                                                            manan_member):  # fmt: skip
    moved = moving.meeting_move(
        meeting=announced, to=local(2026, 12, 9, 9, 30), reason="议事点停电", actor=manan_staff
    )
    assert (moved.starts_at, moved.planned_at) == (
        local(2026, 12, 9, 9, 30),
        local(2026, 12, 8, 15),
    )
    assert moved.notice_due_at == local(2026, 12, 6, 9, 30)
    assert moved.reminder_sent_at is None  # the morning reminder goes out on the new day
    assert moved.move_reason == "议事点停电"
    told = Notice.objects.filter(kind="meeting_moved")
    assert list(told.values_list("recipient__username", "channel")) == [("manan_member", "inapp")]
    notice = told.get()
    assert notice.context["before"] == "2026-12-08 15:00"
    assert notice.context["when"] == "2026-12-09 09:30"
    assert notice.context["reason"] == "议事点停电"

    # The same move again is refused and tells nobody twice.
    with pytest.raises(ActionError):
        moving.meeting_move(meeting=announced, to=local(2026, 12, 9, 9, 30), reason="再改",
                            actor=manan_staff)  # fmt: skip
    assert told.count() == 1
    # A second move keeps the slot the schedule gave, and tells again.
    again = moving.meeting_move(
        meeting=announced, to=local(2026, 12, 10, 15), reason="改到周四", actor=manan_staff
    )
    assert again.planned_at == local(2026, 12, 8, 15)
    assert told.count() == 2


def test_moving_a_meeting_not_announced_tells_nobody(manan, manan_staff, manan_member):
    meeting = factories.meeting(manan, local(2026, 12, 28, 15))
    moving.meeting_move(meeting=meeting, to=local(2026, 12, 29, 15), reason="元旦前调整",
                        actor=manan_staff)  # fmt: skip
    assert not Notice.objects.filter(kind="meeting_moved").exists()
    assert Meeting.objects.get(pk=meeting.pk).notice_due_at == local(2026, 12, 26, 15)


@pytest.mark.parametrize(
    ("to", "reason", "state"),
    [
        (local(2026, 11, 17, 15), "太晚了", "scheduled"),  # the past
        (local(2026, 12, 9, 15), "  ", "scheduled"),  # no reason
        (local(2026, 12, 9, 15), "取消后", "cancelled"),
    ],
)
def test_moves_the_rules_refuse(manan, manan_staff, to, reason, state):
    meeting = factories.meeting(manan, local(2026, 12, 8, 15), state=state)
    with pytest.raises(ActionError):
        moving.meeting_move(meeting=meeting, to=to, reason=reason, actor=manan_staff)
    meeting.refresh_from_db()
    assert (meeting.starts_at, meeting.planned_at, meeting.move_reason) == (
        local(2026, 12, 8, 15), None, "",
    )  # fmt: skip


def test_a_move_onto_another_meeting_of_the_council_is_refused(manan, manan_staff):
    meeting = factories.meeting(manan, local(2026, 12, 8, 15))
    factories.meeting(manan, local(2026, 12, 18, 15))
    with pytest.raises(ActionError):
        moving.meeting_move(meeting=meeting, to=local(2026, 12, 18, 15), reason="合并",
                            actor=manan_staff)  # fmt: skip


# --- The page ----------------------------------------------------------------------------


def move_url(meeting) -> str:
    return reverse("meetings:move", args=[meeting.pk])


def test_staff_move_a_meeting_from_its_page(as_user, announced, manan_staff, manan_member):
    client = in_english(as_user(manan_staff))
    page = client.get(reverse("meetings:detail", args=[announced.pk]))
    assert "Move the meeting" in page.text
    response = client.post(
        move_url(announced),
        {"move-date": "2026-12-09", "move-time": "09:30", "move-reason": "议事点停电"},
    )
    assert response.status_code == 302
    page = client.get(reverse("meetings:detail", args=[announced.pk]))
    assert "Moved from 2026-12-08 15:00: 议事点停电" in page.text
    assert "2026-12-09 09:30" in page.text
    assert Notice.objects.filter(kind="meeting_moved", channel="inapp").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"move-date": "2026-12-09", "move-time": "09:30", "move-reason": ""},
         "Give the reason for moving the meeting."),
        ({"move-date": "2026-11-01", "move-time": "09:30", "move-reason": "议事点停电"},
         "Choose a day and time that are still to come."),
        ({"move-date": "12/09", "move-time": "09:30", "move-reason": "议事点停电"},
         "Enter the date as year-month-day, such as 2026-10-08."),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_the_typed_values_kept(as_user, announced, manan_staff, data,
                                                        message):  # fmt: skip
    response = in_english(as_user(manan_staff)).post(move_url(announced), data)
    assert response.status_code == 422
    assert message in response.text
    for value in data.values():
        if value:
            assert f'value="{value}"' in response.text or f"{value}</textarea>" in response.text
    announced.refresh_from_db()
    assert (announced.starts_at, announced.planned_at) == (local(2026, 12, 8, 15), None)
    assert not Notice.objects.filter(kind="meeting_moved").exists()


def test_a_refusal_of_the_rules_keeps_the_form(as_user, manan, announced, manan_staff):
    factories.meeting(manan, local(2026, 12, 18, 15))
    response = in_english(as_user(manan_staff)).post(
        move_url(announced),
        {"move-date": "2026-12-18", "move-time": "15:00", "move-reason": "合并"},
    )
    assert response.status_code == 422
    assert "The council already has a meeting at that time." in response.text
    assert "合并</textarea>" in response.text


def test_the_page_in_chinese(as_user, announced, manan_staff):
    client = as_user(manan_staff)
    client.post(
        move_url(announced),
        {"move-date": "2026-12-09", "move-time": "09:30", "move-reason": "议事点停电"},
    )
    page = client.get(reverse("meetings:detail", args=[announced.pk]))
    assert "原定 2026-12-08 15:00，调整原因：议事点停电" in page.text
    assert "调整会议时间" in page.text


def test_a_member_may_not_move_a_meeting(as_user, announced, manan_member):
    response = as_user(manan_member).post(
        move_url(announced),
        {"move-date": "2026-12-09", "move-time": "09:30", "move-reason": "想改"},
    )
    assert response.status_code == 403
    announced.refresh_from_db()
    assert announced.starts_at == local(2026, 12, 8, 15)


def test_a_meeting_moved_by_its_schedule_says_why_on_its_page(as_user, manan, manan_staff,
                                                              clock):  # fmt: skip
    clock.move_to(local(2026, 2, 1, 9))
    factories.schedule(manan, month_days=[18])
    materialise.meetings_materialise(today=dt.date(2026, 2, 1), horizon_days=30)
    meeting = Meeting.objects.get(council=manan.council)
    page = in_english(as_user(manan_staff)).get(reverse("meetings:detail", args=[meeting.pk]))
    assert "Moved from 2026-02-18 (Spring Festival)." in page.text


def test_a_member_sees_on_their_list_that_a_meeting_moved(as_user, announced, manan_staff,
                                                          manan_member):  # fmt: skip
    moving.meeting_move(meeting=announced, to=local(2026, 12, 9, 9, 30), reason="议事点停电",
                        actor=manan_staff)  # fmt: skip
    page = as_user(manan_member).get(reverse("meetings:mine")).text
    assert "原定 2026-12-08 15:00，已调整。" in page
    assert "2026-12-09" in page


# --- The schedules saved before holidays were known ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_weekend_flag_becomes_the_day_off_rule():
    """Schedules that moved weekend meetings to Monday move days off to the next working
    day; those that kept weekend dates keep every date."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from deliberation.models import Schedule

    executor = MigrationExecutor(connection)
    executor.migrate([("deliberation", "0012_meeting_guests")])
    apps = executor.loader.project_state([("deliberation", "0012_meeting_guests")]).apps
    street = apps.get_model("members", "Street").objects.create(name="南恩街道")
    councils = []
    for name in ("马南社区", "幸福村社区"):
        community = apps.get_model("members", "Community").objects.create(name=name, street=street)
        councils.append(
            apps.get_model("members", "Council").objects.create(community=community, name=name)
        )
    old = apps.get_model("deliberation", "Schedule")
    moving_on = old.objects.create(council=councils[0], move_weekend_to_monday=True)
    keeping = old.objects.create(council=councils[1], move_weekend_to_monday=False)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Schedule.objects.get(pk=moving_on.pk).on_day_off == "next"
    assert Schedule.objects.get(pk=keeping.pk).on_day_off == "keep"
