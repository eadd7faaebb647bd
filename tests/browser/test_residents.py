"""htmx under the Content-Security-Policy: the live search and the recorded phone reveal."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from members.models import PhoneReveal
from tests import factories
from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser

MARKER = "window.__yishiSamePage"


def is_htmx_request_for(query: str):
    def matches(response) -> bool:
        return (
            f"q={quote(query)}" in response.url
            and response.request.headers.get("hx-request") == "true"
        )

    return matches


def test_search_updates_results_in_place_and_phone_reveal_is_recorded(
    transactional_db, manan, xingfu, manan_staff, open_tab, log_in
):
    li = factories.resident(manan, "李秀英", phone="13812345678", building="3栋")
    factories.resident(manan, "陈静", phone="13900001111", building="3栋")
    factories.resident(manan, "张伟", phone="13700002222", building="5栋")
    factories.resident(xingfu, "刘洋", phone="13600005678", building="3栋")  # another community
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate(f"{MARKER} = 'still here'")

    # A building: two of the three remain, the results swapped in by htmx.
    with page.expect_response(is_htmx_request_for("3栋")) as searched:
        page.locator("#q").fill("3栋")
    assert "<html" not in searched.value.text(), "the search answered with a whole page"
    # The answer is the whole ``#results`` block, so it must replace it, not go inside it.
    expect(page.locator("[id=results]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(quote("3栋")) + r"(&|$)"))
    expect(rows).to_have_count(2)
    expect(page.locator("#results")).to_contain_text("李秀英")
    expect(page.locator("#results")).to_contain_text("陈静")
    expect(page.locator("#results")).not_to_contain_text("张伟")
    expect(page.locator("#results")).not_to_contain_text("刘洋")
    assert page.evaluate(MARKER) == "still here", "the search reloaded the page"

    # The last four digits of a phone number find the caller, and only them.
    with page.expect_response(is_htmx_request_for("5678")):
        page.locator("#q").fill("5678")
    expect(page).to_have_url(re.compile(r"[?&]q=5678(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("李秀英")
    phone = page.locator(f"#phone-{li.pk}")
    expect(phone).to_contain_text("138****5678")
    expect(phone).not_to_contain_text("13812345678")
    assert not PhoneReveal.objects.exists()

    # Showing the full number swaps it in place and leaves a record.
    with page.expect_response(lambda r: r.url.endswith(f"/residents/{li.pk}/phone/")) as shown:
        phone.locator("form button").click()
    assert shown.value.request.headers.get("hx-request") == "true"
    expect(page.locator(f"#phone-{li.pk} a[href='tel:13812345678']")).to_have_text("13812345678")
    expect(page.locator(f"#phone-{li.pk} form")).to_have_count(0)
    assert page.evaluate(MARKER) == "still here", "showing the number reloaded the page"
    assert list(PhoneReveal.objects.values_list("actor__username", "resident_id")) == [
        ("manan_staff", li.pk)
    ]
    assert tab.problems == []
