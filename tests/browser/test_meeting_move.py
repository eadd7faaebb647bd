"""Staff move a meeting by hand from its page on a phone in 长辈版, and read the schedule page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from deliberation.models import Meeting
from members.models import Notice
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways_at_200_percent

pytestmark = pytest.mark.browser

# The smallest visible control inside the move form, and the smallest text there (px).
MEASURE_FORM = """() => {
  const form = document.querySelector('details.move-meeting');
  let target = 999, font = 99;
  for (const e of form.querySelectorAll('summary,input:not([type=hidden]),textarea,button')) {
    const r = e.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    target = Math.min(target, r.width, r.height);
    font = Math.min(font, parseFloat(getComputedStyle(e).fontSize));
  }
  return {target, font};
}"""


def test_staff_move_a_meeting_on_a_phone_in_elder_mode(
    transactional_db, manan, manan_staff, manan_member, live_server, open_tab, log_in
):
    starts = timezone.localtime().replace(hour=15, minute=0, second=0, microsecond=0)
    starts += dt.timedelta(days=3)
    meeting = factories.meeting(manan, starts, notice_sent_at=timezone.now())
    new_day = (starts + dt.timedelta(days=1)).date()
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("meetings:detail", args=[meeting.pk]))
    with page.expect_navigation():
        page.locator("header [data-elder-switch]").click()
    expect(page.locator("html")).to_have_class("elder")

    page.locator("details.move-meeting summary").click()
    figures = page.evaluate(MEASURE_FORM)
    assert figures["target"] >= 60 and figures["font"] >= 22, figures
    assert not scrolls_sideways_at_200_percent(page)

    # No reason: the page comes back with the message, the date typed kept.
    page.locator("#id_move-date").fill(new_day.isoformat())
    page.locator("#id_move-time").fill("09:30")
    with page.expect_navigation():
        page.locator("details.move-meeting button[type=submit]").click()
    expect(page.locator("[data-error-summary]")).to_contain_text("请填写调整会议时间的原因。")
    expect(page.locator("#id_move-date")).to_have_value(new_day.isoformat())
    expect(page.locator("#id_move-time")).to_have_value("09:30")

    page.locator("#id_move-reason").fill("议事点停电")
    with page.expect_navigation():
        page.locator("details.move-meeting button[type=submit]").click()
    expect(page.locator(".meeting-moved")).to_have_text(
        f"原定 {starts:%Y-%m-%d %H:%M}，调整原因：议事点停电"
    )
    assert not scrolls_sideways_at_200_percent(page)
    assert Meeting.objects.get(pk=meeting.pk).starts_at == dt.datetime.combine(
        new_day, dt.time(9, 30), tzinfo=timezone.get_default_timezone()
    )
    assert Notice.objects.filter(kind="meeting_moved", channel="inapp").count() == 1
    # The one failed answer is the 422 of the form without a reason.
    assert [status for status, _ in tab.failed_responses] == [422]
    assert not tab.console_errors and not tab.page_errors


def test_the_schedule_page_with_moved_dates_fits_a_phone(
    transactional_db, manan, manan_staff, live_server, open_tab, log_in, clock
):
    clock.move_to(dt.datetime(2026, 12, 20, 9, tzinfo=timezone.get_default_timezone()))
    factories.schedule(manan, month_days=[8, 18, 28])
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("schedules:list", args=[manan.pk]))
    with page.expect_navigation():
        page.locator("header [data-elder-switch]").click()
    expect(page.locator("[role=note].warning")).to_contain_text("2027 年的法定节假日安排尚未公布")
    expect(page.locator("ul.dates li").first).to_contain_text("2026-12-28")
    assert not scrolls_sideways_at_200_percent(page)
    assert not tab.problems, tab.problems
