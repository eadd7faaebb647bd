"""At 360 px: a resident asks for a visit from the community's public page, it reaches the
paired team and the resident gets one text with the date; a return visit settles a review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from issues.actions import handling
from issues.models import Rating
from members.models import Notice
from public import forms as public_forms
from public import views as public_views
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways
from tests.helpers import visits as build
from visits.actions import visiting
from visits.models import AskedVisit, Visit

pytestmark = pytest.mark.browser


def test_an_asked_for_visit_reaches_the_team_and_a_return_visit_settles_a_review(
    transactional_db, nanen, manan, nanen_admin, manan_staff, live_server, open_tab, log_in,
    monkeypatch, clear_cache,
):  # fmt: skip
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    leader = build.cadre("li_cadre")
    team = build.team(nanen, "马南走访队", leader=leader, communities=[manan], admin=nanen_admin)
    wang = factories.resident(manan, "王阿姨", lane="一巷", building="3栋", room="101",
                              phone="13812345678")  # fmt: skip
    # A matter raised on an earlier visit, since resolved.
    visit = visiting.visit_record(
        actor=leader, team=team, resident=wang, kind="thematic", visited_on=dt.date(2026, 11, 2),
        visitors=[], concerns=[{"title": "楼道灯坏了", "category": factories.category(nanen)}],
    )  # fmt: skip
    issue = visit.concerns.get().issue
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    # The resident, from the QR poster's page.
    resident = open_tab(PHONE_WIDTH)
    page = resident.page
    page.goto(live_server.url + reverse("public:report",
                                        args=[public_views.public_form_token(manan)]))  # fmt: skip
    with page.expect_navigation():
        page.get_by_role("link", name="预约走访团队上门").click()
    expect(page.locator("main h1")).to_have_text("预约走访")
    page.get_by_label("您的称呼").fill("王阿姨")
    page.get_by_label("您想聊些什么？").fill("想聊聊加装电梯")
    page.get_by_label("您什么时候方便？").fill("周末上午")
    page.get_by_label("您的电话", exact=True).fill("13812345678")
    with page.expect_navigation():
        page.get_by_role("button", name="提交预约").click()
    # No consent to be called: told so, and nothing typed is lost.
    expect(page.locator(".error-summary")).to_contain_text("请同意团队通过这个号码联系您")
    expect(page.get_by_label("您想聊些什么？")).to_have_value("想聊聊加装电梯")
    page.get_by_label("我同意走访团队").check()
    assert not scrolls_sideways(page)
    with page.expect_navigation():
        page.get_by_role("button", name="提交预约").click()
    expect(page.locator("main h1")).to_have_text("走访预约已提交")
    # The refused form's 422 is the one thing amiss.
    assert [p for p in resident.problems if not p.startswith("HTTP 422")] == []
    request = AskedVisit.objects.get()

    # The team's leader, on a phone: the request is on the team's page; give it a date.
    cadre = open_tab(PHONE_WIDTH)
    page = cadre.page
    log_in(page, "li_cadre")
    expect(page.locator("main h1")).to_have_text("马南走访队")
    with page.expect_navigation():
        page.locator("main a", has_text="想聊聊加装电梯").click()
    page.get_by_label("走访日期和时间").fill("2026-11-21T09:30")
    assert not scrolls_sideways(page)
    with page.expect_navigation():
        page.get_by_role("button", name="确定时间").click()
    expect(page.locator(".messages .message")).to_contain_text("走访时间已定")
    texts = Notice.objects.filter(kind="asked_visit_scheduled")
    assert [(n.phone, n.context["when"]) for n in texts] == [("13812345678", "2026-11-21 09:30")]
    # The visit made: her household is offered, found by the number she left.
    page.get_by_label("王阿姨", exact=False).check()
    with page.expect_navigation():
        page.get_by_role("button", name="保存走访记录").click()
    expect(page.locator(".messages .message")).to_contain_text("走访已登记")
    request.refresh_from_db()
    assert request.state == AskedVisit.State.VISITED and request.visit.resident == wang
    assert texts.count() == 1

    # The resolved matter waits for a return visit; her answer settles the review.
    page.goto(live_server.url + reverse("visits:team", args=[team.pk]))
    with page.expect_navigation():
        page.locator("main a", has_text="楼道灯坏了").click()
    expect(page.locator("main h1")).to_have_text("登记工作回访")
    page.get_by_label("已解决", exact=True).check()
    page.get_by_label("非常满意", exact=True).check()
    page.locator("textarea[name=notes]").fill("灯修好了，王阿姨很高兴")
    assert not scrolls_sideways(page)
    with page.expect_navigation():
        page.get_by_role("button", name="保存回访").click()
    expect(page.locator(".messages .message")).to_contain_text("回访已登记")
    rating = Rating.objects.get(review__issue=issue)
    assert (rating.source, rating.recorded_by, rating.satisfaction) == ("in_person", leader, 5)
    assert Visit.objects.filter(kind="return", return_of__issue=issue).count() == 1
    page.goto(live_server.url + reverse("visits:team", args=[team.pk]))
    expect(page.locator("main")).not_to_contain_text("楼道灯坏了")
    assert not cadre.problems
