"""我的会议 on a member's phone: coming, held and cancelled meetings under their own headings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from deliberation.actions import closing
from deliberation.models import Meeting
from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser


def meeting(community, starts_at: dt.datetime) -> Meeting:
    return Meeting.objects.create(
        council=community.council,
        starts_at=starts_at,
        notice_due_at=starts_at - dt.timedelta(days=3),
        place="社区居民议事点",
    )


def test_a_meeting_held_today_is_not_listed_as_coming_up(
    transactional_db, manan, manan_staff, manan_member, live_server, open_tab, log_in, artefacts
):
    now = timezone.now().replace(second=0, microsecond=0)
    held = meeting(manan, now - dt.timedelta(minutes=30))
    closing.meeting_close(meeting=held, actor=manan_staff)
    coming = meeting(manan, now + dt.timedelta(days=3))
    called_off = meeting(manan, now + dt.timedelta(days=6))
    closing.meeting_cancel(meeting=called_off, actor=manan_staff, reason="停电")

    tab = open_tab(PHONE_WIDTH)
    log_in(tab.page, "manan_member")
    tab.page.goto(live_server.url + reverse("meetings:mine"))
    sections = tab.page.locator("main section")
    expect(sections.nth(0).locator("h2")).to_have_text("即将召开")
    expect(sections.nth(0).locator(f"#my-meeting-{coming.pk}")).to_be_visible()
    expect(sections.nth(1).locator("h2")).to_have_text("已召开")
    expect(sections.nth(1).locator(f"#my-meeting-{held.pk}")).to_be_visible()
    expect(sections.nth(2).locator("h2")).to_have_text("已取消")
    expect(sections.nth(2).locator(f"#my-meeting-{called_off.pk}")).to_contain_text("停电")
    expect(sections.nth(0).locator(f"#my-meeting-{held.pk}")).to_have_count(0)
    assert not tab.page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    shots = artefacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=shots / "my-meetings-360.png", full_page=True)
    assert tab.problems == []
