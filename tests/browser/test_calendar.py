"""The calendar page shows a subscription address as it opens, though looking writes nothing.

The address is made by a POST the page sends by itself (htmx) when the holder has
none yet; a reload shows the same address and makes nothing more.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from deliberation.models import CalendarFeed
from tests.browser.conftest import PHONE_WIDTH

pytestmark = pytest.mark.browser


def test_the_address_appears_as_the_page_opens_and_stays(
    transactional_db, manan, manan_staff, open_tab, log_in, live_server
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("calendars:page"))
    address = page.locator("#subscribe input[type=url]")
    expect(address).to_have_count(1)
    feed = CalendarFeed.objects.get(council=manan.council, revoked_at__isnull=True)
    expect(address).to_have_value(f"{live_server.url}/ical/{feed.token}.ics")
    expect(page.locator("#subscribe button.primary")).to_have_count(0)

    page.reload()
    expect(address).to_have_value(f"{live_server.url}/ical/{feed.token}.ics")
    assert CalendarFeed.objects.count() == 1
    assert tab.problems == []
