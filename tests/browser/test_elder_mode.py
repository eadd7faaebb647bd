"""Elder-friendly pages at 360 px: the standard sizes, the 长辈版 switch, and forms that failed.

Measured in the browser as a person meets them: the computed size of every visible text,
the size of every visible control, sideways scrolling at 200 % zoom (a 180 px viewport),
and where the focus is after a form comes back with its errors.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from deliberation.models import Meeting
from issues.actions import handling
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways_at_200_percent

pytestmark = pytest.mark.browser

# The smallest visible text (px) and the shortest side of the smallest visible control (px).
# Links inside running text are exempt (WCAG 2.5.8); so is the skip link until it is focused.
MEASURE = """() => {
  const seen = e => {
    const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    if (r.width <= 1 || r.height <= 1) return false;
    if (s.visibility === 'hidden' || s.display === 'none') return false;
    if (r.right <= 0 || r.left >= document.documentElement.scrollWidth) return false;
    for (let a = e; a; a = a.parentElement) {
      if (getComputedStyle(a).clip === 'rect(0px, 0px, 0px, 0px)') return false;
    }
    return true;
  };
  const hidden = 'script,style,[aria-hidden=true],.visually-hidden';
  let font = 99, fontAt = '', lineHeight = 9;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || !el || !seen(el) || el.closest(hidden)) continue;
    const s = getComputedStyle(el); const size = parseFloat(s.fontSize);
    if (size < font) { font = size; fontAt = el.tagName + ' ' + text.slice(0, 20); }
    if (s.lineHeight !== 'normal') {
      lineHeight = Math.min(lineHeight, parseFloat(s.lineHeight) / size);
    }
  }
  let target = 999, targetAt = '';
  const controls = 'a[href],button,input:not([type=hidden]),select,textarea,summary';
  for (const e of document.querySelectorAll(controls)) {
    if (!seen(e)) continue;
    const inline = getComputedStyle(e).display === 'inline';
    if (e.tagName === 'A' && inline && e.closest('p,li,td,dd')) continue;
    const r = e.getBoundingClientRect(); const side = Math.min(r.width, r.height);
    if (side < target) { target = side; targetAt = e.outerHTML.slice(0, 80); }
  }
  return {font, fontAt, target, targetAt, lineHeight};
}"""


def measure(page) -> dict:
    return page.evaluate(MEASURE)


def test_a_member_turns_on_elder_mode_and_every_page_grows(
    transactional_db,
    manan,
    manan_staff,
    manan_member,
    manan_leader_term,
    live_server,
    open_tab,
    log_in,
    artefacts,
):
    issue = factories.issue(manan, actor=manan_staff, title="三栋楼道堆满杂物")
    handling.issue_assign(issue=issue, actor=manan_staff, members=[manan_leader_term])
    factories.meeting(manan, timezone.now() + dt.timedelta(days=3))
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    pages = [
        reverse("meetings:mine"),
        reverse("issues:mine"),
        reverse("issues:report", args=[manan.pk]),
        reverse("members:me"),
    ]

    # The standard mode: 16 px at least, 44 px targets, nothing sideways at 200 %.
    for path in pages:
        page.goto(live_server.url + path)
        figures = measure(page)
        assert figures["font"] >= 16, (path, figures)
        assert figures["target"] >= 44, (path, figures)
        assert not scrolls_sideways_at_200_percent(page), path
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18

    # 长辈版, from the header of the page the member is on; the page comes back larger.
    switch = page.locator("header [data-elder-switch]")
    expect(switch).to_have_text("长辈版")
    with page.expect_navigation():
        switch.click()
    assert page.url == live_server.url + pages[-1]
    expect(page.locator("html")).to_have_class("elder")
    expect(switch).to_have_text("标准版")

    # Home is now four tiles with their counts.
    page.goto(live_server.url + reverse("home"))
    expect(page).to_have_url(live_server.url + reverse("meetings:member_home"))
    expect(page.locator(".tile")).to_have_count(4)
    expect(page.locator(".tile-tasks strong")).to_have_text("1")
    expect(page.locator(".tile-meetings strong")).to_have_text("1")
    page.screenshot(path=artefacts / "elder-mode-home-360.png", full_page=True)

    for path in [reverse("meetings:member_home"), *pages]:
        page.goto(live_server.url + path)
        figures = measure(page)
        assert figures["font"] >= 22, (path, figures)
        assert figures["target"] >= 60, (path, figures)
        assert figures["lineHeight"] >= 1.5, (path, figures)
        assert not scrolls_sideways_at_200_percent(page), path
    assert not tab.problems, tab.problems

    # Another phone, the same account: still 长辈版.
    other = open_tab(PHONE_WIDTH).page
    log_in(other, "manan_member")
    other.goto(live_server.url + reverse("meetings:mine"))
    expect(other.locator("html")).to_have_class("elder")


def test_a_resident_turns_on_elder_mode_on_the_public_form(
    transactional_db, manan, live_server, open_tab
):
    from public import views as public_views

    page = open_tab(PHONE_WIDTH).page
    url = live_server.url + reverse("public:report", args=[public_views.public_form_token(manan)])
    page.goto(url)
    assert measure(page)["target"] >= 44
    with page.expect_navigation():
        page.locator("header [data-elder-switch]").click()
    expect(page.locator("html")).to_have_class("elder")
    page.goto(url)  # the device remembers
    expect(page.locator("html")).to_have_class("elder")
    figures = measure(page)
    assert figures["font"] >= 22 and figures["target"] >= 60, figures


def test_after_a_failed_submit_the_focus_is_on_the_error_summary(
    transactional_db, manan, manan_staff, live_server, open_tab, log_in
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("members:resident_create", args=[manan.pk]))
    page.locator("#id_building").fill("3栋")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(page.locator("#id_building")).to_have_value("3栋")
    # Its link takes the focus to the field.
    summary.locator("a[href='#id_name']").click()
    expect(page.locator("#id_name")).to_be_focused()
    assert not tab.console_errors and not tab.page_errors


def test_after_a_failed_htmx_submit_the_focus_is_on_the_error_summary(
    transactional_db, manan, manan_staff, live_server, open_tab, log_in
):
    starts = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=1)
    meeting = Meeting.objects.create(
        council=manan.council,
        starts_at=starts,
        notice_due_at=starts - dt.timedelta(days=3),
        notice_sent_at=starts - dt.timedelta(days=3),
        place="社区居民议事点",
    )
    issue = factories.issue(manan, actor=manan_staff, title="小区东门路灯坏了")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    item = meeting.agenda_items.create(issue=issue, position=0)
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("meetings:detail", args=[meeting.pk]))
    page.evaluate("window.__samePage = 1")
    page.locator(f"#item-{item.pk} a.open-item").click()
    page.locator(f"#decide-{item.pk} button[type=submit]").click()

    summary = page.locator(f"#item-{item.pk} [data-error-summary]")
    expect(summary).to_be_focused()
    assert page.evaluate("window.__samePage") == 1, "the form was sent without htmx"
    assert not tab.problems, tab.problems
