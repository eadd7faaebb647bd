"""The footer's language switch: English on request, kept on the next page, and back again.

Chinese UI strings may not be translated yet, so the checks rest on ``<html lang>``,
on the selected option and on English texts.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser


def switch_to(page, language: str) -> None:
    # No click on "Switch": our own script submits on change, which the CSP must allow.
    with page.expect_navigation():
        page.locator("#language").select_option(language)


def test_language_switch_sticks_and_switches_back(
    transactional_db, manan, manan_staff, open_tab, log_in, live_server
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    html = page.locator("html")
    log_in(page, "manan_staff")
    residents = live_server.url + reverse("members:residents", args=[manan.pk])
    expect(page).to_have_url(residents)
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#language")).to_have_value("zh-hans")

    switch_to(page, "en")
    expect(page).to_have_url(residents)  # back on the page the switch was made from
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("#language")).to_have_value("en")
    expect(page.locator("main .tabs a[aria-current=page]")).to_have_text("Residents")
    expect(page.locator("footer form.logout button")).to_have_text("Log out")
    assert {"name": "django_language", "value": "en"}.items() <= {
        (k, v)
        for c in page.context.cookies()
        for k, v in c.items()
        if c["name"] == "django_language"
    }

    # It sticks: another page, then a plain reload.
    page.goto(live_server.url + reverse("members:council", args=[manan.pk]))
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("main .tabs a[aria-current=page]")).to_have_text("Council")
    page.reload()
    expect(html).to_have_attribute("lang", "en")

    switch_to(page, "zh-hans")
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#language")).to_have_value("zh-hans")
    page.goto(residents)
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#language")).to_have_value("zh-hans")
    assert tab.problems == []


def test_chinese_is_the_default_for_a_browser_asking_for_a_language_yishi_lacks(
    transactional_db, open_tab, live_server
):
    tab = open_tab(PHONE_WIDTH, locale="fr-FR")
    tab.page.goto(live_server.url + reverse("login"))
    expect(tab.page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(tab.page.locator("#language")).to_have_value("zh-hans")
    assert tab.problems == []
