"""A council member reports from a basement without a signal: the report waits on the
phone and is sent, once, when the signal returns (static/js/outbox.js, /sw.js).

The network is cut and restored with Playwright's offline switch in Debian's chromium,
at 360 px and in 长辈版; the report carries a photo, and reconnecting again (and a
reload) must not make a second matter. The queue outlives a closed browser: a second
chromium on the same profile sends it on its first page.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from issues.models import Issue, Photo
from tests import factories
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DEFAULT_LOCALE, PHONE_WIDTH, Tab
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

SAVED = "已保存，联网后自动发送"
SENT = "已发送"
KEPT = """async () => await new Promise((resolve, reject) => {
  const opening = indexedDB.open("yishi-outbox", 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore("reports", { keyPath: "key" });
  opening.onerror = () => reject(opening.error);
  opening.onsuccess = () => {
    const db = opening.result;
    const request = db.transaction("reports", "readonly").objectStore("reports").getAll();
    request.onsuccess = () => {
      db.close();
      resolve(request.result.map((item) => [item.state, item.files.length]));
    };
  };
})"""


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def reporting(transactional_db, manan, manan_member, manan_staff, live_server, media):
    return {
        "url": live_server.url + reverse("issues:report", args=[manan.pk]),
        "category": factories.category(manan.street, "facilities"),
    }


def photo(path):
    Image.new("RGB", (1200, 900), (90, 140, 200)).save(path, "JPEG", quality=85)
    return path


def worker_ready(page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")


def wait_until_nothing_is_kept(page) -> None:
    for _ in range(50):
        if page.evaluate(KEPT) == []:
            return
        page.wait_for_timeout(100)
    assert page.evaluate(KEPT) == []


def fill_report(page, category, picture=None) -> None:
    form = page.locator("form[data-issue-form]")
    form.locator("input[name=title]").fill("地下室的灯坏了")
    form.locator("select[name=category]").select_option(str(category.pk))
    form.locator("textarea[name=description]").fill("2栋地下室一片漆黑，这里没有信号。")
    form.locator("input[name=place]").fill("2栋地下室")
    if picture:
        form.locator("input[name=photos]").set_input_files(picture)
        expect(form.locator("[data-photo-status]")).to_have_attribute("data-state", "ready")
    form.locator("button[type=submit]").click()


def test_a_report_made_offline_is_sent_once_when_the_signal_returns(
    reporting, open_tab, log_in, live_server, tmp_path
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    with page.expect_navigation():
        page.locator("header [data-elder-switch]").click()
    expect(page.locator("html")).to_have_class("elder")
    worker_ready(page)

    page.context.set_offline(True)
    fill_report(page, reporting["category"], photo(tmp_path / "basement.jpg"))

    status = page.locator("[data-outbox-status]")
    saved = status.locator("[data-state=queued]")
    expect(saved).to_contain_text(SAVED)
    expect(saved).to_contain_text("地下室的灯坏了")
    assert not Issue.objects.exists()
    assert page.evaluate(KEPT) == [["queued", 1]]
    # The form is empty for the next report; the kept one has left the draft.
    expect(page.locator("input[name=title]")).to_have_value("")
    expect(page.locator("[data-photo-status]")).to_have_text("")
    font = saved.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert font >= 18, f"the saved message is {font}px in 长辈版"
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")

    page.context.set_offline(False)
    sent = status.locator("[data-state=sent]")
    expect(sent).to_contain_text(SENT)
    issue = Issue.objects.get()
    link = sent.locator("a")
    expect(link).to_have_attribute("href", reverse("issues:detail", args=[issue.pk]))
    height = link.evaluate("el => el.getBoundingClientRect().height")
    assert height >= 48, f"the link to the matter is {height}px high in 长辈版"
    assert (issue.title, issue.place, issue.channel) == ("地下室的灯坏了", "2栋地下室", "patrol")
    assert Photo.objects.filter(issue=issue).count() == 1
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")

    # The signal drops and returns again, and the page is reloaded: nothing is sent twice.
    page.context.set_offline(True)
    page.context.set_offline(False)
    page.reload()
    worker_ready(page)
    page.wait_for_function("() => !document.querySelector('[data-outbox-status] [data-state]')")
    assert page.evaluate(KEPT) == []
    assert Issue.objects.count() == 1

    with page.expect_navigation():
        link_to = reverse("issues:detail", args=[issue.pk])
        page.goto(live_server.url + link_to)
    expect(page.locator("main h1")).to_have_text("地下室的灯坏了")
    assert tab.problems == []


def test_a_report_kept_offline_outlives_a_closed_browser(
    reporting, playwright_driver, live_server, tmp_path
):
    profile = tmp_path / "profile"

    def launch():
        context = playwright_driver.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            viewport={"width": PHONE_WIDTH, "height": 800},
            locale=DEFAULT_LOCALE,
        )
        context.set_default_timeout(15_000)
        tab = Tab(page=context.pages[0] if context.pages else context.new_page())
        tab.page.on("console", tab.on_console)
        tab.page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
        tab.page.on("response", tab.on_response)
        return context, tab

    context, tab = launch()
    page = tab.page
    try:
        page.goto(live_server.url + reverse("login"))
        page.locator("input[name=username]").fill("manan_member")
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        page.goto(reporting["url"])
        worker_ready(page)
        context.set_offline(True)
        fill_report(page, reporting["category"])
        expect(page.locator("[data-outbox-status] [data-state=queued]")).to_contain_text(SAVED)
        assert tab.problems == []
    finally:
        context.close()
    assert not Issue.objects.exists()

    # The phone is switched on again later, with a signal: the first page sends the report.
    context, tab = launch()
    page = tab.page
    try:
        page.goto(live_server.url + reverse("home"))
        sent = page.locator("[data-outbox-status] [data-state=sent]")
        expect(sent).to_contain_text(SENT)
        issue = Issue.objects.get()
        expect(sent.locator("a")).to_have_attribute(
            "href", reverse("issues:detail", args=[issue.pk])
        )
        page.reload()
        page.wait_for_function("() => !document.querySelector('[data-outbox-status] [data-state]')")
        assert Issue.objects.count() == 1
        assert tab.problems == []
    finally:
        context.close()


def test_a_kept_report_waits_for_the_member_to_log_in_again(reporting, open_tab, log_in):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    worker_ready(page)
    page.context.set_offline(True)
    fill_report(page, reporting["category"])
    expect(page.locator("[data-outbox-status] [data-state=queued]")).to_contain_text(SAVED)

    # The login runs out while the phone is in the basement.
    Session.objects.all().delete()
    page.context.set_offline(False)
    waiting = page.locator("[data-outbox-status] [data-state=login]")
    expect(waiting).to_contain_text("请重新登录")
    assert not Issue.objects.exists()
    assert page.evaluate(KEPT) == [["login", 0]]

    with page.expect_navigation():
        waiting.locator("a").click()
    page.locator("input[name=username]").fill("manan_member")
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(reporting["url"])  # back where the member was
    expect(page.locator("[data-outbox-status] [data-state=sent]")).to_contain_text(SENT)
    issue = Issue.objects.get()
    assert issue.title == "地下室的灯坏了"
    assert page.evaluate(KEPT) == []
    assert tab.console_errors == [] and tab.page_errors == []


def test_a_kept_report_the_server_refuses_comes_back_into_the_form(
    reporting, open_tab, log_in, tmp_path
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    worker_ready(page)
    page.context.set_offline(True)
    fill_report(page, reporting["category"], photo(tmp_path / "basement.jpg"))
    expect(page.locator("[data-outbox-status] [data-state=queued]")).to_contain_text(SAVED)

    # While the phone was offline the street retired the category chosen.
    category = reporting["category"]
    category.is_active = False
    category.save(update_fields=["is_active"])
    page.context.set_offline(False)
    refused = page.locator("[data-outbox-status] [data-state=refused]")
    expect(refused).to_contain_text("未能发送")
    assert not Issue.objects.exists()

    with page.expect_navigation():
        refused.locator("a").click()
    form = page.locator("form[data-issue-form]")
    expect(form.locator("input[name=title]")).to_have_value("地下室的灯坏了")
    expect(form.locator("input[name=place]")).to_have_value("2栋地下室")
    expect(form.locator("[data-photo-status]")).not_to_be_empty()
    assert len(form.locator("input[name=photos]").evaluate("el => Array.from(el.files)")) == 1
    wait_until_nothing_is_kept(page)
    page.reload()  # taken back into the draft: a reload keeps it, the queue has let it go
    expect(form.locator("input[name=title]")).to_have_value("地下室的灯坏了")
    expect(page.locator("[data-outbox-status] [data-state]")).to_have_count(0)
    assert not Issue.objects.exists()
    assert tab.console_errors == [] and tab.page_errors == []


def test_logging_out_with_a_report_waiting_asks_first(reporting, open_tab, log_in, live_server):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    worker_ready(page)
    page.context.set_offline(True)
    fill_report(page, reporting["category"])
    expect(page.locator("[data-outbox-status] [data-state=queued]")).to_contain_text(SAVED)

    page.locator("form.logout button[type=submit]").click()
    warning = page.locator("[data-outbox-status] [data-state=logout]")
    expect(warning).to_contain_text("尚未发送的反映：1 条")
    expect(page).to_have_url(reporting["url"])  # still logged in, the report still kept
    assert page.evaluate(KEPT) == [["queued", 0]]

    # Back online, the page tries the report again and it still does not go through: the
    # question stays while the page redraws its lines, and answers when it is answered.
    logout = reverse("logout")
    page.route(
        "**/*",
        lambda route: (
            route.abort("connectionrefused")
            if route.request.method == "POST" and not route.request.url.endswith(logout)
            else route.continue_()
        ),
    )
    with page.expect_request(lambda request: request.method == "POST"):
        page.context.set_offline(False)
    expect(page.locator("[data-outbox-status] [data-state=queued]")).to_contain_text(SAVED)
    expect(warning).to_contain_text("尚未发送的反映：1 条")
    with page.expect_navigation():
        warning.locator("button").click()
    expect(page.locator("input[name=username]")).to_be_visible()


def test_a_phone_that_believes_it_is_online_keeps_the_report_when_nothing_answers(
    reporting, open_tab, log_in
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    worker_ready(page)

    # One bar and no data: every request fails, yet navigator.onLine stays true.
    page.context.route("**/*", lambda route: route.abort("internetdisconnected"))
    assert page.evaluate("navigator.onLine")
    fill_report(page, reporting["category"])
    expect(page.locator("[data-outbox-status] [data-state=queued]")).to_contain_text(SAVED)
    expect(page).to_have_url(reporting["url"])
    assert not Issue.objects.exists()

    # The data comes back; the next page opened sends the report.
    page.context.unroute("**/*")
    page.reload()
    expect(page.locator("[data-outbox-status] [data-state=sent]")).to_contain_text(SENT)
    assert Issue.objects.get().title == "地下室的灯坏了"
    assert tab.console_errors == [] and tab.page_errors == []
