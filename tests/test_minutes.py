"""Meeting minutes: the draft from the meeting's record, editing, approval, corrections,
the printable PDF, the council's archive, and who may reach any of it."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from deliberation import minutes_queries, minutes_text
from deliberation.actions import closing, running
from deliberation.actions import minutes as minutes_actions
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Meeting, Minutes
from issues.actions import handling
from members import notifications
from members.models import CouncilMember, Notice, Role
from tests import factories

TZ = timezone.get_default_timezone()
STARTS = dt.datetime(2026, 3, 18, 15, 0, tzinfo=TZ)
CHINESE_TITLE = "马南社区居民议事会 2026-03-18 会议纪要"


def make_meeting(community, starts_at=STARTS, **fields) -> Meeting:
    return Meeting.objects.create(
        council=community.council,
        starts_at=starts_at,
        notice_due_at=starts_at - dt.timedelta(days=3),
        place="社区居民议事点",
        **fields,
    )


def awaiting(community, actor, **fields):
    issue = factories.issue(community, actor=actor, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


def member_account(term: CouncilMember, username: str):
    account = factories.user(username, display_name=term.resident.name)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return account


@pytest.fixture(autouse=True)
def english():
    """Texts are matched in English; the views get the language cookie."""
    with translation.override("en"):
        yield


def in_english(client):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def meeting(manan):
    return make_meeting(manan)


@pytest.fixture
def draft(meeting, manan_staff, manan_member):
    return minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)


@pytest.fixture
def approved(draft, manan_member):
    return minutes_actions.minutes_approve(minutes=draft, actor=manan_member)


def snapshot() -> list[tuple]:
    return list(
        Minutes.objects.order_by("pk").values_list(
            "pk", "meeting_id", "version", "state", "title", "text", "correction_reason", "updated"
        )
    )


# --- The draft ---------------------------------------------------------------------------


def test_the_draft_is_written_from_attendance_agenda_decisions_and_votes(
    meeting, manan, manan_staff, manan_leader_term, manan_member
):
    li = factories.council_member(manan, factories.resident(manan, "李秀英"))
    chen = factories.council_member(manan, factories.resident(manan, "陈志强"))
    factories.council_member(manan, factories.resident(manan, "张伟"))
    former = factories.council_member(manan, factories.resident(manan, "赵前任"))
    CouncilMember.objects.filter(pk=former.pk).update(left_on=dt.date(2025, 12, 1))
    for term in (manan_leader_term, li, chen):
        running.attendance_sign_in(meeting=meeting, member=term, actor=manan_staff, how="staff")

    stairs = AgendaItem.objects.create(
        meeting=meeting, issue=awaiting(manan, manan_staff, title="楼道堆物"), position=1
    )
    AgendaItem.objects.create(meeting=meeting, topic="社区环境整治", kind="topic", position=0)
    AgendaItem.objects.create(
        meeting=meeting,
        issue=awaiting(manan, manan_staff, title="被撤下的事项"),
        position=2,
        removed_at=timezone.now(),
        removed_by=manan_staff,
    )
    running.decision_record(
        item=stairs,
        actor=manan_staff,
        outcome="solve_by_council",
        notes="由楼组长牵头清理\n两周内完成",
        votes={manan_leader_term.pk: "for", li.pk: "for", chen.pk: "against"},
        members=[li],
        due_on=dt.date(2026, 4, 1),
    )

    closed_at = dt.datetime(2026, 3, 18, 17, 5, tzinfo=TZ)
    closing.meeting_close(meeting=meeting, actor=manan_staff, now=closed_at)

    minutes = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)

    assert (minutes.version, minutes.state, minutes.created_by) == (1, "draft", manan_staff)
    assert minutes.title == "Minutes of the 马南社区居民议事会 meeting of 2026-03-18"
    text = minutes.text
    assert "Time: 2026-03-18 15:00" in text
    assert "Place: 社区居民议事点" in text
    assert "Closed at: 2026-03-18 17:05" in text
    assert "Present: 3 of 4 active members (3 needed for a quorum: quorum reached)." in text
    for name in ("王建国", "李秀英", "陈志强"):
        assert re.search(rf"^- {name}, signed in at \d\d:\d\d$", text, re.MULTILINE), name
    assert "Absent: 张伟" in text
    assert "赵前任" not in text  # no longer a member: neither present nor absent
    code = stairs.issue.tracking_code
    assert text.index("1. 社区环境整治") < text.index(f"2. 楼道堆物 (tracking code {code})")
    assert "被撤下的事项" not in text  # taken off the agenda by hand
    assert "3." not in text.split("Agenda and decisions")[1]
    decided = text.split("2. 楼道堆物")[1]
    assert "Decision: the council solves it" in decided
    assert "Notes: 由楼组长牵头清理\n      两周内完成" in decided
    assert "Assigned to: 李秀英" in decided
    assert "Due on: 2026-04-01" in decided
    assert "Vote: 2 for · 1 against · 0 abstaining" in decided
    topic = text.split("1. 社区环境整治")[1].split("2. ")[0]
    assert "No decision was recorded." in topic


def test_drafting_again_returns_the_same_draft_and_tells_the_leader_once(
    meeting, manan_staff, manan_member
):
    first = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    again = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    assert again.pk == first.pk
    assert Minutes.objects.count() == 1
    notices = Notice.objects.filter(kind="minutes_ready")
    assert {n.key for n in notices} == {f"minutes_ready:{first.pk}:{manan_member.pk}:inapp"}
    assert notices.get().recipient == manan_member
    _subject, body = notifications.render(notices.get())
    assert first.title in body and "version 1" in body


def test_an_empty_meeting_still_gets_a_draft(meeting, manan_staff):
    minutes = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    assert "Nobody signed in." in minutes.text
    assert "The agenda was empty." in minutes.text


def test_drafting_is_for_staff_of_held_or_started_meetings(
    manan, manan_staff, manan_member, nanen_admin
):
    now = timezone.now()
    cancelled = make_meeting(manan, now - dt.timedelta(days=2), state="cancelled")
    with pytest.raises(ActionError, match="cancelled, so it has no minutes"):
        minutes_actions.minutes_draft(meeting=cancelled, actor=manan_staff)
    upcoming = make_meeting(manan, now + dt.timedelta(days=2), state="scheduled")
    with pytest.raises(ActionError, match="has not started yet"):
        minutes_actions.minutes_draft(meeting=upcoming, actor=manan_staff)
    started = make_meeting(manan, now - dt.timedelta(hours=1), state="scheduled")
    for outsider in (manan_member, nanen_admin):
        with pytest.raises(ActionError, match="Only the community's staff"):
            minutes_actions.minutes_draft(meeting=started, actor=outsider)
    assert not Minutes.objects.exists()
    assert minutes_actions.minutes_draft(meeting=started, actor=manan_staff).version == 1


# --- Editing -----------------------------------------------------------------------------


def test_staff_and_the_leader_edit_the_draft(draft, manan_staff, manan_member, nanen_admin):
    edited = minutes_actions.minutes_edit(
        minutes=draft,
        actor=manan_staff,
        title=f"  {CHINESE_TITLE} ",
        text="一、出席情况……",
        stamp=minutes_text.stamp_of(draft),
    )
    assert (edited.title, edited.text, edited.edited_by) == (
        CHINESE_TITLE,
        "一、出席情况……",
        manan_staff,
    )
    row = Minutes.objects.get(pk=draft.pk)
    assert (row.title, row.text, row.edited_by_id) == (
        CHINESE_TITLE,
        "一、出席情况……",
        manan_staff.pk,
    )
    by_leader = minutes_actions.minutes_edit(
        minutes=row,
        actor=manan_member,
        title=row.title,
        text="二、议题",
        stamp=minutes_text.stamp_of(row),
    )
    assert Minutes.objects.get(pk=draft.pk).edited_by == manan_member
    before = snapshot()
    with pytest.raises(ActionError, match="Only the community's staff or the council's"):
        minutes_actions.minutes_edit(
            minutes=by_leader,
            actor=nanen_admin,
            title="x",
            text="y",
            stamp=minutes_text.stamp_of(by_leader),
        )
    with pytest.raises(ActionError, match="Keep the title to 200 characters"):
        minutes_actions.minutes_edit(
            minutes=by_leader,
            actor=manan_staff,
            title="标" * 201,
            text="y",
            stamp=minutes_text.stamp_of(by_leader),
        )
    with pytest.raises(ActionError, match="cannot be empty"):
        minutes_actions.minutes_edit(
            minutes=by_leader,
            actor=manan_staff,
            title="x",
            text="  ",
            stamp=minutes_text.stamp_of(by_leader),
        )
    assert snapshot() == before


def test_a_stale_edit_is_refused_and_changes_nothing(draft, manan_staff, manan_member):
    opened = minutes_text.stamp_of(draft)  # both open the form
    minutes_actions.minutes_edit(
        minutes=draft, actor=manan_staff, title=draft.title, text="工作人员的版本", stamp=opened
    )
    before = snapshot()
    with pytest.raises(minutes_actions.StaleMinutes, match="changed these minutes") as refused:
        minutes_actions.minutes_edit(
            minutes=draft, actor=manan_member, title=draft.title, text="组长的版本", stamp=opened
        )
    assert refused.value.current.text == "工作人员的版本"
    for stamp in ("", "garbage", "2026-13-45T99:00:00"):
        with pytest.raises(minutes_actions.StaleMinutes):
            minutes_actions.minutes_edit(
                minutes=draft, actor=manan_member, title=draft.title, text="组长的版本", stamp=stamp
            )
    assert snapshot() == before
    assert Minutes.objects.get(pk=draft.pk).text == "工作人员的版本"


# --- Approval ----------------------------------------------------------------------------


def test_only_the_councils_current_leader_approves(
    draft, manan, manan_staff, manan_member, manan_leader_term, nanen_admin
):
    deputy = member_account(
        factories.council_member(manan, role=CouncilMember.Role.DEPUTY), "deputy"
    )
    plain = member_account(factories.council_member(manan), "plain_member")
    xingfu_leader = member_account(
        factories.council_member(factories.community("幸福村社区"), role=CouncilMember.Role.LEADER),
        "xingfu_leader",
    )
    before = snapshot()
    for actor in (manan_staff, nanen_admin, deputy, plain, xingfu_leader):
        with pytest.raises(ActionError, match="Only the council's leader"):
            minutes_actions.minutes_approve(minutes=draft, actor=actor)
    assert snapshot() == before

    approved = minutes_actions.minutes_approve(
        minutes=draft, actor=manan_member, stamp=minutes_text.stamp_of(draft)
    )
    row = Minutes.objects.get(pk=draft.pk)
    assert (row.state, row.approved_by, row.version) == ("approved", manan_member, 1)
    assert row.approved_at == approved.approved_at is not None


def test_a_former_leader_no_longer_approves(draft, manan_leader_term, manan_member):
    CouncilMember.objects.filter(pk=manan_leader_term.pk).update(left_on=dt.date(2026, 3, 20))
    with pytest.raises(ActionError, match="Only the council's leader"):
        minutes_actions.minutes_approve(minutes=draft, actor=manan_member)


def test_the_leader_approves_only_the_text_they_read(draft, manan_staff, manan_member):
    read = minutes_text.stamp_of(draft)
    minutes_actions.minutes_edit(
        minutes=draft, actor=manan_staff, title=draft.title, text="后来的修改", stamp=read
    )
    with pytest.raises(minutes_actions.StaleMinutes, match="read them again"):
        minutes_actions.minutes_approve(minutes=draft, actor=manan_member, stamp=read)
    assert Minutes.objects.get(pk=draft.pk).state == "draft"


def test_approved_minutes_cannot_change(approved, manan_staff, manan_member):
    before = snapshot()
    for actor in (manan_staff, manan_member):
        with pytest.raises(ActionError, match="approved and can no longer be changed"):
            minutes_actions.minutes_edit(
                minutes=approved,
                actor=actor,
                title="改过的标题",
                text="改过的内容",
                stamp=minutes_text.stamp_of(approved),
            )
    with pytest.raises(ActionError, match="already approved"):
        minutes_actions.minutes_approve(minutes=approved, actor=manan_member)
    with pytest.raises(ActionError, match="start a correction"):
        minutes_actions.minutes_draft(meeting=approved.meeting, actor=manan_staff)
    assert snapshot() == before


# --- Corrections -------------------------------------------------------------------------


def test_a_correction_is_a_new_version_and_the_approved_one_stays(
    approved, manan_staff, manan_member
):
    version_1 = snapshot()
    with pytest.raises(ActionError, match="Say why"):
        minutes_actions.minutes_correct(minutes=approved, actor=manan_staff, reason="  ")
    assert snapshot() == version_1

    correction = minutes_actions.minutes_correct(
        minutes=approved, actor=manan_staff, reason="出席人数记录有误"
    )
    assert (correction.version, correction.state) == (2, "draft")
    assert (correction.title, correction.text) == (approved.title, approved.text)
    assert correction.correction_reason == "出席人数记录有误"
    assert snapshot()[0] == version_1[0]  # version 1 is untouched
    assert Notice.objects.filter(key__startswith=f"minutes_ready:{correction.pk}:").exists()

    with pytest.raises(ActionError, match="being drafted already"):
        minutes_actions.minutes_correct(minutes=approved, actor=manan_member, reason="再改")

    minutes_actions.minutes_edit(
        minutes=correction,
        actor=manan_member,
        title=correction.title,
        text=correction.text + "\n更正：实到 4 人。",
        stamp=minutes_text.stamp_of(correction),
    )
    minutes_actions.minutes_approve(minutes=correction, actor=manan_member)
    assert list(
        Minutes.objects.filter(meeting=approved.meeting)
        .order_by("version")
        .values_list("version", "state")
    ) == [(1, "approved"), (2, "approved")]
    assert minutes_queries.latest_for(approved.meeting).pk == correction.pk
    assert Minutes.objects.get(pk=approved.pk).text == approved.text


def test_a_draft_is_edited_not_corrected(draft, manan_staff):
    with pytest.raises(ActionError, match="being drafted already"):
        minutes_actions.minutes_correct(minutes=draft, actor=manan_staff, reason="改")


def test_the_leader_who_starts_a_correction_is_not_told_about_it(approved, manan_member):
    correction = minutes_actions.minutes_correct(
        minutes=approved, actor=manan_member, reason="错字"
    )
    assert not Notice.objects.filter(key__startswith=f"minutes_ready:{correction.pk}:").exists()


# --- Views -------------------------------------------------------------------------------


def test_staff_draft_and_edit_through_the_pages(meeting, manan_staff, manan_member, as_user):
    client = in_english(as_user(manan_staff))
    empty = client.get(reverse("minutes:meeting", args=[meeting.pk]))
    assert empty.status_code == 200
    assert reverse("minutes:draft", args=[meeting.pk]) in empty.content.decode()

    response = client.post(reverse("minutes:draft", args=[meeting.pk]))
    minutes = Minutes.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("minutes:edit", args=[minutes.pk])
    again = client.post(reverse("minutes:draft", args=[meeting.pk]))
    assert again["Location"] == reverse("minutes:edit", args=[minutes.pk])
    assert Minutes.objects.count() == 1

    form = client.get(reverse("minutes:edit", args=[minutes.pk]))
    assert form.status_code == 200
    stamp = form.context["form"]["stamp"].value()
    saved = client.post(
        reverse("minutes:edit", args=[minutes.pk]),
        {"title": CHINESE_TITLE, "text": "一、出席情况", "stamp": stamp},
    )
    assert saved.status_code == 302
    assert Minutes.objects.get().text == "一、出席情况"

    invalid = client.post(
        reverse("minutes:edit", args=[minutes.pk]),
        {"title": "我输入的标题", "text": "", "stamp": stamp},
    )
    assert invalid.status_code == 422
    assert 'value="我输入的标题"' in invalid.content.decode()


def test_a_stale_form_comes_back_with_what_was_typed(draft, manan_staff, manan_member, as_user):
    stamp = minutes_text.stamp_of(draft)
    minutes_actions.minutes_edit(
        minutes=draft, actor=manan_member, title=draft.title, text="组长先保存的内容", stamp=stamp
    )
    client = in_english(as_user(manan_staff))
    url = reverse("minutes:edit", args=[draft.pk])
    response = client.post(
        url, {"title": draft.title, "text": "工作人员输入的内容", "stamp": stamp}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Someone changed these minutes after you opened them." in html
    assert "工作人员输入的内容</textarea>" in html
    assert "组长先保存的内容" in html  # the current text, to compare
    assert Minutes.objects.get(pk=draft.pk).text == "组长先保存的内容"
    # Saving again after comparing replaces the text on purpose.
    fresh = response.context["form"]["stamp"].value()
    again = client.post(url, {"title": draft.title, "text": "工作人员输入的内容", "stamp": fresh})
    assert again.status_code == 302
    assert Minutes.objects.get(pk=draft.pk).text == "工作人员输入的内容"


def test_approval_through_the_page_is_for_the_leader_only(
    draft, manan, manan_staff, manan_member, nanen_admin, as_user
):
    plain = member_account(factories.council_member(manan), "plain_member")
    url = reverse("minutes:approve", args=[draft.pk])
    stamp = minutes_text.stamp_of(draft)
    for actor in (manan_staff, nanen_admin, plain):
        assert as_user(actor).post(url, {"stamp": stamp}).status_code == 403
    assert Minutes.objects.get().state == "draft"

    client = in_english(as_user(manan_member))
    page = client.get(reverse("minutes:detail", args=[draft.pk]))
    assert f'href="{url}"' in page.content.decode()  # a link to the confirmation, not a post
    # One tap is not an approval: the page asks first, and says the minutes lock.
    asked = client.post(url, {"stamp": stamp})
    assert asked.status_code == 200
    assert "Once approved, the minutes are locked and can no longer be changed." in (
        asked.content.decode()
    )
    assert Minutes.objects.get().state == "draft"
    confirm = client.get(url).content.decode()
    assert "Once approved, the minutes are locked" in confirm
    assert 'name="confirmed" value="yes"' in confirm and "Yes, approve and lock" in confirm
    response = client.post(url, {"stamp": stamp, "confirmed": "yes"}, follow=True)
    assert "The minutes are approved." in response.content.decode()
    assert Minutes.objects.get().state == "approved"
    again = client.get(url, follow=True)
    assert "already approved" in again.content.decode()


def test_editing_approved_minutes_through_the_page_says_so_and_changes_nothing(
    approved, manan_staff, as_user
):
    client = in_english(as_user(manan_staff))
    url = reverse("minutes:edit", args=[approved.pk])
    opened = client.get(url, follow=True)
    assert opened.redirect_chain[-1][0] == reverse("minutes:detail", args=[approved.pk])
    assert "approved and can no longer be changed" in opened.content.decode()
    before = snapshot()
    posted = client.post(
        url, {"title": "改", "text": "我想改的内容", "stamp": minutes_text.stamp_of(approved)}
    )
    assert posted.status_code == 422
    html = posted.content.decode()
    assert "approved and can no longer be changed" in html
    assert "我想改的内容</textarea>" in html
    assert snapshot() == before


def test_a_correction_through_the_pages_keeps_the_old_version_readable(
    approved, manan_staff, as_user
):
    client = in_english(as_user(manan_staff))
    url = reverse("minutes:correct", args=[approved.pk])
    assert client.get(url).status_code == 200
    missing = client.post(url, {"reason": ""})
    assert missing.status_code == 422
    response = client.post(url, {"reason": "漏记了一项决定"})
    correction = Minutes.objects.get(version=2)
    assert response["Location"] == reverse("minutes:edit", args=[correction.pk])
    # A second correction while one is drafted goes to that draft.
    assert client.get(url)["Location"] == reverse("minutes:edit", args=[correction.pk])

    page = client.get(reverse("minutes:meeting", args=[approved.meeting_id]))
    assert page.context["shown"] == correction
    assert [v.version for v in page.context["versions"]] == [2, 1]
    html = page.content.decode()
    assert reverse("minutes:detail", args=[approved.pk]) in html
    assert "漏记了一项决定" in html
    old = client.get(reverse("minutes:detail", args=[approved.pk]))
    assert old.status_code == 200
    assert old.context["shown"] == approved
    assert "earlier version" in old.content.decode()


def test_street_admins_and_members_read_but_do_not_act(draft, manan, nanen_admin, as_user):
    plain = member_account(factories.council_member(manan), "plain_member")
    before = snapshot()
    for actor in (nanen_admin, plain):
        client = as_user(actor)
        assert client.get(reverse("minutes:meeting", args=[draft.meeting_id])).status_code == 200
        assert client.get(reverse("minutes:detail", args=[draft.pk])).status_code == 200
        assert client.get(reverse("minutes:archive", args=[manan.council.pk])).status_code == 200
        assert client.post(reverse("minutes:draft", args=[draft.meeting_id])).status_code == 403
        assert client.get(reverse("minutes:edit", args=[draft.pk])).status_code == 403
        assert client.post(reverse("minutes:edit", args=[draft.pk]), {}).status_code == 403
        assert client.post(reverse("minutes:correct", args=[draft.pk]), {}).status_code == 403
        assert client.post(reverse("minutes:approve", args=[draft.pk])).status_code == 403
        assert client.get(reverse("minutes:approve", args=[draft.pk])).status_code == 403
    assert snapshot() == before


# --- The PDF -----------------------------------------------------------------------------


def pdf_fonts(reader) -> set[str]:
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font", {})
        for font in fonts.values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_pdf_of_approved_minutes_sets_the_chinese_title_in_a_cjk_font(
    draft, manan_staff, manan_member, as_user
):
    from pypdf import PdfReader

    minutes_actions.minutes_edit(
        minutes=draft,
        actor=manan_staff,
        title=CHINESE_TITLE,
        text="一、出席情况：王建国等 3 人。\n二、议题：楼道堆物，由楼组长牵头清理。",
        stamp=minutes_text.stamp_of(draft),
    )
    minutes_actions.minutes_approve(minutes=draft, actor=manan_member)
    response = in_english(as_user(manan_staff)).get(reverse("minutes:pdf", args=[draft.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert 'filename="minutes-2026-03-18-v1.pdf"' in disposition
    assert "filename*=UTF-8''%E9%A9%AC%E5%8D%97" in disposition  # 马南…
    disposition.encode("ascii")  # the header itself stays ASCII
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert squeezed(CHINESE_TITLE) in squeezed(text)
    assert "由楼组长牵头清理" in squeezed(text)
    assert "DRAFT" not in text
    assert any("CJK" in name for name in pdf_fonts(reader)), pdf_fonts(reader)


def test_the_pdf_of_a_draft_is_marked_as_a_draft(draft, manan_member, as_user):
    from pypdf import PdfReader

    response = in_english(as_user(manan_member)).get(reverse("minutes:pdf", args=[draft.pk]))
    assert response.status_code == 200
    assert 'filename="minutes-2026-03-18-v1-draft.pdf"' in response["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Draft — not yet approved" in text
    assert "DRAFT" in squeezed(text)


def test_typed_text_stays_text_in_the_pdf(draft):
    from deliberation import minutes_pdf

    draft.text = (
        '<img src="http://127.0.0.1:9/x.png"><link rel=stylesheet href="file:///etc/passwd">'
    )
    html = minutes_pdf.render_html(draft)
    assert "&lt;img" in html and "<img" not in html
    assert "<link" not in html


# --- The archive -------------------------------------------------------------------------


def with_minutes(community, starts_at, actor, leader=None, *, corrected=False) -> Meeting:
    meeting = make_meeting(community, starts_at)
    minutes = minutes_actions.minutes_draft(meeting=meeting, actor=actor)
    if leader is not None:
        minutes_actions.minutes_approve(minutes=minutes, actor=leader)
        if corrected:
            minutes_actions.minutes_correct(minutes=minutes, actor=actor, reason="更正")
    return meeting


def test_the_archive_lists_meetings_with_minutes_newest_first(
    manan, xingfu, manan_staff, manan_member, xingfu_staff, as_user
):
    first = with_minutes(manan, STARTS, manan_staff, manan_member)
    second = with_minutes(manan, STARTS + dt.timedelta(days=10), manan_staff)
    third = with_minutes(
        manan, STARTS + dt.timedelta(days=20), manan_staff, manan_member, corrected=True
    )
    make_meeting(manan, STARTS + dt.timedelta(days=30))  # held, nothing drafted yet
    with_minutes(xingfu, STARTS + dt.timedelta(days=5), xingfu_staff)

    response = in_english(as_user(manan_member)).get(
        reverse("minutes:archive", args=[manan.council.pk])
    )
    assert response.status_code == 200
    rows = response.context["page"].rows
    assert [m.pk for m in rows] == [third.pk, second.pk, first.pk]
    latest = {m.pk: (m.latest_version, m.latest_state, m.approved_version) for m in rows}
    assert latest == {
        third.pk: (2, "draft", 1),
        second.pk: (1, "draft", None),
        first.pk: (1, "approved", 1),
    }
    html = response.content.decode()
    approved_v1 = Minutes.objects.get(meeting=third, version=1)
    assert reverse("minutes:pdf", args=[approved_v1.pk]) in html
    assert reverse("minutes:pdf", args=[Minutes.objects.get(meeting=second).pk]) in html
    assert rows[2].approved_on.date() == timezone.now().date()


def test_the_archive_pages_by_key(manan, manan_staff):
    meetings = [
        with_minutes(manan, STARTS + dt.timedelta(days=day), manan_staff) for day in range(5)
    ]
    council = manan.council
    seen, cursor = [], ""
    for _ in range(3):
        page = minutes_queries.archive(council, cursor=cursor, size=2)
        seen += [m.pk for m in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [m.pk for m in reversed(meetings)]


# --- Query counts ------------------------------------------------------------------------


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_archive_query_count_is_pinned_for_1_and_many_meetings(
    manan, manan_staff, manan_member, as_user, django_assert_num_queries
):
    client = as_user(manan_member)
    url = reverse("minutes:archive", args=[manan.council.pk])
    with_minutes(manan, STARTS, manan_staff, manan_member, corrected=True)
    one = count(client, url)
    for day in range(1, 30):
        with_minutes(manan, STARTS + dt.timedelta(days=day), manan_staff, manan_member)
    # session, user with its unread notices, roles; council (scoped); the page of meetings
    # with their latest and approved versions.
    with django_assert_num_queries(5):
        client.get(url)
    assert one == count(client, url) == 5


def test_minutes_page_query_count_is_pinned_for_1_and_many_versions(
    meeting, manan_staff, manan_member, as_user, django_assert_num_queries
):
    draft = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    client = as_user(manan_member)
    urls = [
        reverse("minutes:meeting", args=[meeting.pk]),
        reverse("minutes:detail", args=[draft.pk]),
    ]
    few = [count(client, url) for url in urls]
    latest = draft
    for _ in range(6):
        minutes_actions.minutes_approve(minutes=latest, actor=manan_member)
        latest = minutes_actions.minutes_correct(minutes=latest, actor=manan_staff, reason="更正")
    # session, user with its unread notices, roles; meeting or version (scoped); the
    # versions with their people; whether the reader leads the council.
    for url in urls:
        with django_assert_num_queries(6):
            client.get(url)
    assert few == [count(client, url) for url in urls] == [6, 6]


def test_latest_for_is_one_query(approved, manan_staff, django_assert_num_queries):
    minutes_actions.minutes_correct(minutes=approved, actor=manan_staff, reason="更正")
    with django_assert_num_queries(1):
        latest = minutes_queries.latest_for(approved.meeting)
    assert latest.version == 2


# --- The card on the meeting page --------------------------------------------------------


def card(**context) -> str:
    return render_to_string("meetings/_minutes_card.html", context)


def test_the_card_offers_what_each_person_may_do(
    meeting, manan, manan_staff, manan_member, manan_leader_term
):
    council = manan.council
    base = {"meeting": meeting, "council": council}
    draft_url = reverse("minutes:draft", args=[meeting.pk])
    nothing = card(**base, can_run=True, own_term=None, minutes=None, minutes_draftable=True)
    assert draft_url in nothing
    assert draft_url not in card(
        **base, can_run=False, own_term=manan_leader_term, minutes=None, minutes_draftable=True
    )
    assert draft_url not in card(
        **base, can_run=True, own_term=None, minutes=None, minutes_draftable=False
    )
    draft = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    for_staff = card(**base, can_run=True, own_term=None, minutes=draft, minutes_draftable=True)
    assert reverse("minutes:edit", args=[draft.pk]) in for_staff
    assert reverse("minutes:pdf", args=[draft.pk]) in for_staff
    for_leader = card(
        **base, can_run=False, own_term=manan_leader_term, minutes=draft, minutes_draftable=True
    )
    assert "Review and approve" in for_leader
    approved = minutes_actions.minutes_approve(minutes=draft, actor=manan_member)
    for_member = card(**base, can_run=False, own_term=None, minutes=approved)
    assert reverse("minutes:detail", args=[draft.pk]) in for_member
    assert reverse("minutes:edit", args=[draft.pk]) not in for_member
    assert reverse("minutes:archive", args=[council.pk]) in for_member


# --- Scoping -----------------------------------------------------------------------------


def minutes_urls(meeting, minutes) -> list[tuple[str, str, dict]]:
    return [
        ("get", reverse("minutes:meeting", args=[meeting.pk]), {}),
        ("post", reverse("minutes:draft", args=[meeting.pk]), {}),
        ("get", reverse("minutes:detail", args=[minutes.pk]), {}),
        ("get", reverse("minutes:edit", args=[minutes.pk]), {}),
        (
            "post",
            reverse("minutes:edit", args=[minutes.pk]),
            {"title": "入侵", "text": "入侵", "stamp": minutes_text.stamp_of(minutes)},
        ),
        ("get", reverse("minutes:approve", args=[minutes.pk]), {}),
        ("post", reverse("minutes:approve", args=[minutes.pk]), {"confirmed": "yes"}),
        ("get", reverse("minutes:correct", args=[minutes.pk]), {}),
        ("post", reverse("minutes:correct", args=[minutes.pk]), {"reason": "入侵"}),
        ("get", reverse("minutes:pdf", args=[minutes.pk]), {}),
        ("get", reverse("minutes:archive", args=[meeting.council_id]), {}),
    ]


@pytest.mark.outsider(
    "minutes:meeting",
    "minutes:draft",
    "minutes:detail",
    "minutes:edit",
    "minutes:approve",
    "minutes:correct",
    "minutes:pdf",
    "minutes:archive",
)
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin", "city_handler"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_get_404_on_every_minutes_url(request, outsider, htmx, draft, as_user):
    client = as_user(request.getfixturevalue(outsider))
    before = (snapshot(), Notice.objects.count())
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for method, url, payload in minutes_urls(draft.meeting, draft):
        response = getattr(client, method)(url, payload, **headers)
        assert response.status_code == 404, (outsider, method, url, response.status_code)
    assert (snapshot(), Notice.objects.count()) == before


@pytest.mark.outsider(
    "minutes:meeting",
    "minutes:draft",
    "minutes:detail",
    "minutes:edit",
    "minutes:approve",
    "minutes:correct",
    "minutes:pdf",
    "minutes:archive",
)
def test_an_outsider_gets_404_on_approved_minutes_too(approved, xingfu_staff, as_user):
    client = as_user(xingfu_staff)
    before = snapshot()
    for method, url, payload in minutes_urls(approved.meeting, approved):
        assert getattr(client, method)(url, payload).status_code == 404, url
    assert snapshot() == before


def test_anonymous_visitors_are_sent_to_login(draft, client):
    for method, url, payload in minutes_urls(draft.meeting, draft):
        response = getattr(client, method)(url, payload)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_printing_a_pdf_leaves_truncated_photos_refused():
    """WeasyPrint's import switches on Pillow's LOAD_TRUNCATED_IMAGES for the whole process;
    a process that printed minutes or a report must still refuse a half-uploaded photo."""
    from django.core.exceptions import ValidationError

    from common.pdf import pdf_from_html
    from issues import photos
    from tests.helpers.photos import truncated_jpeg

    assert pdf_from_html("<p>马南社区</p>").startswith(b"%PDF")

    with pytest.raises(ValidationError):
        photos.process(truncated_jpeg())
