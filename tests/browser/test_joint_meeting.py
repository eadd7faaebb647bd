"""A joint meeting (联建联动) on phones at 360 px: staff invite a unit based in the area and
a cadre sent down; the cadre signs in on their phone, staff sign the unit in; the minutes
list both as attending without a vote."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from deliberation.models import Meeting, MeetingGuest, Minutes
from members.models import Notice, OutsideUnit
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


def test_a_joint_meeting_with_a_unit_and_a_cadre_lists_them_as_attending_without_a_vote(
    transactional_db,
    manan,
    manan_staff,
    manan_leader_term,
    live_server,
    open_tab,
    log_in,
    artefacts,
):
    url = live_server.url
    unit = OutsideUnit.objects.create(
        community=manan, name="区供电所", contact_name="周建国", phone="13900001111"
    )
    factories.user("manan_cadre", display_name="下沉干部 赵明")
    # The meeting began five minutes ago: signing in is open, and it can be closed.
    starts = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
    meeting = Meeting.objects.create(
        council=manan.council,
        starts_at=starts,
        notice_due_at=starts - dt.timedelta(days=3),
        notice_sent_at=starts - dt.timedelta(days=3),
        place="社区居民议事点",
    )
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)

    def shot(tab, name: str) -> None:
        tab.page.screenshot(path=screenshots / f"joint-meeting-{name}.png", full_page=True)
        assert not scrolls_sideways(tab.page), name

    # Staff, on a phone, invite the power supply office and the cadre.
    staff = open_tab(PHONE_WIDTH)
    log_in(staff.page, "manan_staff")
    meeting_url = url + reverse("meetings:detail", args=[meeting.pk])
    staff.page.goto(meeting_url)
    invite = staff.page.locator("section.guests-invite")
    invite.locator("select[name=unit]").select_option(str(unit.pk))
    with staff.page.expect_navigation():
        invite.get_by_role("button", name="邀请该单位").click()
    staff.page.locator("section.guests-invite input[name=username]").fill("manan_cadre")
    with staff.page.expect_navigation():
        staff.page.locator("section.guests-invite").get_by_role(
            "button", name="邀请下沉干部"
        ).click()
    guests = staff.page.locator("#attendance ul.guests li.guest")
    expect(guests).to_have_count(2)
    expect(guests.first).to_contain_text("列席（无表决权）")
    assert Notice.objects.filter(kind="meeting_guest_unit", phone="13900001111").count() == 1
    assert Notice.objects.filter(kind="meeting_guest_invited").count() == 1
    shot(staff, "1-invited")

    # The cadre logs in on their phone, lands on their meetings and signs themself in.
    cadre = open_tab(PHONE_WIDTH)
    log_in(cadre.page, "manan_cadre")
    cadre.page.goto(url + reverse("home"))
    cadre.page.locator(f"a[href='{reverse('meetings:detail', args=[meeting.pk])}']").first.click()
    button = cadre.page.locator("#attendance button.primary")
    box = button.bounding_box()
    assert box["height"] >= 44
    with cadre.page.expect_navigation():
        button.click()
    expect(cadre.page.locator("#attendance")).to_contain_text("您已签到")
    shot(cadre, "2-cadre-signed-in")

    # Staff sign the unit's contact in from the list.
    staff.page.goto(meeting_url)
    with staff.page.expect_navigation():
        staff.page.locator("#attendance ul.guests form.sign-in button").click()
    assert MeetingGuest.objects.filter(signed_in_at__isnull=False).count() == 2

    # Staff close the meeting and draft the minutes: both attended without a vote.
    staff.page.locator(".meeting-controls details.confirm summary").first.click()
    with staff.page.expect_navigation():
        staff.page.locator(
            f"form[action='{reverse('meetings:close', args=[meeting.pk])}'] button"
        ).click()
    with staff.page.expect_navigation():
        staff.page.locator("#minutes form button[type=submit]").click()
    draft = Minutes.objects.get(meeting=meeting)
    assert "区供电所（联系人：周建国）" in draft.text
    assert draft.text.count("列席（无表决权）") == 2

    # The cadre reads the minutes on their phone.
    cadre.page.goto(url + reverse("minutes:detail", args=[draft.pk]))
    text = cadre.page.locator("section.minutes")
    expect(text).to_contain_text("下沉干部 赵明")
    expect(text).to_contain_text("区供电所（联系人：周建国）")
    expect(text).to_contain_text("列席（无表决权）")
    shot(cadre, "3-minutes")
    for tab in (staff, cadre):
        assert tab.problems == []
