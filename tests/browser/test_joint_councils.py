"""A joint meeting of two councils (联席会议) on phones at 360 px: the street's admin joins
幸福村社区's council to 马南社区's meeting from the meeting's page; a member of the joined
council, in elder mode (长辈版), finds the meeting among their own and signs in; the quorum
counts both councils."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from deliberation.models import Attendance, JointCouncilChange, Meeting
from members.models import Role
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


def test_the_street_makes_a_meeting_joint_and_a_joined_member_signs_in_at_360px(
    transactional_db,
    manan,
    xingfu,
    manan_leader_term,
    nanen_admin,
    live_server,
    open_tab,
    log_in,
    artefacts,
):
    url = live_server.url
    term = factories.council_member(xingfu, factories.resident(xingfu, "李桂兰"))
    member = factories.user("xingfu_member", display_name="李桂兰")
    factories.role(member, Role.Kind.COUNCIL_MEMBER, council_member=term)
    # The meeting starts in half an hour: signing in is open, councils can still join.
    starts = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    meeting = Meeting.objects.create(
        council=manan.council,
        starts_at=starts,
        notice_due_at=starts - dt.timedelta(days=3),
        notice_sent_at=starts - dt.timedelta(days=3),
        place="社区居民议事点",
    )
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)

    def shot(tab, name: str) -> None:
        tab.page.screenshot(path=screenshots / f"joint-councils-{name}.png", full_page=True)
        assert not scrolls_sideways(tab.page), name

    # The street's admin, on a phone, opens the meeting and chooses the councils (htmx).
    admin = open_tab(PHONE_WIDTH)
    log_in(admin.page, "nanen_admin")
    meeting_url = url + reverse("meetings:detail", args=[meeting.pk])
    admin.page.goto(meeting_url)
    section = admin.page.locator("section.joint-councils")
    section.get_by_role("link", name="选择联席议事会").click()
    box = section.get_by_label("幸福村社区居民议事会（幸福村社区）")
    expect(box).to_be_visible()
    box.check()
    shot(admin, "1-choose")
    with admin.page.expect_navigation():
        section.get_by_role("button", name="保存联席议事会").click()
    expect(admin.page.locator(".joint-meeting")).to_contain_text("幸福村社区居民议事会")
    expect(admin.page.locator("#attendance .quorum-rule")).to_contain_text("2 个议事会")
    change = JointCouncilChange.objects.get()
    assert (change.actor, change.council) == (nanen_admin, xingfu.council)
    shot(admin, "2-joint")

    # 李桂兰 of 幸福村社区's council, in elder mode, finds the meeting and signs in.
    phone = open_tab(PHONE_WIDTH)
    log_in(phone.page, "xingfu_member")
    phone.page.goto(url + reverse("meetings:mine"))
    switch = phone.page.locator("header [data-elder-switch]")
    with phone.page.expect_navigation():
        switch.click()
    expect(phone.page.locator("html")).to_have_class("elder")
    phone.page.locator(f"a[href='{reverse('meetings:detail', args=[meeting.pk])}']").first.click()
    button = phone.page.locator("#attendance button.primary")
    assert button.bounding_box()["height"] >= 60
    button.click()
    expect(phone.page.locator("#attendance")).to_contain_text("您已签到")
    assert Attendance.objects.get(meeting=meeting).member == term
    # Two active members (one per council): both are needed for a quorum.
    expect(phone.page.locator("#attendance .quorum")).to_contain_text("1")
    shot(phone, "3-signed-in-elder")
    for tab in (admin, phone):
        assert tab.problems == []
