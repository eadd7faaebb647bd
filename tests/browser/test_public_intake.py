"""A resident with no account, on a phone: from the poster's QR address to the tracking page."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from issues.actions import handling
from issues.models import Issue
from public import forms as public_forms
from public import views as public_views
from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser

MINIMUM_AGE = 1  # seconds: long enough to prove the wait, short enough for a test


@pytest.fixture(autouse=True)
def own_cache(settings, tmp_path):
    """Rate limits of this test only (the live server runs in this process)."""
    default = dict(settings.CACHES["default"])
    if default["BACKEND"].endswith("FileBasedCache"):
        default["LOCATION"] = str(tmp_path / "cache")
    default["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "default": default}


def overflows(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_a_resident_reports_from_the_poster_and_follows_the_matter(
    transactional_db, manan, manan_staff, open_tab, log_in, live_server, artefacts, monkeypatch
):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", MINIMUM_AGE)
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)

    # Staff print the poster; the address under the QR code is where residents go.
    office = open_tab(PHONE_WIDTH)
    log_in(office.page, "manan_staff")
    office.page.goto(f"{live_server.url}/communities/{manan.pk}/poster/")
    expect(office.page.locator(".qr svg")).to_be_visible()
    form_url = office.page.locator(".poster-url").inner_text().strip()
    token = public_views.public_form_token(manan)
    assert form_url == f"{live_server.url}/r/{token}/"
    assert not overflows(office.page)
    office.page.screenshot(path=screenshots / "poster-360.png", full_page=True)
    # Printed: only the poster, on one A4 page (794 px is A4's width at 96 dpi).
    office.page.set_viewport_size({"width": 794, "height": 1123})
    office.page.emulate_media(media="print")
    expect(office.page.locator("header.site")).to_be_hidden()
    expect(office.page.locator(".no-print")).to_be_hidden()
    office.page.screenshot(path=screenshots / "poster-print.png", full_page=True)
    pdf = office.page.pdf(format="A4", prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1, "the poster takes more than a page"
    assert office.problems == []

    # A resident, no account, on a phone.
    resident = open_tab(PHONE_WIDTH)
    page = resident.page
    page.goto(form_url)
    expect(page.locator("h1")).to_have_text("反映问题")
    expect(page.locator("#privacy")).to_contain_text("事项办结六个月后删除")
    honeypot = page.locator("#id_homepage").bounding_box()
    assert honeypot is None or honeypot["x"] + honeypot["width"] < 0, "the honeypot is visible"
    page.locator("#id_title").fill("小区东门路灯坏了")
    page.locator("#id_category").select_option(label="公共设施")
    page.locator("#id_description").fill("晚上东门一片漆黑，老人进出容易摔倒。")
    page.locator("#id_place").fill("东门")
    page.locator("#id_contact_phone").fill("138 1234 5678")
    assert not overflows(page)
    page.screenshot(path=screenshots / "public-form-360.png", full_page=True)
    page.wait_for_timeout(MINIMUM_AGE * 1000 + 200)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    issue = Issue.objects.get()
    assert issue.channel == Issue.Channel.PUBLIC_FORM and issue.entered_by is None
    assert issue.contact_phone == "13812345678"
    expect(page).to_have_url(re.compile(rf"/t/{issue.tracking_code}/reported/$"))
    expect(page.locator(".tracking-code")).to_have_text(issue.tracking_code)
    expect(page.locator(".write-down")).to_contain_text("截图")
    assert not overflows(page)
    page.screenshot(path=screenshots / "public-reported-360.png", full_page=True)

    # The tracking page, reached by typing the code in lower case.
    page.goto(f"{live_server.url}/t/")
    page.locator("#code").fill(issue.tracking_code.lower())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/t/{issue.tracking_code}/$"))
    expect(page.locator(".public-status")).to_have_text("已提交")
    expect(page.locator(".public-timeline li")).to_have_count(1)

    # The office takes the matter up; the resident sees it on reloading, and no internal note.
    handling.issue_transition(issue=issue, actor=manan_staff, name="accept", note="内部：下周议")
    page.reload()
    expect(page.locator(".public-status")).to_have_text("待议")
    expect(page.locator(".public-timeline li")).to_have_count(2)
    expect(page.locator(".public-timeline li").last).to_contain_text("状态变更：待议")
    expect(page.locator("main")).not_to_contain_text("内部")
    expect(page.locator("main")).not_to_contain_text("5678")
    assert not overflows(page)
    page.screenshot(path=screenshots / "tracking-360.png", full_page=True)
    assert resident.problems == []
