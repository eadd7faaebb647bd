"""The year links of statements and certificates, and the team page's members a page at a
time, on a 360 px phone: in 长辈版 text ≥ 22 px and targets ≥ 60 px, no sideways
scrolling at 200 % zoom."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import PHONE_WIDTH
from tests.helpers import volunteers as build

pytestmark = pytest.mark.browser

SIZES = """(selector) => [...document.querySelectorAll(selector)].map(e => {
  const r = e.getBoundingClientRect();
  return {w: r.width, h: r.height, font: parseFloat(getComputedStyle(e).fontSize)};
})"""
OVERFLOW = "document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth"


@pytest.mark.parametrize(("elder", "text", "target"), [(False, 16, 44), (True, 22, 60)],
                         ids=["default", "elder"])  # fmt: skip
def test_the_year_links_fit_a_phone_in_both_modes(
    transactional_db, manan, manan_staff, live_server, open_tab, log_in, elder, text, target
):
    team = build.team(manan, manan_staff)
    volunteer = build.volunteer(team, manan_staff, "赵桂兰", account="zhao_volunteer")
    volunteer.user.elder_mode = elder
    volunteer.user.save(update_fields=["elder_mode"])
    for n in range(35):
        build.volunteer(team, manan_staff, f"队员{n:03d}")

    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "zhao_volunteer")
    page.goto(live_server.url + reverse("volunteers:mine"))
    page.wait_for_load_state("load")
    section = page.locator("section.printouts")
    expect(section).to_contain_text("服务时长明细与证明")
    links = page.evaluate(SIZES, "section.printouts a.button")
    assert len(links) == 2  # this year: a statement and a certificate
    assert all(link["h"] >= target and link["w"] >= target for link in links), links
    assert all(link["font"] >= text for link in links), links
    assert not page.evaluate(OVERFLOW)
    page.set_viewport_size({"width": 180, "height": 800})  # 360 px at 200 %
    assert not page.evaluate(OVERFLOW)

    # The team page as a member sees it: 30 members, then the next ones.
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    page.goto(live_server.url + reverse("volunteers:team", args=[team.pk]))
    expect(page.locator("table.team-members tbody tr")).to_have_count(30)
    page.get_by_role("link", name="显示更多队员").click()
    expect(page.locator("table.team-members tbody tr")).to_have_count(6)
    page.wait_for_load_state("load")  # measured with its stylesheet applied
    more = page.evaluate(SIZES, "#members-heading ~ .form-actions a.button")
    assert more and all(link["h"] >= target for link in more), more
    assert not page.evaluate(OVERFLOW)
    assert tab.problems == []
