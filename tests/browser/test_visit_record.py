"""A cadre of a visiting team records a visit on a 360 px phone: finds the household, keeps
what was typed through a reload, and two concerns become two matters of the community."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from issues.models import Issue
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways
from tests.helpers import visits as build
from visits.actions import rounds
from visits.models import Target, Visit

pytestmark = pytest.mark.browser


def test_a_team_member_records_a_visit_with_two_concerns(
    transactional_db, nanen, manan, nanen_admin, manan_staff, live_server, open_tab, log_in,
    artefacts,
):  # fmt: skip
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    leader = build.cadre("li_cadre")
    team = build.team(nanen, "马南走访队", leader=leader, communities=[manan], admin=nanen_admin)
    wang = factories.resident(manan, "王阿姨", lane="一巷", building="3栋", room="101")
    factories.resident(manan, "赵大爷", lane="二巷", building="5栋", room="201")
    rounds.round_open(street=nanen, year=2026, quarter=4, today=dt.date(2026, 10, 1))

    phone = open_tab(PHONE_WIDTH)
    page = phone.page
    log_in(page, "li_cadre")  # no other role: the team's page is home
    expect(page.locator("main h1")).to_have_text("马南走访队")
    page.locator("#q").fill("3栋")
    expect(page.locator("#targets")).not_to_contain_text("赵大爷")
    with page.expect_navigation():
        page.locator("#targets a", has_text="王阿姨").click()
    expect(page.locator("main h1")).to_have_text("登记走访")
    assert not scrolls_sideways(page)

    form = page.locator("form[data-draft-key]")
    form.locator("textarea[name=notes]").fill("王阿姨说楼道里堆满了杂物，晚上路灯也不亮")
    form.locator("input[name='concern-0-title']").fill("楼道堆物")
    form.locator("select[name='concern-0-category']").select_option(label="环境卫生")
    form.locator("input[name='concern-1-title']").fill("路灯不亮")
    form.locator("select[name='concern-1-category']").select_option(index=1)
    page.wait_for_timeout(700)  # the draft is saved a moment after typing

    # The signal drops and the page is loaded again: nothing typed is lost.
    page.reload()
    form = page.locator("form[data-draft-key]")
    expect(form.locator("textarea[name=notes]")).to_have_value(
        "王阿姨说楼道里堆满了杂物，晚上路灯也不亮"
    )
    expect(form.locator("input[name='concern-1-title']")).to_have_value("路灯不亮")
    page.screenshot(path=screenshots / "visit-record-360.png", full_page=True)
    assert not scrolls_sideways(page)
    with page.expect_navigation():
        form.get_by_role("button", name="保存走访记录").click()
    expect(page.locator(".messages .message")).to_contain_text("走访已登记")
    expect(page.locator("main")).to_contain_text("楼道堆物")
    expect(page.locator("main")).to_contain_text("路灯不亮")
    assert not scrolls_sideways(page)
    draft = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('yishi:draft:'))")
    assert draft == []  # the page after the visit forgot the draft

    visit = Visit.objects.get()
    assert (visit.team, visit.resident, visit.kind) == (team, wang, "concentrated")
    matters = Issue.objects.filter(visit_concern__visit=visit).order_by("id")
    assert [(m.title, m.channel, m.reporter) for m in matters] == [
        ("楼道堆物", "team_visit", wang),
        ("路灯不亮", "team_visit", wang),
    ]
    assert Target.objects.get(resident=wang).visited_on == dt.date(2026, 11, 18)
    assert not phone.problems

    # The community's staff find both matters in their inbox.
    staff = open_tab(PHONE_WIDTH)
    log_in(staff.page, "manan_staff")
    staff.page.goto(live_server.url + reverse("issues:inbox"))
    expect(staff.page.locator("main")).to_contain_text("楼道堆物")
    expect(staff.page.locator("main")).to_contain_text("路灯不亮")
