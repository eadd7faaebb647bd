"""Matters that become ready after a meeting's notice join it as late items (临时增加)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone, translation

from deliberation.actions import agenda, closing, materialise, minutes, notices, review_items
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Meeting
from deliberation.tasks import materialise_meetings
from issues.actions import handling
from issues.models import FollowUpReview
from members import notifications
from members.models import Notice, Role
from tests import factories

TZ = timezone.get_default_timezone()


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of March 2027, when 马南社区's council meets on the 8th and 18th at 15:00."""
    return dt.datetime(2027, 3, day, hour, minute, tzinfo=TZ)


def awaiting(community, actor, title: str, **fields):
    issue = factories.issue(community, actor=actor, title=title, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


def agenda_of(meeting: Meeting) -> list[tuple[str, bool]]:
    """(title, late) of each item still on the agenda, in order."""
    return [
        (item.issue.title if item.issue_id else item.topic, item.late)
        for item in meeting.agenda_items.filter(removed_at__isnull=True)
        .select_related("issue")
        .order_by("position")
    ]


def late_notices() -> list[tuple[str, str, str]]:
    """(recipient, channel, what the notice says) of every late-items notice."""
    found = []
    for notice in Notice.objects.filter(kind="meeting_late_items").order_by("id"):
        _subject, body = notifications.render(notice)
        found.append((notice.recipient.username, notice.channel, body))
    return found


def second_member(community) -> None:
    term = factories.council_member(community, factories.resident(community, "李秀英"))
    account = factories.user("manan_member_2", display_name="李秀英", phone="13900002222")
    account.notify_by_sms = True
    account.save(update_fields=["notify_by_sms"])
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)


@pytest.fixture
def announced(clock, manan, manan_staff, manan_member):
    """马南社区's meetings of 8 and 18 March; the first announced on the 5th with one matter."""
    factories.schedule(manan, month_days=[8, 18], on_day_off="keep", notice_days=3)
    second_member(manan)
    clock.move_to(at(1, 9))
    awaiting(manan, manan_staff, "楼道堆物")
    materialise_meetings()
    clock.move_to(at(5, 15, 1))
    materialise_meetings()
    first, second = Meeting.objects.filter(council=manan.council).order_by("starts_at")[:2]
    assert first.notice_sent_at is not None and second.notice_sent_at is None
    assert agenda_of(first) == [("楼道堆物", False)]
    return first, second


# --- The periodic top-up ------------------------------------------------------------------


def test_matters_ready_after_the_notice_join_that_meeting_and_members_are_told_once(
    announced, clock, manan, manan_staff
):
    first, second = announced
    clock.move_to(at(6, 10))
    awaiting(manan, manan_staff, "晾衣场地")
    awaiting(manan, manan_staff, "饮水机坏了", is_urgent=True)
    materialise_meetings()

    # Before this change they waited for the meeting of the 18th.
    assert agenda_of(first) == [("楼道堆物", False), ("饮水机坏了", True), ("晾衣场地", True)]
    assert agenda_of(second) == []
    # One notice per member (and channel) names both, not one per item.
    told = late_notices()
    assert [(who, channel) for who, channel, _body in told] == [
        ("manan_member", "inapp"),
        ("manan_member_2", "inapp"),
        ("manan_member_2", "sms"),
    ]
    assert told[0][2] == (
        f"{manan.council.name}, meeting of 2027-03-08 15:00: added after the notice (2): "
        "“饮水机坏了”、“晾衣场地”"
    )
    # A second run, or a second beat process, tells nobody again.
    materialise_meetings()
    assert notices.late_items_announce(now=timezone.now()) == 0
    assert len(late_notices()) == 3

    # A matter that arrives later is told in its own notice, naming only it.
    clock.move_to(at(7, 16))
    awaiting(manan, manan_staff, "路灯不亮")
    materialise_meetings()
    assert agenda_of(first)[-1] == ("路灯不亮", True)
    told = late_notices()
    assert len(told) == 6
    assert told[3][2].endswith("(1): “路灯不亮”")


def test_once_the_meeting_has_begun_new_matters_wait_for_the_next_one(
    announced, clock, manan, manan_staff
):
    first, second = announced
    clock.move_to(at(8, 15, 1))
    awaiting(manan, manan_staff, "晚到的事")
    materialise_meetings()
    assert agenda_of(first) == [("楼道堆物", False)]
    assert agenda_of(second) == [("晚到的事", False)]
    assert late_notices() == []


def test_staff_may_take_a_late_item_off_and_it_stays_off(announced, clock, manan, manan_staff):
    first, second = announced
    clock.move_to(at(6, 10))
    issue = awaiting(manan, manan_staff, "晾衣场地")
    materialise.meetings_materialise(today=timezone.localdate(), now=timezone.now())
    item = first.agenda_items.get(issue=issue)
    assert item.late
    agenda.agenda_item_remove(item=item, actor=manan_staff)
    materialise_meetings()
    # Taken off before anyone was told: nobody is told, and the top-up does not put it
    # back on this meeting; it waits for the following one.
    assert late_notices() == []
    assert agenda_of(first) == [("楼道堆物", False)]
    assert agenda_of(second) == [("晾衣场地", False)]


def test_a_matter_taken_off_the_following_agenda_does_not_come_back_early(
    announced, clock, manan, manan_staff
):
    first, second = announced
    clock.move_to(at(6, 10))
    later = agenda.agenda_topic_add(meeting=second, actor=manan_staff, topic="年终总结")
    issue = awaiting(manan, manan_staff, "下次再议")
    agenda.agenda_issue_add(meeting=second, actor=manan_staff, issue=issue)
    agenda.agenda_item_remove(item=second.agenda_items.get(issue=issue), actor=manan_staff)
    materialise_meetings()
    assert agenda_of(first) == [("楼道堆物", False)]
    assert agenda_of(second) == [("年终总结", False)]
    assert not later.late


# --- By hand -----------------------------------------------------------------------------


def test_staff_adding_after_the_notice_add_a_late_item_the_members_hear_of(
    announced, clock, manan, manan_staff
):
    first, _second = announced
    clock.move_to(at(6, 10))
    issue = awaiting(manan, manan_staff, "健身器材松动")
    item, _taken = agenda.agenda_issue_add(meeting=first, actor=manan_staff, issue=issue)
    topic = agenda.agenda_topic_add(meeting=first, actor=manan_staff, topic="志愿者排班")
    assert item.late and topic.late
    materialise_meetings()
    bodies = {body for _who, _channel, body in late_notices()}
    assert len(late_notices()) == 3
    assert bodies == {
        f"{manan.council.name}, meeting of 2027-03-08 15:00: added after the notice (2): "
        "“健身器材松动”、“志愿者排班”"
    }


def snapshot() -> list[tuple]:
    return list(
        AgendaItem.objects.order_by("id").values_list(
            "id", "meeting_id", "issue_id", "position", "removed_at", "late"
        )
    )


def test_adding_a_matter_after_the_meeting_began_is_refused_and_nothing_changes(
    announced, clock, manan, manan_staff, as_user
):
    first, second = announced
    waiting = awaiting(manan, manan_staff, "等下次")
    agenda.agenda_issue_add(meeting=second, actor=manan_staff, issue=waiting)
    clock.move_to(at(8, 15, 5))
    issue = awaiting(manan, manan_staff, "会上才提")
    before = snapshot()
    with pytest.raises(ActionError, match="The meeting has begun"):
        agenda.agenda_issue_add(meeting=first, actor=manan_staff, issue=waiting)
    assert snapshot() == before

    client = as_user(manan_staff)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.post(
        reverse("meetings:agenda_add_issue", args=[first.pk]), {"add-issue-issue": issue.pk}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "会议已经开始，不能再往议程里增加事项；请把它放到下一次会议。" in html
    assert f'value="{issue.pk}" selected' in html  # what was chosen is kept
    assert snapshot() == before


# --- Follow-up reviews --------------------------------------------------------------------


def test_a_review_placed_after_the_notice_is_a_late_item(announced, clock, manan, manan_staff):
    first, _second = announced
    clock.move_to(at(6, 10))
    resolved = factories.resolved_issue(manan, actor=manan_staff, title="修好的路灯")
    FollowUpReview.objects.filter(issue=resolved).update(
        state=FollowUpReview.State.SENT, sent_at=timezone.now()
    )
    placed = review_items.agenda_reviews_add(issues={resolved.pk: manan.pk}, now=timezone.now())
    assert placed == {resolved.pk}
    item = first.agenda_items.get(issue=resolved)
    assert (item.kind, item.late) == ("review", True)
    materialise_meetings()
    assert late_notices()[0][2].endswith("(1): “修好的路灯”")


# --- Where the mark shows -------------------------------------------------------------------


def test_the_agenda_and_the_minutes_mark_late_items(announced, clock, manan, manan_staff, as_user):
    first, _second = announced
    clock.move_to(at(6, 10))
    awaiting(manan, manan_staff, "晾衣场地")
    materialise_meetings()
    client = as_user(manan_staff)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(reverse("meetings:detail", args=[first.pk])).content.decode()
    assert page.count('<span class="tag late">临时增加</span>') == 1

    clock.move_to(at(8, 17))
    closing.meeting_close(meeting=first, actor=manan_staff)
    with translation.override("zh-hans"):
        draft = minutes.minutes_draft(meeting=first, actor=manan_staff)
    lines = [line for line in draft.text.splitlines() if "晾衣场地" in line or "楼道堆物" in line]
    assert lines[0].startswith("1. 楼道堆物") and "临时增加" not in lines[0]
    assert lines[1].startswith("2. 晾衣场地") and lines[1].endswith("【临时增加】")
