"""Five wrong passwords lock the account (django-axes); the browser shows the locked-out page."""

from __future__ import annotations

import re

import pytest
from axes.utils import reset
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import PHONE_WIDTH
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh_axes(transactional_db):
    reset()
    yield
    reset()


def submit_login(page, login_url: str, username: str, password: str):
    page.goto(login_url)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    return navigation.value


def test_five_wrong_passwords_lock_out_even_the_right_one(
    fresh_axes, manan_staff, xingfu_staff, open_tab, live_server, settings
):
    assert settings.AXES_FAILURE_LIMIT == 5
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    # English, so the page can be recognised whatever the Chinese catalogue says.
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    login_url = live_server.url + reverse("login")

    for attempt in range(1, 6):
        response = submit_login(page, login_url, "manan_staff", f"wrong-{attempt}")
        if attempt < 5:
            assert response.status == 200
            expect(page.locator("main .errors[role=alert]")).to_be_visible()
            expect(page.locator("input[name=password]")).to_be_visible()

    response = submit_login(page, login_url, "manan_staff", PASSWORD)
    assert response.status == 429
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main section[role=alert] h1")).to_have_text("Too many attempts")
    expect(page.locator("main a[href='/accounts/login/']")).to_be_visible()
    expect(page.locator("input[name=password]")).to_have_count(0)
    expect(page.locator("footer form.logout")).to_have_count(0)

    # Still not logged in.
    page.goto(live_server.url + reverse("home"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    # The lock is on that account: a colleague at the same desk still gets in.
    submit_login(page, login_url, "xingfu_staff", PASSWORD)
    expect(page.locator("footer .who")).to_have_text("幸福村 工作人员")

    assert all(status == 429 for status, _ in tab.failed_responses), tab.failed_responses
    assert tab.console_errors == [] and tab.page_errors == []
