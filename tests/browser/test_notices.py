"""A council leader on a phone: the notice of minutes to approve opens the minutes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from deliberation.actions import minutes as minutes_actions
from tests import factories
from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser


def test_the_leader_taps_the_notice_and_reads_the_minutes_to_approve(
    transactional_db, manan, manan_staff, manan_member, open_tab, log_in, live_server, artefacts
):
    meeting = factories.meeting(manan, timezone.now() - dt.timedelta(hours=3))
    minutes = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")

    page.goto(live_server.url + reverse("members:notices"))
    notice = page.locator("li.notice.unread a.notice-open", has_text="有会议纪要待您审定")
    expect(notice).to_have_count(1)
    box = notice.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # one large target on a phone
    page.screenshot(path=artefacts / "notices-360.png", full_page=True)

    with page.expect_navigation():
        notice.click()
    expect(page).to_have_url(live_server.url + reverse("minutes:detail", args=[minutes.pk]))
    expect(page.locator("main")).to_contain_text(minutes.title)

    page.go_back()
    page.reload()
    expect(page.locator("li.notice.unread")).to_have_count(0)
    expect(page.locator("header .badge")).to_have_count(0)
    assert tab.problems == []
