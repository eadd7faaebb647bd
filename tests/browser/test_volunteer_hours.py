"""A volunteer's service time on a 360 px phone: signed in and out by the activity's QR
link, confirmed by the leader, spent on a class by the community's staff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import PHONE_WIDTH
from tests.helpers import volunteers as build
from volunteers import codes
from volunteers.models import Balance

pytestmark = pytest.mark.browser


def test_a_volunteer_earns_time_by_the_code_and_spends_it(
    transactional_db, clock, manan, manan_staff, live_server, open_tab, log_in, artefacts
):
    team = build.team(manan, manan_staff)
    leader = build.volunteer(team, manan_staff, "李秀英", account="li_volunteer", leader=True)
    volunteer = build.volunteer(team, manan_staff, "赵桂兰", account="zhao_volunteer")
    starts = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    patrol = build.activity(team, manan_staff, starts=starts, hours=2)
    build.class_rule(manan, manan_staff)

    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "zhao_volunteer")
    expect(page).to_have_url(live_server.url + reverse("volunteers:mine"))
    page.goto(live_server.url + codes.sign_in_path(patrol))
    page.get_by_role("button", name="我要签到").click()
    expect(page.locator(".messages")).to_contain_text("您已签到")
    clock.shift(dt.timedelta(minutes=50))
    page.get_by_role("button", name="我要签退").click()
    expect(page.locator(".messages")).to_contain_text("签退成功")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")

    leader_tab = open_tab(PHONE_WIDTH)
    log_in(leader_tab.page, "li_volunteer")
    leader_tab.page.goto(live_server.url + reverse("volunteers:activity", args=[patrol.pk]))
    leader_tab.page.get_by_role("button", name="确认时长").click()
    expect(leader_tab.page.locator(".messages")).to_contain_text("赵桂兰 的服务时长已确认")
    assert Balance.objects.get(volunteer=volunteer).minutes == 50

    page.goto(live_server.url + reverse("volunteers:mine"))
    expect(page.locator("[data-balance]")).to_have_attribute("data-balance", "50")

    staff_tab = open_tab(PHONE_WIDTH)
    log_in(staff_tab.page, "manan_staff")
    staff_tab.page.goto(live_server.url + reverse("volunteers:volunteer", args=[volunteer.pk]))
    staff_tab.page.get_by_label("兑换项目").select_option(index=1)
    staff_tab.page.get_by_role("button", name="批准兑换").click()
    expect(staff_tab.page.locator(".messages")).to_contain_text("已用 40 分钟兑换")
    expect(staff_tab.page.locator("[data-balance]")).to_have_attribute("data-balance", "10")

    page.goto(live_server.url + reverse("volunteers:mine"))
    expect(page.locator("[data-balance]")).to_contain_text("10 分钟")
    expect(page.locator("main")).to_contain_text("老年学校课程 1.5 小时")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    shots = artefacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=shots / "volunteer-hours-360.png", full_page=True)
    assert tab.problems == [] and leader_tab.problems == [] and staff_tab.problems == []
    assert leader.pk != volunteer.pk
