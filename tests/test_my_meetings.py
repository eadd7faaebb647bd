"""A council member's own meetings on their phone: what is coming, where they were."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from deliberation.actions import closing
from deliberation.models import AgendaItem, Attendance, Meeting
from members.models import CouncilMember, Role
from tests import factories


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def make_meeting(community, starts_at: dt.datetime, **fields) -> Meeting:
    fields.setdefault("place", "社区居民议事点")
    return Meeting.objects.create(
        council=community.council,
        starts_at=starts_at,
        notice_due_at=starts_at - dt.timedelta(days=3),
        **fields,
    )


def local(days: int, hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def later_today() -> dt.datetime:
    """A time later today, whatever the hour the tests run at."""
    now = timezone.localtime()
    end_of_day = now.replace(hour=23, minute=59, second=0, microsecond=0)
    return min(now + dt.timedelta(minutes=30), end_of_day)


MINE = reverse("meetings:mine")


def test_a_member_sees_their_coming_and_past_meetings(
    manan, xingfu, manan_member, manan_leader_term, manan_staff, as_user
):
    past_held = make_meeting(manan, local(-10, 15))
    past_missed = make_meeting(manan, local(-20, 15))
    before_joining = make_meeting(manan, dt.datetime(2023, 6, 8, 15, tzinfo=dt.UTC))
    coming = make_meeting(manan, local(5, 9), place="活动室")
    called_off = make_meeting(manan, local(8, 15))
    closing.meeting_cancel(meeting=called_off, actor=manan_staff, reason="台风")
    foreign = make_meeting(xingfu, local(5, 10))
    AgendaItem.objects.create(meeting=coming, topic="卫生", kind="topic", position=0)
    AgendaItem.objects.create(
        meeting=coming, topic="旧议题", kind="topic", position=1, removed_at=timezone.now()
    )
    Attendance.objects.create(
        meeting=past_held,
        member=manan_leader_term,
        signed_in_at=past_held.starts_at,
        how="self",
        recorded_by=manan_member,
    )
    response = in_english(as_user(manan_member)).get(MINE)
    assert response.status_code == 200
    assert response.context["upcoming"] == [coming]
    assert response.context["held"] == [past_held, past_missed]
    assert response.context["cancelled"] == [called_off]
    assert before_joining not in response.context["held"]
    assert foreign not in response.context["upcoming"]
    html = " ".join(response.content.decode().split())
    assert "活动室" in html
    assert "1 item on the agenda" in html  # the removed one does not count
    assert "Cancelled — this meeting will not take place" in html
    assert "Reason: 台风" in html
    assert "You attended." in html and "You were not signed in." in html
    opens = timezone.localtime(coming.starts_at - dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    assert f"Not signed in. You can sign in here from {opens}." in html
    assert reverse("meetings:mine_sign_in", args=[coming.pk]) not in html


def test_on_the_day_a_big_button_signs_the_member_in(
    manan, manan_member, manan_leader_term, as_user
):
    today = make_meeting(manan, later_today())
    client = in_english(as_user(manan_member))
    url = reverse("meetings:mine_sign_in", args=[today.pk])
    page = client.get(MINE).content.decode()
    assert url in page and "Sign me in" in page
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="card my-meeting" id="my-meeting-{today.pk}"')
    assert "You signed in at" in html
    attendance = Attendance.objects.get()
    assert (attendance.member, attendance.how) == (manan_leader_term, "self")
    again = client.post(url, HTTP_HX_REQUEST="true")
    assert "王建国 is already signed in." in again.content.decode()
    assert Attendance.objects.count() == 1
    assert "You signed in at" in client.get(MINE).content.decode()


def test_the_plain_sign_in_goes_back_to_the_list(manan, manan_member, as_user):
    today = make_meeting(manan, later_today())
    response = in_english(as_user(manan_member)).post(
        reverse("meetings:mine_sign_in", args=[today.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == MINE
    assert Attendance.objects.count() == 1


def test_a_closed_meeting_takes_no_sign_in(manan, manan_member, manan_staff, as_user):
    started = make_meeting(manan, timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5))
    closing.meeting_close(meeting=started, actor=manan_staff)
    client = in_english(as_user(manan_member))
    url = reverse("meetings:mine_sign_in", args=[started.pk])
    assert url not in client.get(MINE).content.decode()
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert "signing in is over" in response.content.decode()
    assert not Attendance.objects.exists()


def test_a_meeting_held_today_is_listed_as_held_not_as_coming_up(
    manan, manan_member, manan_staff, as_user
):
    held_today = make_meeting(
        manan, timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    )
    closing.meeting_close(meeting=held_today, actor=manan_staff)
    running_late = make_meeting(manan, local(-1, 15))  # started yesterday, never closed
    coming = make_meeting(manan, local(3, 15))
    called_off = make_meeting(manan, local(-3, 15))
    closing.meeting_cancel(meeting=called_off, actor=manan_staff, reason="停电")
    response = in_english(as_user(manan_member)).get(MINE)
    assert response.context["upcoming"] == [coming]
    assert response.context["held"] == [held_today, running_late]
    assert response.context["cancelled"] == [called_off]
    html = response.content.decode()
    coming_up = html.index('id="my-upcoming-heading"')
    held = html.index('id="my-held-heading"')
    cancelled = html.index('id="my-cancelled-heading"')
    assert coming_up < html.index(f'id="my-meeting-{coming.pk}"') < held
    assert held < html.index(f'id="my-meeting-{held_today.pk}"') < cancelled
    assert held < html.index(f'id="my-meeting-{running_late.pk}"') < cancelled
    assert cancelled < html.index(f'id="my-meeting-{called_off.pk}"')
    assert ">Held<" in html


def test_the_headings_read_in_chinese(manan, manan_member, manan_staff, as_user):
    held_today = make_meeting(
        manan, timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    )
    closing.meeting_close(meeting=held_today, actor=manan_staff)
    client = as_user(manan_member)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with translation.override("zh-hans"):
        html = client.get(MINE).content.decode()
    assert "即将召开" in html and "已召开" in html


@pytest.mark.outsider("meetings:mine_sign_in")
def test_other_councils_meetings_and_non_members_are_refused(
    manan, xingfu, manan_member, manan_staff, xingfu_staff, as_user
):
    foreign = make_meeting(xingfu, later_today())
    ours = make_meeting(manan, later_today())
    member = as_user(manan_member)
    url = reverse("meetings:mine_sign_in", args=[foreign.pk])
    assert member.post(url).status_code == 404
    assert member.post(url, HTTP_HX_REQUEST="true").status_code == 404
    outsider = as_user(xingfu_staff).post(reverse("meetings:mine_sign_in", args=[ours.pk]))
    assert outsider.status_code == 404
    # Staff see the meeting but serve on no council: nobody to sign in.
    staff = as_user(manan_staff)
    assert staff.post(reverse("meetings:mine_sign_in", args=[ours.pk])).status_code == 403
    assert not Attendance.objects.exists()
    page = in_english(staff).get(MINE)
    assert page.status_code == 200
    assert "You do not serve on a council at the moment." in page.content.decode()


def test_a_former_member_no_longer_sees_the_meetings(
    manan, manan_member, manan_leader_term, as_user
):
    make_meeting(manan, local(3, 15))
    CouncilMember.objects.filter(pk=manan_leader_term.pk).update(left_on=dt.date(2025, 1, 1))
    page = as_user(manan_member).get(MINE)
    assert page.context["upcoming"] == [] and page.context["terms"] == []


def test_the_nav_and_the_meeting_list_link_members_to_their_meetings(
    manan_member, manan_staff, as_user
):
    member_page = in_english(as_user(manan_member)).get(reverse("meetings:list"))
    assert member_page.content.decode().count(f'href="{MINE}"') == 2  # nav and list
    staff_page = in_english(as_user(manan_staff)).get(reverse("meetings:list"))
    assert f'href="{MINE}"' not in staff_page.content.decode()


def test_query_count_is_the_same_for_1_and_20_meetings(manan, manan_member, manan_staff, as_user):
    client = as_user(manan_member)
    starts = [local(days, 15) for days in range(1, 11)] + [
        local(-days, 15) for days in range(1, 11)
    ]

    def add(count: int) -> None:
        for index, when in enumerate(starts[Meeting.objects.count() : count]):
            state = ["scheduled", "held", "cancelled"][index % 3] if when < timezone.now() else (
                ["scheduled", "cancelled"][index % 2]
            )  # fmt: skip
            meeting = make_meeting(manan, when, state=state)
            AgendaItem.objects.create(meeting=meeting, topic="卫生", kind="topic")

    def measure() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(MINE).status_code == 200
        return len(captured)

    add(1)
    few = measure()
    add(20)
    many = measure()
    # session, user with its unread notices, roles; terms; from today on; before today
    assert few == many == 6


def test_a_member_of_two_councils_sees_both(manan, xingfu, manan_member, as_user):
    term = factories.council_member(xingfu)
    factories.role(manan_member, Role.Kind.COUNCIL_MEMBER, council_member=term)
    ours, theirs = make_meeting(manan, local(2, 15)), make_meeting(xingfu, local(3, 15))
    page = as_user(manan_member).get(MINE)
    assert page.context["upcoming"] == [ours, theirs]
