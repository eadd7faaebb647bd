"""A council member's month on a phone at 360 px, in 长辈版, from the pages people use.

李秀英, a member of 马南社区's council, reports a problem with a photo; staff put it on the
deliberation list after the notice of the meeting of 20 November went out, so it joins that
meeting as a late item; she signs herself in from the phone two hours before the start;
staff sign in two members who have no phone, after a decision refused for want of a quorum,
and record that the council solves it itself, all in favour, with her taking it on; she
reports the work done with a photo; staff confirm; a week later the follow-up review's text
message goes to her phone. The beat's work (agendas, the review sweep) runs through the
same task functions, with the suite's clock moved on, which the live server shares.

Every step saves a screenshot under test-artefacts/screenshots/member-month-*.png.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from deliberation.models import AgendaItem, Attendance, Decision, Meeting
from deliberation.tasks import materialise_meetings, send_due_reviews
from issues.models import Event, FollowUpReview, Issue, Photo, TaskReport
from members.models import CouncilMember, Notice, Role
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways
from tests.helpers.clock import local

pytestmark = pytest.mark.browser

PHONE = "13900002222"
TITLE = "3栋楼道堆满杂物"


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded photos go to a folder of this test, not the project's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sms_outbox():
    """The text messages sent while the test runs (the test settings keep them in memory)."""
    from common.sms import MemorySmsBackend

    MemorySmsBackend.outbox.clear()
    yield MemorySmsBackend.outbox
    MemorySmsBackend.outbox.clear()


def photo(path, colour: tuple[int, int, int], words: str):
    """A camera-sized JPEG of the stairwell."""
    picture = Image.new("RGB", (2400, 1800), colour)
    ImageDraw.Draw(picture).rectangle((300, 300, 1500, 1200), fill=(90, 70, 50))
    ImageDraw.Draw(picture).text((100, 100), words, fill=(255, 255, 255))
    picture.save(path, "JPEG", quality=90)
    return path


def test_a_members_month_from_a_report_to_the_follow_up_review_in_elder_mode(
    transactional_db,
    clock,
    manan,
    manan_staff,
    manan_member,
    manan_leader_term,
    live_server,
    media,
    sms_outbox,
    clear_cache,
    open_tab,
    log_in,
    artefacts,
    tmp_path,
    settings,
):
    url = live_server.url
    settings.BASE_URL = url  # where texts link to: the address the site is served at
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)

    def shot(tab, name: str) -> None:
        tab.page.screenshot(path=screenshots / f"member-month-{name}.png", full_page=True)
        assert not scrolls_sideways(tab.page), f"{name} scrolls sideways at 360 px"

    # 马南社区's council meets on the 20th at 15:00, announced three days before. Five
    # members: the leader, 李秀英 with her phone, and three who have no phone.
    factories.schedule(manan, month_days=[20], on_day_off="keep", notice_days=3)
    li = factories.council_member(manan, factories.resident(manan, "李秀英", phone=PHONE))
    account = factories.user("li_member", display_name="李秀英", phone=PHONE)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=li)
    without_phone = [
        factories.council_member(manan, factories.resident(manan, name))
        for name in ("张伯", "陈阿姨", "刘师傅")
    ]
    assert CouncilMember.objects.filter(council=manan.council).count() == 5  # quorum: 3
    category = factories.category(manan.street, "environment")

    # Wednesday 18 November, 10:00: the beat creates the meetings and announces the one of
    # Friday the 20th (its notice was due on the 17th). Its agenda is empty so far.
    materialise_meetings()
    meeting = Meeting.objects.get(council=manan.council, starts_at=local(2026, 11, 20, 15))
    assert meeting.notice_sent_at is not None
    assert not meeting.agenda_items.exists()

    # --- 1. 李秀英 turns on 长辈版 on her phone and reports the problem with a photo --------
    member = open_tab(PHONE_WIDTH)
    phone = member.page
    log_in(phone, "li_member")
    switch = phone.locator("header [data-elder-switch]")
    expect(switch).to_have_text("长辈版")
    with phone.expect_navigation():
        switch.click()
    expect(phone.locator("html")).to_have_class("elder")
    phone.locator("header a.brand").click()  # home: four large tiles
    expect(phone).to_have_url(url + reverse("meetings:member_home"))
    expect(phone.locator(".tile")).to_have_count(4)
    shot(member, "01-elder-home")

    phone.locator("a.tile-report").click()
    expect(phone).to_have_url(url + reverse("issues:report", args=[manan.pk]))
    expect(phone.locator("html")).to_have_class("elder")
    form = phone.locator("form[data-issue-form]")
    form.locator("input[name=title]").fill(TITLE)
    form.locator("select[name=category]").select_option(str(category.pk))
    form.locator("textarea[name=description]").fill("旧家具和纸箱堵住了楼道，老人上下楼不方便。")
    form.locator("input[name=place]").fill("3栋1单元")
    form.locator("input[name=photos]").set_input_files(
        photo(tmp_path / "IMG_1001.jpg", (150, 140, 120), "3-1 stairwell")
    )
    expect(form.locator("[data-photo-status]")).to_have_attribute("data-state", "ready")
    shot(member, "02-report")
    with phone.expect_navigation():
        form.locator("button[type=submit]").click()
    issue = Issue.objects.get(title=TITLE)
    expect(phone).to_have_url(url + reverse("issues:detail", args=[issue.pk]) + "?reported=1")
    expect(phone.locator(".messages .message")).to_be_visible()
    expect(phone.locator("main h1")).to_have_text(TITLE)
    shot(member, "03-reported")
    assert (issue.status, issue.channel, issue.reporter) == (
        Issue.Status.SUBMITTED,
        Issue.Channel.PATROL,
        li.resident,
    )
    assert Photo.objects.filter(issue=issue, kind=Photo.Kind.REPORT).count() == 1

    # --- 2. Staff, on a phone too, put it on the deliberation list -------------------------
    clock.shift(dt.timedelta(minutes=30))
    staff = open_tab(PHONE_WIDTH)
    desk = staff.page
    log_in(desk, "manan_staff")
    # The notice of a new matter opens it.
    desk.locator("header a.inbox").click()
    with desk.expect_navigation():
        desk.locator("li.notice.unread a.notice-open", has_text=TITLE).click()
    expect(desk).to_have_url(url + reverse("issues:detail", args=[issue.pk]))
    expect(desk.locator("main h1")).to_have_text(TITLE)
    desk.locator("label.choice", has_text="列入待议").click()
    with desk.expect_navigation():
        desk.locator(
            f"form[action='{reverse('issues:transition', args=[issue.pk])}'] button[type=submit]"
        ).click()
    expect(desk.locator(".messages .message")).to_be_visible()
    shot(staff, "04-staff-accepts")
    issue.refresh_from_db()
    assert issue.status == Issue.Status.AWAITING

    # --- 3. The beat's next run: the matter joins the announced meeting, marked late -------
    clock.shift(dt.timedelta(minutes=30))
    materialise_meetings()
    item = AgendaItem.objects.get(issue=issue)
    assert (item.meeting, item.late) == (meeting, True)
    late = Notice.objects.get(kind="meeting_late_items", recipient=account, channel="inapp")

    # She hears of it under 消息, and the notice opens the meeting, where it is marked late.
    phone.locator("header a.brand").click()
    expect(phone).to_have_url(url + reverse("meetings:member_home"))
    expect(phone.locator(".tile-notices strong")).not_to_have_text("0")
    phone.locator("a.tile-notices").click()
    opens = reverse("members:notice_open", args=[late.pk])
    notice = phone.locator(f"a.notice-open[href='{opens}']")
    expect(notice).to_contain_text("临时增加")
    expect(notice).to_contain_text(TITLE)
    shot(member, "05-notice")
    with phone.expect_navigation():
        notice.click()
    expect(phone).to_have_url(url + reverse("meetings:detail", args=[meeting.pk]))
    expect(phone.locator(f"#item-{item.pk} .tag.late")).to_have_text("临时增加")
    expect(phone.locator(f"#item-{item.pk} h3")).to_have_text(TITLE)
    shot(member, "06-late-item")
    late.refresh_from_db()
    assert late.read_at is not None

    # --- 4. Friday 20 November, 13:01: she signs herself in from 我的会议 -------------------
    clock.move_to(local(2026, 11, 20, 13, 1))
    log_in(phone, "li_member")  # a new day: the session of Wednesday has lapsed
    expect(phone).to_have_url(url + reverse("meetings:member_home"))  # still 长辈版
    expect(phone.locator("html")).to_have_class("elder")
    phone.locator("a.tile-meetings").click()
    expect(phone).to_have_url(url + reverse("meetings:mine"))
    sign_me_in = phone.locator(f"#my-meeting-{meeting.pk} button.sign-me-in")
    box = sign_me_in.bounding_box()
    assert box["height"] >= 60 and box["width"] >= 60  # 长辈版's targets
    sign_me_in.click()
    expect(phone.locator(f"#my-meeting-{meeting.pk} .signed-in")).to_be_visible()
    shot(member, "07-signed-in-early")
    (attendance,) = Attendance.objects.filter(meeting=meeting)
    assert (attendance.member, attendance.how) == (li, Attendance.How.SELF)
    assert meeting.starts_at - attendance.signed_in_at > dt.timedelta(hours=1, minutes=55)

    # --- 5. Staff open the item: without a quorum no decision is recorded ------------------
    log_in(desk, "manan_staff")
    desk.locator(f"nav a[href='{reverse('meetings:list')}']").click()
    desk.locator(f"main a[href='{reverse('meetings:detail', args=[meeting.pk])}']").first.click()
    expect(desk).to_have_url(url + reverse("meetings:detail", args=[meeting.pk]))
    expect(desk.locator("#attendance .quorum.missing")).to_contain_text("已到：1 / 需到：3")
    row = desk.locator(f"#item-{item.pk}")
    expect(row.locator(".tag.late")).to_have_text("临时增加")
    row.locator("a.open-item").click()
    decide = desk.locator(f"#decide-{item.pk}")
    expect(decide).to_be_visible()
    decide.locator("select[name$='-outcome']").select_option(Decision.Outcome.SOLVE_BY_COUNCIL)
    decide.locator("textarea[name$='-notes']").fill("由李秀英牵头，和楼组长一起清理楼道。")
    decide.locator("label", has_text="李秀英").click()
    decide.locator("input[name$='-due_on']").fill("2026-11-27")
    decide.locator("button.all-for").click()
    summary = row.locator("[data-error-summary]")
    expect(summary).to_contain_text("尚不能记录决定：还需 2 位成员签到才达到法定人数。")
    shot(staff, "08-no-quorum")
    assert not Decision.objects.exists()
    issue.refresh_from_db()
    assert issue.status == Issue.Status.AWAITING

    # Staff sign in two members who have no phone of their own: three of five, a quorum.
    for absent in without_phone[:2]:
        desk.locator("#attendance form.sign-in", has_text=absent.resident.name).locator(
            "button"
        ).click()
        expect(desk.locator("#attendance .attendees").first).to_contain_text(absent.resident.name)
    expect(desk.locator("#attendance .quorum.reached")).to_contain_text("已到：3 / 需到：3")
    assert Attendance.objects.filter(meeting=meeting, how=Attendance.How.STAFF).count() == 2

    # What was typed is still there; all in favour in one tap.
    decide = desk.locator(f"#decide-{item.pk}")
    expect(decide.locator("select[name$='-outcome']")).to_have_value("solve_by_council")
    expect(decide.locator(f"input[type=checkbox][value='{li.pk}']")).to_be_checked()
    all_for = decide.locator("button.all-for")
    expect(all_for).to_have_text("全体赞成")
    all_for.click()
    expect(row.locator(".decision")).to_contain_text("由议事会解决")
    expect(row.locator(".tally")).to_contain_text("3 赞成 · 0 反对 · 0 弃权")
    shot(staff, "09-decided-all-in-favour")
    decision = Decision.objects.get(item=item)
    assert (decision.votes_for, decision.votes_against, decision.votes_abstain) == (3, 0, 0)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DECIDED
    assert list(issue.assigned_members.all()) == [li]

    # --- 6. Monday 23 November: she reports the work done, with a photo, from 我的任务 -----
    clock.move_to(local(2026, 11, 23, 9, 30))
    log_in(phone, "li_member")
    expect(phone).to_have_url(url + reverse("meetings:member_home"))
    expect(phone.locator(".tile-tasks strong")).to_have_text("1")
    phone.locator("a.tile-tasks").click()
    expect(phone.locator("main h1")).to_have_text("我的任务")
    phone.locator("#to-do a", has_text=TITLE).click()
    expect(phone.locator("main h1")).to_have_text(TITLE)
    expect(phone.locator("html")).to_have_class("elder")
    work = phone.locator("form[data-issue-form]")
    work.locator("textarea[name=note]").fill("和楼组长、两位邻居一起把杂物全部清走了。")
    work.locator("input[name=photos]").set_input_files(
        photo(tmp_path / "IMG_1002.jpg", (200, 200, 190), "3-1 stairwell, clear")
    )
    expect(work.locator("[data-photo-status]")).to_have_attribute("data-state", "ready")
    shot(member, "10-task")
    with phone.expect_navigation():
        work.get_by_role("button", name="报告已完成").click()
    expect(phone.locator(".messages .message")).to_contain_text("已报告完成")
    expect(phone.locator("#pending")).to_contain_text("全部清走了")
    shot(member, "11-reported-done")
    assert TaskReport.objects.get(issue=issue).reported_by == account
    assert Photo.objects.filter(issue=issue, kind=Photo.Kind.COMPLETION).count() == 1

    # --- 7. Staff confirm it: the matter is resolved and its review booked ----------------
    clock.shift(dt.timedelta(hours=1))
    log_in(desk, "manan_staff")
    # The notice that the work is reported done opens the task.
    desk.locator("header a.inbox").click()
    with desk.expect_navigation():
        desk.locator("li.notice.unread a.notice-open", has_text=TITLE).click()
    expect(desk).to_have_url(url + reverse("issues:task", args=[issue.pk]))
    expect(desk.locator("#task-timeline img")).to_have_count(1)  # her photo of the work
    with desk.expect_navigation():
        desk.get_by_role("button", name="确认完成").click()
    expect(desk.locator(".messages .message")).to_contain_text("已确认")
    shot(staff, "12-confirmed")
    issue.refresh_from_db()
    assert issue.status == Issue.Status.RESOLVED
    review = FollowUpReview.objects.get(issue=issue)
    assert review.state == FollowUpReview.State.PENDING
    assert review.due_at.date() == timezone.localdate() + dt.timedelta(
        days=manan.council.review_after_days
    )

    # --- 8. A week on, the review sweep texts her and puts the review on the next agenda ---
    clock.move_to(review.due_at + dt.timedelta(minutes=5))
    assert send_due_reviews()["sent"] == 1
    review.refresh_from_db()
    assert review.state == FollowUpReview.State.SENT
    (text,) = [message["text"] for message in sms_outbox if message["phone"] == PHONE]
    link = Notice.objects.get(kind="review_invite", phone=PHONE).context["link"]
    assert text == (
        f"【{settings.SMS_SIGNATURE}】马南社区：您反映的“{TITLE}”已办结，问题解决了吗？"
        f"请在30天内评价：{link}"
    )
    assert link.startswith(url + "/")  # the site's own address
    assert resolve(urlsplit(link).path).view_name == "public:rate"
    follow_up = AgendaItem.objects.get(issue=issue, kind=AgendaItem.Kind.REVIEW)
    assert follow_up.meeting.starts_at == local(2026, 12, 20, 15)

    # She opens the link from the text on her phone: the rating page, still in 长辈版.
    phone.goto(link)
    expect(phone.locator("main form.rating")).to_be_visible()
    expect(phone.locator("main")).to_contain_text(TITLE)
    expect(phone.locator("html")).to_have_class("elder")
    shot(member, "13-review-link")

    # --- 9. The matter's timeline shows every step -----------------------------------------
    log_in(desk, "manan_staff")
    desk.locator(f"nav a[href='{reverse('issues:inbox')}']").click()
    desk.locator("main a", has_text=TITLE).first.click()
    expect(desk).to_have_url(url + reverse("issues:detail", args=[issue.pk]))
    kinds = desk.locator(".timeline .event").evaluate_all(
        "items => items.map(item => item.className.split('event-')[1])"
    )
    assert kinds == [
        "created",
        "photo",  # her photo of the stairwell
        "status",  # → awaiting deliberation
        "deliberated",
        "status",  # → decided
        "assigned",
        "due",
        "photo",  # her photo of the work done
        "status",  # → in progress
        "task_done",
        "task_confirmed",
        "status",  # → resolved
        "review_sent",
    ], kinds
    statuses = desk.locator(".timeline .event-status")
    for number, label in enumerate(["待议", "已议定", "办理中", "已解决"]):
        expect(statuses.nth(number)).to_contain_text(label)
    expect(desk.locator(".timeline .event-task_done .note")).to_contain_text("全部清走了")
    shot(staff, "14-timeline")
    assert list(
        Event.objects.filter(issue=issue, kind=Event.Kind.TASK_CONFIRMED).values_list(
            "actor", flat=True
        )
    ) == [manan_staff.pk]

    assert member.problems == []
    assert staff.problems == []
