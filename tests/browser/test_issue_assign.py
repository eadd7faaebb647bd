"""Staff assign a matter from its page on a phone in elder mode: the form's lists of
members and staff load into the card when asked for, and the assignment is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from issues.actions import handling
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


def test_staff_open_the_assignment_in_the_card_and_save_it(
    transactional_db, manan, manan_staff, live_server, open_tab, log_in, artefacts
):
    term = factories.council_member(manan, factories.resident(manan, "周桂兰"))
    issue = factories.issue(manan, actor=manan_staff, title="5栋门口积水", place="5栋")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")

    phone = open_tab(PHONE_WIDTH)
    page = phone.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("issues:detail", args=[issue.pk]))
    with page.expect_navigation():
        page.locator("header [data-elder-switch]").click()
    expect(page.locator("html")).to_have_class("elder")

    card = page.locator("#assign-form")
    expect(card.locator("input[name=members]")).to_have_count(0)
    opener = card.get_by_role("link", name="交办给议事会成员或工作人员")
    assert opener.bounding_box()["height"] >= 48
    opener.click()
    member = card.get_by_label("周桂兰")
    expect(member).to_be_visible()
    assert page.url.endswith(reverse("issues:detail", args=[issue.pk]))  # stayed on the page
    member.check()
    with page.expect_navigation():
        card.get_by_role("button", name="保存交办").click()
    expect(page.locator(".messages .message")).to_be_visible()
    expect(page.locator("dl.profile")).to_contain_text("周桂兰")
    assert not scrolls_sideways(page)
    page.screenshot(path=artefacts / "issue-assign-360-elder.png", full_page=True)

    assert list(issue.assigned_members.all()) == [term]
    assert issue.events.filter(kind="assigned").exists()
    assert phone.problems == []
