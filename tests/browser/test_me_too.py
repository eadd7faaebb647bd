"""A resident on a phone starts to report a problem that is already open: the hint shows it
as they type, and "me too" counts them on it instead of filing a second report."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from issues.models import Issue, Supporter
from public import forms as public_forms
from public.views import public_form_token
from tests import factories
from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def own_cache(settings):
    default = dict(settings.CACHES["default"])
    default["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "default": default}


def test_the_hint_appears_as_the_resident_types_and_me_too_counts_them_once(
    transactional_db, manan, manan_staff, open_tab, live_server, artefacts, monkeypatch
):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    fountain = factories.issue(
        manan, actor=manan_staff, title="小公园想加一个饮水机", place="社区小公园"
    )
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    page.goto(f"{live_server.url}/r/{public_form_token(manan)}/")
    hints = page.locator("#similar-matters")
    expect(hints.locator("li")).to_have_count(0)
    page.locator("#id_title").press_sequentially("公园饮水机", delay=60)
    expect(hints.locator("li")).to_have_count(1)
    expect(hints).to_contain_text("小公园想加一个饮水机")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artefacts / "me-too-hint-360.png", full_page=True)

    page.locator("#id_contact_phone").fill("135 0000 3333")
    with page.expect_navigation():
        hints.get_by_role("button", name="我也遇到了").click()
    expect(page.locator(".messages")).to_contain_text("已将您计入")
    expect(page.locator("main")).to_contain_text("另有 1 位居民也反映了")
    assert Issue.objects.count() == 1
    assert Supporter.objects.get().issue == fountain
    assert tab.problems == []
