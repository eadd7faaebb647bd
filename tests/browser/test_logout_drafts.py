"""On a shared office computer a draft (a new resident's name, a phone) does not outlive the login.

The staff member types an issue with a new resident's name, does not send it, and logs
out; whoever logs in next on that browser (the same person included) finds an empty form
and no draft left in localStorage or IndexedDB.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

DRAFT_KEYS = "() => Object.keys(localStorage).filter((name) => name.startsWith('yishi:draft:'))"
PHOTO_DRAFTS = """async () => {
  const names = (await indexedDB.databases()).map((db) => db.name);
  return names.includes("yishi-drafts");
}"""


@pytest.fixture
def intake(transactional_db, manan, manan_staff, live_server):
    factories.category(manan.street, "facilities")
    return {
        "url": live_server.url + reverse("issues:report", args=[manan.pk]),
        "key": f"issue-report-{manan.pk}-{manan_staff.pk}",
        "user": manan_staff,
    }


def type_a_draft(page, intake) -> None:
    page.goto(intake["url"])
    form = page.locator("form[data-issue-form]")
    form.locator("input[name=title]").fill("新住户反映楼道灯坏了")
    form.locator("textarea[name=description]").fill("王秀兰，13812345678，住3栋")
    page.wait_for_function(
        "key => localStorage.getItem('yishi:draft:' + key) !== null", arg=intake["key"]
    )


def test_logging_out_drops_the_draft(intake, open_tab, log_in, live_server):
    tab = open_tab()
    page = tab.page
    log_in(page, intake["user"].username)
    type_a_draft(page, intake)
    # The draft is kept across a reload while logged in.
    page.reload()
    expect(page.locator("input[name=title]")).to_have_value("新住户反映楼道灯坏了")

    with page.expect_navigation():
        page.locator("form.logout button[type=submit]").click()
    assert page.evaluate(DRAFT_KEYS) == []

    log_in(page, intake["user"].username)
    page.goto(intake["url"])
    form = page.locator("form[data-issue-form]")
    expect(form.locator("input[name=title]")).to_have_value("")
    expect(form.locator("textarea[name=description]")).to_have_value("")
    expect(form.locator("[data-draft-note]")).to_have_count(0)
    assert page.evaluate(DRAFT_KEYS) == []
    assert tab.problems == []


def test_the_logged_out_page_drops_drafts_without_the_logout_header(
    intake, open_tab, log_in, live_server
):
    """A browser that ignores Clear-Site-Data, or a session that simply ended."""
    tab = open_tab()
    page = tab.page
    log_in(page, intake["user"].username)
    type_a_draft(page, intake)
    assert page.evaluate(DRAFT_KEYS) != []

    page.context.clear_cookies()  # the session is over; no logout was sent
    page.goto(live_server.url + reverse("login"))
    expect(page.locator("input[name=username]")).to_be_visible()
    page.wait_for_function(f"() => ({DRAFT_KEYS})().length === 0")
    page.wait_for_function(f"async () => !(await ({PHOTO_DRAFTS})())")
    assert tab.problems == []


def test_a_draft_saved_under_another_login_is_not_restored(intake, open_tab, log_in):
    """A draft left by an earlier login whose session simply ended is dropped, not shown."""
    tab = open_tab()
    page = tab.page
    log_in(page, intake["user"].username)
    page.goto(intake["url"])
    page.evaluate(
        """key => localStorage.setItem('yishi:draft:' + key, JSON.stringify({
          saved: Date.now(), session: 'an-earlier-login',
          fields: {title: ['王秀兰家漏水'], description: ['13812345678']},
        }))""",
        intake["key"],
    )

    page.reload()

    expect(page.locator("input[name=title]")).to_have_value("")
    expect(page.locator("[data-draft-note]")).to_have_count(0)
    assert page.evaluate(DRAFT_KEYS) == []
    # What this login types is still kept.
    type_a_draft(page, intake)
    page.reload()
    expect(page.locator("input[name=title]")).to_have_value("新住户反映楼道灯坏了")
    assert tab.problems == []
