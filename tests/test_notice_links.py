"""Every notice opens what it is about: the notices page links each one to a short address
that marks it read and goes on to the meeting, minutes or matter; texts carry the same link.

And texts themselves: the sender's 【signature】 first, the site's real address, one question.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from deliberation.actions import minutes as minutes_actions
from deliberation.actions import notices as meeting_notices
from deliberation.management.commands import demo
from issues.actions import handling
from members import actions, extensions, notifications
from members.models import CouncilMember, ExportRecord, Notice
from tests import factories
from tests.helpers import issues as issue_helpers
from tests.helpers import visits as visit_teams

SITE = "https://yishi.example.org"


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    from common.sms import MemorySmsBackend

    MemorySmsBackend.outbox.clear()
    yield
    MemorySmsBackend.outbox.clear()


def sms_outbox() -> list[dict[str, str]]:
    from common.sms import MemorySmsBackend

    return MemorySmsBackend.outbox


@pytest.fixture
def site(settings):
    settings.BASE_URL = SITE
    settings.SMS_SIGNATURE = "南恩街道"
    return settings


@pytest.fixture
def things(manan, manan_staff, manan_member, manan_leader_term):
    """A matter, a task of the council's, a meeting and its minutes' draft in 马南社区, made
    through the actions."""
    issue = factories.issue(manan, actor=manan_staff, title="楼道堆放杂物")
    task = factories.issue(manan, actor=manan_staff, title="楼道堆物清理")
    for name in ("accept", "decide"):
        task = handling.issue_transition(issue=task, actor=manan_staff, name=name)
    task = handling.issue_assign(
        issue=task,
        actor=manan_staff,
        members=[manan_leader_term],
        due_on=timezone.localdate() + dt.timedelta(days=7),
    )
    meeting = factories.meeting(manan, timezone.now() - dt.timedelta(hours=2))
    minutes = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    export = ExportRecord.objects.create(
        actor=manan_staff, kind="inbox", format="csv", status="done", rows=12000
    )
    # A visiting team the member serves on too (street staff may serve on councils).
    team = visit_teams.team(manan.street, "马南走访队", leader=manan_member, communities=[manan])
    return {
        "export": export,
        "team": team,
        "issue": issue,
        "task": task,
        "meeting": meeting,
        "minutes": minutes,
        "community": manan,
    }


def tell(user, kind: str, context: dict, channels=("inapp",)) -> list[Notice]:
    """A notice delivered as the worker would: in the inbox (and on the channels named)."""
    from django.db import transaction

    with transaction.atomic():
        created = notifications.notify(user, kind, context, list(channels))
    for notice in created:
        notifications.deliver(notice.pk)
    return created


# Every kind a person with an account is told, and the page it opens, written out. A kind
# added without a page to open fails here. The member-task kinds name their matter too.
KIND_TARGETS = {
    "welcome": "home",
    "test": "home",
    "member_joined": "council",
    "issue_reported": "issue",
    "issue_assigned": "issue",
    "issue_escalated": "issue",
    "escalation_assigned": "issue",
    "escalation_returned": "issue",
    "escalation_reworked": "issue",
    "escalation_handled": "issue",
    "issue_resolved": "issue",
    "issue_overdue": "issue",
    "issue_reopened": "issue",
    "task_assigned": "task",
    "task_overdue": "task",
    "task_returned": "task",
    "task_done_reported": "task",
    "task_confirmed": "task",
    "meeting_notice": "meeting",
    "meeting_reminder": "meeting",
    "meeting_cancelled": "meeting",
    "meeting_moved": "meeting",
    "meeting_urgent": "meeting",
    "meeting_late_items": "meeting",
    "meeting_guest_invited": "meeting",
    "party_task": "meeting",
    "party_replied": "meeting",
    "minutes_ready": "minutes",
    "export_ready": "export",
    "round_overdue": "team",
}


def context_for(target: str, things: dict) -> dict:
    issue, meeting, minutes = things["issue"], things["meeting"], things["minutes"]
    return {
        "home": {"name": "王建国", "place": "马南社区", "text": "你好"},
        "council": {"name": "李阿姨", "council": "马南社区居民议事会",
                    "community_id": things["community"].pk},
        "issue": {"title": issue.title, "community": "马南社区", "issue_id": issue.pk},
        "task": {"title": things["task"].title, "community": "马南社区",
                 "issue_id": things["task"].pk},
        "meeting": {"council": "马南社区居民议事会", "when": "2026-11-18 08:00", "place": "议事点",
                    "title": issue.title, "meeting_id": meeting.pk, "issue_id": issue.pk,
                    "before": "2026-11-18 08:00", "reason": "议事点停电"},
        "minutes": {"council": "马南社区居民议事会", "date": "2026-11-18", "title": minutes.title,
                    "version": 1, "meeting_id": meeting.pk, "minutes_id": minutes.pk},
        "export": {"rows": 12000, "export_id": things["export"].pk},
        "team": {"team": things["team"].name, "visited": 3, "target": 40, "due": "2026-10-10",
                 "team_id": things["team"].pk, "round_id": 1},
    }[target]  # fmt: skip


def expected_path(target: str, things: dict) -> str:
    return {
        "home": "/",
        "council": f"/communities/{things['community'].pk}/council/",
        "issue": f"/issues/{things['issue'].pk}/",
        "task": f"/tasks/{things['task'].pk}/",
        "meeting": f"/meetings/{things['meeting'].pk}/",
        "minutes": f"/minutes/{things['minutes'].pk}/",
        "export": f"/issues/exports/{things['export'].pk}/",
        "team": f"/teams/{things['team'].pk}/",
    }[target]


def test_every_kind_told_to_a_person_with_an_account_has_a_page_to_open():
    inbox_kinds = {kind for kind, spec in notifications.KINDS.items() if not spec.to_residents}
    assert inbox_kinds <= set(KIND_TARGETS)
    assert set(KIND_TARGETS) <= extensions.notice_target.keys()
    assert {k for k, spec in notifications.KINDS.items() if spec.to_residents} == {
        "review_invite",
        "review_reminder",
        "asked_visit_scheduled",
        "meeting_guest_unit",
        "party_task_unit",
        "issue_reply",
        "supporter_progress",
    }


@pytest.mark.parametrize(("kind", "target"), sorted(KIND_TARGETS.items()))
def test_each_notice_in_the_list_opens_its_page_and_is_read(
    kind, target, things, manan_member, manan_staff, as_user, monkeypatch
):
    # A large export is told to the staff member who asked for it, and to nobody else.
    reader = manan_staff if target == "export" else manan_member
    (notice,) = tell(reader, kind, context_for(target, things))
    client = as_user(reader)

    page = client.get(reverse("members:notices")).content.decode()
    assert f'href="/n/{notice.pk}/"' in page

    opened = client.get(f"/n/{notice.pk}/")
    assert opened.status_code == 302
    assert opened["Location"] == expected_path(target, things)
    assert client.get(opened["Location"], follow=True).status_code == 200
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert client.get(reverse("members:notices")).context["unread_notices"] == 0


def test_minutes_to_approve_open_the_minutes(manan, manan_staff, manan_member, as_user):
    meeting = factories.meeting(manan, timezone.now() - dt.timedelta(hours=2))
    minutes = minutes_actions.minutes_draft(meeting=meeting, actor=manan_staff)
    notice = Notice.objects.get(kind="minutes_ready", recipient=manan_member)
    notifications.deliver(notice.pk)
    client = as_user(manan_member)

    with translation.override("zh-hans"):
        page = client.get(reverse("members:notices")).content.decode()
    assert "有会议纪要待您审定" in page and f'href="/n/{notice.pk}/"' in page
    opened = client.get(f"/n/{notice.pk}/", follow=True)
    assert opened.redirect_chain == [(f"/minutes/{minutes.pk}/", 302)]
    assert minutes.title in opened.content.decode()


def test_a_new_member_notice_opens_the_council(manan, manan_staff, manan_member, as_user):
    newcomer = factories.resident(manan, "李阿姨")
    actions.council_member_join(
        actor=manan_staff, council=manan.council, resident=newcomer, joined_on=dt.date(2026, 11, 1),
        category=CouncilMember.Category.RESIDENT_REPRESENTATIVE,
    )  # fmt: skip
    notice = Notice.objects.get(kind="member_joined", recipient=manan_member)
    notifications.deliver(notice.pk)
    opened = as_user(manan_member).get(f"/n/{notice.pk}/")
    assert opened["Location"] == f"/communities/{manan.pk}/council/"


def test_a_meeting_notice_from_the_announcement_opens_the_meeting(manan, manan_member, as_user):
    meeting = factories.meeting(manan, timezone.now() + dt.timedelta(days=2))
    meeting_notices.meeting_announce(
        meeting_id=meeting.pk, now=timezone.now(), kind="meeting_notice"
    )
    notice = Notice.objects.get(kind="meeting_notice", recipient=manan_member)
    opened = as_user(manan_member).get(f"/n/{notice.pk}/")
    assert opened["Location"] == f"/meetings/{meeting.pk}/"


def test_the_street_office_and_the_department_open_the_escalation_where_they_act(
    manan, manan_staff, nanen_admin, city_handler, other_admin, as_user
):
    issue = factories.issue(manan, actor=manan_staff, title="消防通道被占")
    escalation = issue_helpers.to_street(issue, manan_staff)
    told = Notice.objects.get(kind="issue_escalated", recipient=nanen_admin, channel="inapp")
    admin = as_user(nanen_admin)
    assert admin.get(f"/n/{told.pk}/")["Location"] == f"/escalations/{escalation.pk}/"

    issue_helpers.accept(escalation, nanen_admin)
    told = Notice.objects.get(kind="escalation_assigned", recipient=city_handler, channel="inapp")
    handler = as_user(city_handler)
    opened = handler.get(f"/n/{told.pk}/")
    assert opened["Location"] == f"/work/{escalation.pk}/"
    assert handler.get(opened["Location"]).status_code == 200

    # Another street's admin told about it (the street changed hands): not theirs to open.
    (stale,) = tell(other_admin, "issue_escalated", {"issue_id": issue.pk})
    assert as_user(other_admin).get(f"/n/{stale.pk}/").status_code == 404


@pytest.mark.outsider("members:notice_open")
def test_another_persons_notice_is_not_found_and_stays_unread(
    things, manan_staff, xingfu_staff, manan_member, as_user
):
    (notice,) = tell(manan_staff, "issue_assigned", context_for("issue", things))
    for outsider in (xingfu_staff, manan_member):
        client = as_user(outsider)
        assert client.get(f"/n/{notice.pk}/").status_code == 404
        assert client.get(f"/n/{notice.pk}/", HTTP_HX_REQUEST="true").status_code == 404
    assert as_user(manan_staff).get("/n/999999/").status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None
    assert as_user(manan_staff).get(f"/n/{notice.pk}/").status_code == 302  # its reader's


def test_a_notice_whose_page_is_no_longer_yours_is_not_found(things, manan_member, as_user):
    issue_notice = tell(manan_member, "issue_assigned", context_for("issue", things))[0]
    meeting_notice = tell(manan_member, "meeting_notice", context_for("meeting", things))[0]
    minutes_notice = tell(manan_member, "minutes_ready", context_for("minutes", things))[0]
    CouncilMember.objects.filter(roles__user=manan_member).update(left_on=dt.date(2026, 11, 1))
    client = as_user(manan_member)
    for notice in (issue_notice, meeting_notice, minutes_notice):
        response = client.get(f"/n/{notice.pk}/")
        assert response.status_code == 404
        assert "404.html" in [t.name for t in response.templates]
    # Opened all the same: it no longer waits in the inbox.
    assert client.get(reverse("members:notices")).context["unread_notices"] == 0


def test_a_notice_from_before_its_kind_named_a_page_leads_back_to_the_notices(
    manan_member, as_user
):
    (notice,) = tell(manan_member, "member_joined", {"name": "李阿姨", "council": "马南"})
    opened = as_user(manan_member).get(f"/n/{notice.pk}/")
    assert opened["Location"] == reverse("members:notices")


def test_anyone_signed_out_is_asked_to_sign_in_first(things, manan_member, client):
    (notice,) = tell(manan_member, "issue_assigned", context_for("issue", things))
    response = client.get(f"/n/{notice.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    notice.refresh_from_db()
    assert notice.read_at is None


# --- Texts ---------------------------------------------------------------------------------


def test_a_text_to_a_member_begins_with_the_signature_and_links_to_its_notice(
    site, things, manan_member, as_user
):
    manan_member.phone, manan_member.notify_by_sms = "13812345678", True
    manan_member.save()
    context = context_for("issue", things)
    inapp, sms = tell(manan_member, "issue_assigned", context, ["inapp", "sms"])
    (text,) = [message["text"] for message in sms_outbox()]
    link = f"{SITE}/n/{sms.pk}/"
    assert text == f"【南恩街道】马南社区：“楼道堆放杂物”交由您办理。 {link}"
    assert len(text) <= 70

    opened = as_user(manan_member).get(link.removeprefix(SITE))
    assert opened["Location"] == f"/issues/{things['issue'].pk}/"
    inapp.refresh_from_db()
    assert inapp.read_at is not None  # the same notice, read from the phone's text


def test_an_email_carries_the_link_too(site, things, manan_member):
    from django.core import mail

    manan_member.email, manan_member.notify_by_email = "wang@example.org", True
    manan_member.save()
    _inapp, email = tell(
        manan_member, "meeting_notice", context_for("meeting", things), ["inapp", "email"]
    )
    assert f"{SITE}/n/{email.pk}/" in mail.outbox[0].body


def test_the_rating_text_uses_the_sites_address_signs_and_asks_once(
    site, manan, manan_staff, django_capture_on_commit_callbacks
):
    title = "小区健身器材损坏严重需要尽快维修更换"
    issue = factories.resolved_issue(
        manan, actor=manan_staff, contact_phone="13900001111", title=title
    )
    with django_capture_on_commit_callbacks(execute=True):
        review = sweep_review(issue)
    (message,) = sms_outbox()
    text = message["text"]
    assert text.startswith("【南恩街道】")
    assert f"{SITE}/rate/{review.pk}-" in text
    assert "127.0.0.1" not in text
    assert text.count("解决了吗") == 1 and text.count("？") == 1
    # The title cut short: the rating page shows all of it.
    assert text == (
        f"【南恩街道】马南社区：您反映的“小区健身器材损坏严重需要尽快维…”已办结，问题解决了吗？"
        f"请在30天内评价：{Notice.objects.get(kind='review_invite').context['link']}"
    )


def sweep_review(issue):
    from deliberation.actions import review_items

    review = issue.reviews.get()
    review_items.reviews_sweep(now=review.due_at)
    review.refresh_from_db()
    return review


def test_the_signature_is_taken_with_or_without_brackets(monkeypatch):
    import importlib

    from deliberation import settings as project_settings

    monkeypatch.setenv("YISHI_SMS_SIGNATURE", "【南恩街道】")
    try:
        assert importlib.reload(project_settings).SMS_SIGNATURE == "南恩街道"
    finally:
        monkeypatch.delenv("YISHI_SMS_SIGNATURE")
        importlib.reload(project_settings)
    assert project_settings.SMS_SIGNATURE == "议事通"


# Every text a person or a resident can get, with a title of 16 characters and the demo's
# names: each begins with the signature, says its question once at most, and without its
# link fits one text message (70 characters).
TEXT_CONTEXT = {
    "name": "王建国", "place": "马南社区居民议事点", "council": "马南社区居民议事会",
    "community": "马南社区", "title": "楼道堆放杂物影响消防通道安全隐", "when": "2026-11-28 15:00",
    "version": 2, "date": "2026-11-28", "text": "明天下午三点开会", "link": "",
    "count": 2, "items": "“楼道堆物”、“东门路灯”",
    "team": "马南片区走访工作团队", "visited": 120, "target": 356, "due": "2026-10-10",
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(notifications.KINDS))
def test_every_text_signs_first_asks_once_and_is_short(site, kind):
    notice = Notice(pk=1, kind=kind, channel="sms", phone="13900001111", context=TEXT_CONTEXT)
    with translation.override("zh-hans"):
        text = notifications.sms_text(notice)
        subject = str(notifications.KINDS[kind].subject)
    assert text.startswith("【南恩街道】") and text.count("【") == 1
    assert subject not in text  # the subject is the email's; a text says it once
    assert text.count("？") <= 1
    assert len(text) <= 70, text


# --- Query counts --------------------------------------------------------------------------


def test_the_notices_page_runs_the_same_queries_for_3_and_30_notices(
    things, manan_member, as_user, django_assert_num_queries
):
    client = as_user(manan_member)
    for count in (3, 30):
        Notice.objects.filter(recipient=manan_member).delete()
        for i in range(count):
            target = ["issue", "meeting", "minutes"][i % 3]
            kind = {"issue": "issue_assigned", "meeting": "meeting_notice",
                    "minutes": "minutes_ready"}[target]  # fmt: skip
            Notice.objects.create(
                recipient=manan_member, kind=kind, channel="inapp", status="sent",
                key=f"q{count}-{i}:inapp", context=context_for(target, things),
            )  # fmt: skip
        # Session, user, roles, unread count, the page of notices.
        with django_assert_num_queries(4):
            page = client.get(reverse("members:notices"))
        assert page.content.decode().count('href="/n/') == count


@pytest.mark.parametrize(
    ("kind", "target"), [("issue_assigned", "issue"), ("meeting_notice", "meeting"),
                         ("minutes_ready", "minutes"), ("welcome", "home")],
)  # fmt: skip
def test_opening_a_notice_runs_a_fixed_number_of_queries(
    kind, target, things, manan_member, as_user, django_assert_num_queries
):
    (notice,) = tell(manan_member, kind, context_for(target, things))
    client = as_user(manan_member)
    # Session, user, the notice, marking it read; then whether its page is the reader's
    # (their roles, the page's row); a welcome needs neither.
    with django_assert_num_queries(4 if target == "home" else 6):
        assert client.get(f"/n/{notice.pk}/").status_code == 302


# --- The demo's address --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addrport", "expected"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("8001", "http://127.0.0.1:8001"),
        ("192.168.1.20:8000", "http://192.168.1.20:8000"),
        ("localhost:9000", "http://localhost:9000"),
        ("[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_the_demo_links_texts_to_the_address_it_serves(addrport, expected):
    assert demo.site_url(addrport) == expected


def test_the_demo_on_every_interface_links_to_this_machines_address(monkeypatch):
    monkeypatch.setattr(demo, "lan_address", lambda: "192.168.1.20")
    assert demo.site_url("0.0.0.0:8000") == "http://192.168.1.20:8000"
    assert demo.site_url("0:8000") == "http://192.168.1.20:8000"


def test_the_demo_command_sets_the_address_for_web_worker_and_beat(monkeypatch, settings):
    ran = []
    monkeypatch.setattr(demo, "call_command", lambda *args, **kwargs: ran.append(args[0]))
    monkeypatch.setattr(demo.Command, "_start_celery", lambda self: [])
    monkeypatch.delenv("YISHI_BASE_URL", raising=False)
    monkeypatch.delenv("RUN_MAIN", raising=False)
    call_command("demo", "127.0.0.1:8123")
    assert ran == ["migrate", "seed_demo", "runserver"]
    assert os.environ["YISHI_BASE_URL"] == "http://127.0.0.1:8123"  # what worker and beat read
    assert settings.BASE_URL == "http://127.0.0.1:8123"

    monkeypatch.setenv("YISHI_BASE_URL", "https://demo.example.org")
    call_command("demo", "127.0.0.1:8123")
    assert settings.BASE_URL == "https://demo.example.org"  # an address given is kept
