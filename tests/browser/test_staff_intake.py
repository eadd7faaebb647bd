"""Staff intake on a 360 px phone: "Raised by" shows only the fields its answer needs, and
the resident is found by a search of the community's register (htmx)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from issues.models import Issue
from tests import factories
from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser


@pytest.fixture
def intake_page(transactional_db, manan, xingfu, manan_staff, live_server):
    return {
        "url": live_server.url + reverse("issues:report", args=[manan.pk]),
        "category": factories.category(manan.street, "facilities"),
        "wang": factories.resident(manan, "王秀英", building="3栋", phone="13812345678"),
        "li": factories.resident(manan, "李建国", building="4栋"),
        "stranger": factories.resident(xingfu, "王大妈", building="1栋"),
    }


def test_reporter_choice_shows_only_its_fields_and_finds_the_resident(
    intake_page, open_tab, log_in, artefacts
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(intake_page["url"])
    form = page.locator("form[data-issue-form]")
    search = form.locator("input[name=reporter_q]")
    new_name = form.locator("input[name=new_name]")
    new_building = form.locator("input[name=new_building]")
    phone = form.locator("input[name=contact_phone]")

    def choose(mode: str) -> None:
        form.locator(f"[data-reporter-mode] input[value={mode}]").check()

    # A resident on the register (the first answer): the search only.
    expect(search).to_be_visible()
    for hidden in (new_name, new_building, phone):
        expect(hidden).to_be_hidden()

    # Not yet on the register: name and building (and a phone to reach them).
    choose("new")
    expect(new_name).to_be_visible()
    expect(new_building).to_be_visible()
    expect(search).to_be_hidden()
    new_name.fill("张三")
    new_building.fill("9栋")

    # Anonymous: nothing about who it is.
    choose("anonymous")
    for hidden in (search, new_name, new_building):
        expect(hidden).to_be_hidden()

    # Back again: what was typed is still there.
    choose("new")
    expect(new_name).to_have_value("张三")
    expect(new_building).to_have_value("9栋")

    # The search finds this community's residents only, as one types.
    choose("existing")
    expect(new_name).to_be_hidden()
    search.fill("王")
    results = form.locator("#resident-results")
    expect(results.locator("label", has_text="王秀英")).to_be_visible()
    expect(results).not_to_contain_text("王大妈")
    expect(results).not_to_contain_text("李建国")
    expect(results).not_to_contain_text("13812345678")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page is {width} px wide at {PHONE_WIDTH} px"
    folder = artefacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / "staff-intake-resident-search-360.png", full_page=True)
    results.locator("label", has_text="王秀英").locator("input").check()

    form.locator("input[name=title]").fill("3号楼电梯停了")
    form.locator("select[name=category]").select_option(str(intake_page["category"].pk))
    with page.expect_navigation():
        form.locator("button.primary[type=submit]").click()

    issue = Issue.objects.get()
    assert issue.reporter == intake_page["wang"]
    assert tab.problems == []
