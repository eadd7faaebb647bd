"""Each role logs in through the real form and lands on its own start page, phone and desk."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import DESK_WIDTH, PHONE_WIDTH

pytestmark = pytest.mark.browser


@pytest.fixture
def everyone(
    transactional_db,
    nanen,
    manan,
    xingfu,
    manan_staff,
    xingfu_staff,
    nanen_admin,
    other_admin,
    manan_member,
    city_handler,
    live_server,
):
    """All the standing people, plus residents so the street's counts differ per community.

    马南社区: 王建国 (the council leader) and two more residents, one of whom has
    moved away (inactive, not counted) → 2 active residents, 1 council member.
    幸福村社区: three residents → 3 active residents, no council member.
    """
    factories.resident(manan, "李秀英", phone="13900001111", building="5栋")
    gone = factories.resident(manan, "赵磊", building="1栋")
    gone.is_active = False
    gone.deactivated_at = timezone.now()
    gone.deactivation_reason = "搬走"
    gone.save()
    for name in ("刘洋", "陈静", "杨帆"):
        factories.resident(xingfu, name)
    return {"nanen": nanen, "manan": manan, "xingfu": xingfu, "url": live_server.url}


def lands_on_residents(page, everyone):
    expect(page).to_have_url(
        everyone["url"] + reverse("members:residents", args=[everyone["manan"].pk])
    )
    expect(page.locator("main h1")).to_contain_text("马南社区")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    expect(page.locator("#results")).to_contain_text("王建国")
    expect(page.locator("#results")).to_contain_text("李秀英")
    expect(page.locator("#results")).not_to_contain_text("赵磊")
    expect(page.locator("#results")).not_to_contain_text("刘洋")


def lands_on_street(page, everyone):
    expect(page).to_have_url(
        everyone["url"] + reverse("members:street", args=[everyone["nanen"].pk])
    )
    expect(page.locator("main h1")).to_have_text("南恩街道")
    rows = page.locator("table.communities tbody tr")
    expect(rows).to_have_count(2)
    manan_row = rows.filter(has_text="马南社区")
    xingfu_row = rows.filter(has_text="幸福村社区")
    expect(manan_row).to_be_visible()
    expect(xingfu_row).to_be_visible()
    expect(manan_row.locator("td")).to_have_text(["马南社区", "2", "1", "—", "—", "—", "—"])
    expect(xingfu_row.locator("td")).to_have_text(["幸福村社区", "3", "0", "—", "—", "—", "—"])
    expect(page.locator("main")).not_to_contain_text("北山社区")
    expect(page.locator(".figures .figure")).to_have_text(["2", "5", "1"])


def lands_on_my_council(page, everyone):
    expect(page).to_have_url(everyone["url"] + reverse("members:me"))
    expect(page.locator("main h1")).to_have_text("马南社区居民议事会")
    expect(page.locator("main .profile")).to_contain_text("王建国")
    expect(page.locator("main .context")).to_contain_text("南恩街道 · 马南社区")


def lands_on_assigned_work(page, everyone):
    expect(page).to_have_url(everyone["url"] + reverse("issues:work"))
    expect(page.locator("main .context")).to_contain_text("南恩街道 · 城市管理和综合执法局")
    expect(page.locator("main p.empty")).to_be_visible()
    expect(page.locator("main ul.cards")).to_have_count(0)


ROLES = {
    "community-staff": ("manan_staff", "马南 工作人员", lands_on_residents),
    "street-admin": ("nanen_admin", "南恩 管理员", lands_on_street),
    "council-member": ("manan_member", "王建国", lands_on_my_council),
    "department-handler": ("city_handler", "城管 办理人", lands_on_assigned_work),
}


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESK_WIDTH])
@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_logs_in_and_lands_on_its_start_page(
    role, width, everyone, open_tab, log_in, artefacts
):
    username, shown_as, lands_on = ROLES[role]
    tab = open_tab(width)
    page = tab.page

    log_in(page, username)

    lands_on(page, everyone)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("footer .who")).to_have_text(shown_as)
    # htmx and our own script came from this origin despite the strict CSP.
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    ), f"{role} page scrolls sideways at {width} px"
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=screenshots / f"{role}-{width}.png", full_page=True)
    assert tab.problems == []
