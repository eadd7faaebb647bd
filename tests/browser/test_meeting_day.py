"""The meeting day on phones at 360 px: a member signs in two hours before the start,
and staff record the council's decision with a tally in one tap ("全体赞成")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from deliberation.models import Attendance, Decision, Meeting
from issues.actions import handling
from issues.models import Issue
from members.models import Role
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


def test_a_member_signs_in_two_hours_early_and_staff_record_all_in_favour(
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
    url = live_server.url
    li = factories.council_member(manan, factories.resident(manan, "李秀英"))
    account = factories.user("member_li")
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=li)
    # The meeting starts in just under two hours: signing in has opened.
    starts = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=1, minutes=59)
    meeting = Meeting.objects.create(
        council=manan.council,
        starts_at=starts,
        notice_due_at=starts - dt.timedelta(days=3),
        notice_sent_at=starts - dt.timedelta(days=3),
        place="社区居民议事点",
    )
    issue = factories.issue(manan, actor=manan_staff, title="三号楼楼道堆物", place="3栋")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    item = meeting.agenda_items.create(issue=issue, position=0)
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)

    def shot(tab, name: str) -> None:
        tab.page.screenshot(path=screenshots / f"meeting-day-{name}.png", full_page=True)
        assert not scrolls_sideways(tab.page), name

    # 李秀英 signs in from "My meetings" on her phone, two hours before the start.
    member = open_tab(PHONE_WIDTH)
    log_in(member.page, "member_li")
    member.page.goto(url + reverse("meetings:mine"))
    button = member.page.locator(f"#my-meeting-{meeting.pk} button.sign-me-in")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    button.click()
    expect(member.page.locator(f"#my-meeting-{meeting.pk} .signed-in")).to_be_visible()
    shot(member, "1-member-signed-in-early")
    assert Attendance.objects.get().member == li
    assert timezone.now() < meeting.starts_at - dt.timedelta(hours=1, minutes=50)

    # The leader signs in from the meeting page: two of two, a quorum.
    leader = open_tab(PHONE_WIDTH)
    log_in(leader.page, "manan_member")
    leader.page.goto(url + reverse("meetings:detail", args=[meeting.pk]))
    leader.page.locator("#attendance button.primary").click()
    expect(leader.page.locator("#attendance .quorum.reached")).to_be_visible()

    # Staff, on a phone too, open the item and record the decision: all in favour.
    staff = open_tab(PHONE_WIDTH)
    log_in(staff.page, "manan_staff")
    staff.page.goto(url + reverse("meetings:detail", args=[meeting.pk]))
    expect(staff.page.locator("#attendance .quorum.reached")).to_be_visible()
    staff.page.locator(f"#item-{item.pk} a.open-item").click()
    form = staff.page.locator(f"#decide-{item.pk}")
    expect(form).to_be_visible()
    counts = form.locator("input[inputmode=numeric]")
    expect(counts).to_have_count(3)
    for number in range(3):
        field = counts.nth(number).bounding_box()
        assert field["x"] >= 0 and field["x"] + field["width"] <= PHONE_WIDTH
    form.locator("select[name$='-outcome']").select_option("solve_by_council")
    form.locator("textarea[name$='-notes']").fill("由楼组长牵头清理。")
    shot(staff, "2-item-open")
    all_for = form.locator("button.all-for")
    expect(all_for).to_have_text("全体赞成")
    all_for.click()
    expect(staff.page.locator(f"#item-{item.pk} .tally")).to_contain_text(
        "2 赞成 · 0 反对 · 0 弃权"
    )
    shot(staff, "3-all-in-favour")

    decision = Decision.objects.get(item=item)
    assert (decision.votes_for, decision.votes_against, decision.votes_abstain) == (2, 0, 0)
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.DECIDED
    for tab in (member, leader, staff):
        assert tab.problems == []
