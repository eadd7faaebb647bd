"""A council meeting on the day, from the pages people use.

Staff run the meeting at a desk or on a phone; members sign in from their own
phones; the quorum appears on the staff page without a reload; a decision put
to a vote sends the issue to the street office; staff close the meeting and
draft the minutes; the leader approves them on a phone; the PDF downloads.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from deliberation.models import Decision, Meeting, Minutes, Vote
from issues.actions import handling
from issues.models import Event, Issue
from members.models import Role
from tests import factories
from tests.browser.conftest import DESK_WIDTH, PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


def member_with_account(community, username: str, name: str):
    term = factories.council_member(community, factories.resident(community, name))
    account = factories.user(username)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return term


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESK_WIDTH])
def test_a_meeting_decides_escalates_and_approves_its_minutes(
    width,
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
    # This council votes by name: one choice per member present.
    type(manan.council).objects.filter(pk=manan.council.pk).update(named_votes=True)
    li = member_with_account(manan, "member_li", "李秀英")
    # Two active members (the leader and 李秀英): a quorum needs both.
    starts = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
    meeting = Meeting.objects.create(
        council=manan.council,
        starts_at=starts,
        notice_due_at=starts - dt.timedelta(days=3),
        notice_sent_at=starts - dt.timedelta(days=3),
        place="社区居民议事点",
    )
    issue = factories.issue(
        manan, actor=manan_staff, code="other", title="小区东门路灯坏了", place="东门"
    )
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    item = meeting.agenda_items.create(issue=issue, position=0)
    meeting_path = reverse("meetings:detail", args=[meeting.pk])
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)

    def shot(tab, name: str) -> None:
        tab.page.screenshot(path=screenshots / f"meeting-{width}-{name}.png", full_page=True)
        assert not scrolls_sideways(tab.page), name

    # Staff open the meeting: nobody present, no quorum.
    staff = open_tab(width)
    log_in(staff.page, "manan_staff")
    staff.page.goto(url + meeting_path)
    expect(staff.page.locator("#attendance .quorum.missing")).to_be_visible()
    expect(staff.page.locator(f"#item-{item.pk} h3")).to_contain_text("小区东门路灯坏了")
    shot(staff, "1-staff-opens")

    # One member signs in from "My meetings" on the phone, the leader from the meeting's link.
    member = open_tab(PHONE_WIDTH)
    log_in(member.page, "member_li")
    member.page.goto(url + reverse("meetings:mine"))
    member.page.locator(f"#my-meeting-{meeting.pk} button.sign-me-in").click()
    expect(member.page.locator(f"#my-meeting-{meeting.pk} .signed-in")).to_be_visible()
    shot(member, "2-member-signed-in")

    # The sign-in sheet staff show at the meeting: its QR code stands for the address under it.
    staff.page.locator(f"a[href='{reverse('meetings:sign_in_sheet', args=[meeting.pk])}']").click()
    expect(staff.page.locator(".qr svg.qr-code")).to_be_visible()
    scanned = staff.page.locator(".poster-url").inner_text().strip()
    assert scanned == url + meeting_path
    shot(staff, "2-sign-in-sheet")
    staff.page.go_back()
    # The item opens on a tap: its decision form loads then.
    expect(staff.page.locator(f"#decide-{item.pk}")).to_have_count(0)
    staff.page.locator(f"#item-{item.pk} a.open-item").click()
    expect(staff.page.locator(f"#decide-{item.pk}")).to_be_visible()

    leader = open_tab(PHONE_WIDTH)
    log_in(leader.page, "manan_member")
    leader.page.goto(scanned)
    leader.page.locator("#attendance button.primary").click()
    expect(leader.page.locator("#attendance .quorum.reached")).to_be_visible()
    shot(leader, "3-leader-signed-in")

    # The staff page catches up by itself, vote lists included.
    expect(staff.page.locator("#attendance .quorum.reached")).to_be_visible(timeout=25_000)
    votes = staff.page.locator(f"#votes-{item.pk} select")
    expect(votes).to_have_count(2)

    # A decision put to a vote: escalate to the street office.
    form = staff.page.locator(f"#decide-{item.pk}")
    form.locator("select[name$='-outcome']").select_option("escalate_to_street")
    form.locator("textarea[name$='-notes']").fill("涉及市政路灯，议事会无权维修，提交街道。")
    for select in (votes.nth(0), votes.nth(1)):
        select.select_option("for")
    form.locator(".form-actions button[type=submit]").click()
    expect(staff.page.locator(f"#item-{item.pk} .decision")).to_be_visible()
    expect(staff.page.locator(f"#item-{item.pk} .tally")).to_contain_text(
        "2 赞成 · 0 反对 · 0 弃权"
    )
    shot(staff, "4-decided")

    issue.refresh_from_db()
    assert issue.tier == Issue.Tier.STREET
    assert Event.objects.filter(issue=issue, kind=Event.Kind.DELIBERATED).exists()
    decision = Decision.objects.get(item=item)
    assert decision.outcome == Decision.Outcome.ESCALATE_TO_STREET
    assert sorted(Vote.objects.filter(decision=decision).values_list("member_id", flat=True)) == (
        sorted([li.pk, manan_leader_term.pk])
    )

    # Staff close the meeting and draft the minutes.
    staff.page.locator(".meeting-controls details.confirm summary").first.click()
    with staff.page.expect_navigation():
        staff.page.locator(
            f"form[action='{reverse('meetings:close', args=[meeting.pk])}'] button"
        ).click()
    meeting.refresh_from_db()
    assert meeting.state == Meeting.State.HELD
    with staff.page.expect_navigation():
        staff.page.locator("#minutes form button[type=submit]").click()
    draft = Minutes.objects.get(meeting=meeting)
    assert draft.state == Minutes.State.DRAFT
    assert "小区东门路灯坏了" in draft.text and "李秀英" in draft.text
    staff.page.goto(url + reverse("minutes:edit", args=[draft.pk]))
    text = staff.page.locator("textarea[name=text]")
    text.fill(text.input_value() + "\n会后由社区跟进街道答复。")
    with staff.page.expect_navigation():
        staff.page.locator("main form button[type=submit]").first.click()
    shot(staff, "5-minutes-draft")

    # The leader approves them on the phone; the version is locked.
    leader.page.goto(url + meeting_path)
    with leader.page.expect_navigation():
        leader.page.locator("#minutes a.button.primary").click()
    with leader.page.expect_navigation():
        leader.page.locator(".approve a.button.primary").click()
    # A page of its own says the version locks; nothing is approved until it is confirmed,
    # which works from the keyboard too.
    expect(leader.page.locator(".warning")).to_contain_text("审定后纪要将锁定，不能再修改")
    assert Minutes.objects.get(pk=draft.pk).state == Minutes.State.DRAFT
    shot(leader, "6-minutes-confirm")
    confirm = reverse("minutes:approve", args=[draft.pk])
    leader.page.locator(f"form[action='{confirm}'] button.primary").focus()
    with leader.page.expect_navigation():
        leader.page.keyboard.press("Enter")
    draft.refresh_from_db()
    assert draft.state == Minutes.State.APPROVED
    assert draft.approved_by == manan_member
    assert "会后由社区跟进街道答复。" in draft.text
    shot(leader, "6-minutes-approved")

    # The PDF downloads, with the minutes' Chinese title in it.
    pdf_path = reverse("minutes:pdf", args=[draft.pk])
    expect(leader.page.locator(f"a[href='{pdf_path}']")).to_be_visible()
    response = leader.page.request.get(url + pdf_path)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.body())).pages
    assert draft.title in "".join(page.extract_text() for page in pages).replace("\n", "")

    for tab in (staff, member, leader):
        assert tab.problems == []
