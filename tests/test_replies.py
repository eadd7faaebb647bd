"""Replies to the resident, internal notes, the street's reply templates, and the first-reply
deadline each category sets."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from common.periods import Period
from issues.actions import intake, replies
from issues.models import Category, Event, Issue, ReplyTemplate
from issues.queries import overdue_issue_ids
from members.models import Notice
from reports import dashboard
from tests import factories

REPLY_TEXT = "您好，已联系物业，本周内更换楼道灯。"
NOTE_TEXT = "物业经理电话 138xxxx，态度不好，下周再催"


@pytest.fixture
def reported(manan, manan_staff):
    resident = factories.resident(manan, "李秀英", phone="13900001234", building="5栋")
    return factories.issue(manan, actor=manan_staff, title="五栋楼道灯不亮", reporter=resident)


def post_text(client, issue: Issue, kind: str, text: str, key: str = ""):
    payload = {"kind": kind, "text": text, "submission_key": key or f"k-{kind}-{text[:4]}"}
    return client.post(reverse("issues:comment", args=[issue.pk]), payload)


def test_a_reply_reaches_the_resident_and_an_internal_note_never_does(
    reported, manan_staff, as_user, django_capture_on_commit_callbacks
):
    client = as_user(manan_staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_text(client, reported, "note", NOTE_TEXT).status_code == 302
        assert post_text(client, reported, "reply", REPLY_TEXT).status_code == 302

    tracking = client.get(reverse("public:track_issue", args=[reported.tracking_code]))
    page = tracking.content.decode()
    assert REPLY_TEXT in page
    assert NOTE_TEXT not in page and "物业经理" not in page

    texts = Notice.objects.filter(recipient__isnull=True)
    assert [(n.kind, n.phone) for n in texts] == [("issue_reply", "13900001234")]
    assert NOTE_TEXT not in str([n.context for n in Notice.objects.all()])
    assert REPLY_TEXT in texts.get().context["reply"]

    # Staff see both on the timeline, each marked for who reads it and who wrote it.
    staff_page = client.get(reverse("issues:detail", args=[reported.pk])).content.decode()
    assert NOTE_TEXT in staff_page and REPLY_TEXT in staff_page
    note, reply = reported.events.filter(kind__in=["comment", "reply"]).order_by("id")
    assert (note.kind, note.is_public, note.actor) == ("comment", False, manan_staff)
    assert (reply.kind, reply.is_public, reply.actor) == ("reply", True, manan_staff)


def test_the_same_reply_sent_twice_by_a_double_tap_texts_once(
    reported, manan_staff, as_user, django_capture_on_commit_callbacks
):
    client = as_user(manan_staff)
    with django_capture_on_commit_callbacks(execute=True):
        post_text(client, reported, "reply", REPLY_TEXT, key="same-key")
        post_text(client, reported, "reply", REPLY_TEXT, key="same-key")
    assert reported.events.filter(kind=Event.Kind.REPLY).count() == 1
    assert Notice.objects.filter(kind="issue_reply").count() == 1


def test_council_members_write_internal_notes_only(reported, manan_member, as_user):
    client = as_user(manan_member)
    page = client.get(reverse("issues:detail", args=[reported.pk])).content.decode()
    assert 'name="kind"' not in page
    assert post_text(client, reported, "reply", REPLY_TEXT).status_code == 302
    event = reported.events.get(note=REPLY_TEXT)
    assert (event.kind, event.is_public) == ("comment", False)
    assert not Notice.objects.filter(kind="issue_reply").exists()


def test_an_empty_reply_is_refused_and_the_choice_kept(reported, manan_staff, as_user):
    response = post_text(as_user(manan_staff), reported, "reply", "   ")
    assert response.status_code == 422
    assert re.search(r'value="reply"[^>]*checked', response.content.decode())
    assert not reported.events.filter(kind=Event.Kind.REPLY).exists()


# --- Templates --------------------------------------------------------------------------------


def test_a_template_fills_in_the_residents_name_the_code_and_dates(
    reported, manan_staff, nanen, as_user
):
    client = as_user(manan_staff)
    response = client.post(
        reverse("issues:replies", args=[nanen.pk]),
        {"title": "已受理", "body": "{称呼}您好，您反映的问题（查询码 {code}）已于{日期}受理。"},
    )
    assert response.status_code == 302
    template = ReplyTemplate.objects.get(street=nanen)

    url = reverse("issues:detail", args=[reported.pk])
    page = client.get(url, {"reply_template": template.pk}).content.decode()
    today = timezone.localdate()
    assert f"李秀英您好，您反映的问题（查询码 {reported.tracking_code}）已于" in page
    assert f"{today:%Y-%m-%d}" in page or f"{today.year}" in page
    assert re.search(r'value="reply"[^>]*checked', page)

    partial = client.get(url, {"reply_template": template.pk}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert 'id="comment-form"' in body and "<html" not in body and "李秀英您好" in body


def test_an_unknown_placeholder_is_refused_with_what_was_typed_kept(nanen, manan_staff, as_user):
    typed = "{居民}您好，已处理。"
    response = as_user(manan_staff).post(
        reverse("issues:replies", args=[nanen.pk]), {"title": "已处理", "body": typed}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "{居民}" in page and typed in page
    assert not ReplyTemplate.objects.exists()


def test_two_templates_of_a_street_cannot_share_a_title_until_one_is_retired(
    nanen, manan_staff, as_user
):
    client = as_user(manan_staff)
    url = reverse("issues:replies", args=[nanen.pk])
    client.post(url, {"title": "已受理", "body": "已受理。"})
    assert client.post(url, {"title": "已受理", "body": "又一个"}).status_code == 422
    first = ReplyTemplate.objects.get()
    client.post(reverse("issues:reply_retire", args=[first.pk]))
    assert client.post(url, {"title": "已受理", "body": "新的"}).status_code == 302
    assert list(ReplyTemplate.objects.filter(is_active=True).values_list("body", flat=True)) == [
        "新的"
    ]


@pytest.mark.outsider("issues:replies", "issues:reply_edit", "issues:reply_retire")
@pytest.mark.parametrize("outsider", ["other_admin", "manan_member"])
def test_another_streets_people_and_council_members_cannot_reach_the_templates(
    request, outsider, nanen, as_user
):
    template = ReplyTemplate.objects.create(street=nanen, title="已受理", body="已受理。")
    client = as_user(request.getfixturevalue(outsider))
    for method, url, payload in [
        ("get", reverse("issues:replies", args=[nanen.pk]), {}),
        ("post", reverse("issues:replies", args=[nanen.pk]), {"title": "x", "body": "y"}),
        ("get", reverse("issues:reply_edit", args=[template.pk]), {}),
        ("post", reverse("issues:reply_edit", args=[template.pk]), {"title": "x", "body": "y"}),
        ("post", reverse("issues:reply_retire", args=[template.pk]), {}),
    ]:
        response = getattr(client, method)(url, payload)
        assert response.status_code == 404, (outsider, method, url)
    template.refresh_from_db()
    assert (template.title, template.body, template.is_active) == ("已受理", "已受理。", True)
    assert ReplyTemplate.objects.count() == 1


def test_another_streets_template_is_not_offered_on_a_matter(
    reported, manan_staff, chengbei, as_user
):
    foreign = ReplyTemplate.objects.create(street=chengbei, title="外街", body="外街的回复")
    url = reverse("issues:detail", args=[reported.pk])
    page = as_user(manan_staff).get(url, {"reply_template": foreign.pk}).content.decode()
    assert "外街" not in page


# --- First-reply deadlines -------------------------------------------------------------------


@pytest.fixture
def one_day_reply(nanen) -> Category:
    category = factories.category(nanen, "security")
    category.first_reply_days = 1
    category.save()
    return category


def test_a_category_gives_new_matters_a_first_reply_deadline(manan, manan_staff, one_day_reply):
    issue = factories.issue(manan, actor=manan_staff, code="security")
    other = factories.issue(manan, actor=manan_staff, code="other")
    assert issue.reply_due_on == timezone.localdate() + dt.timedelta(days=1)
    assert other.reply_due_on is None


def test_a_matter_without_a_reply_past_its_deadline_is_overdue_until_replied(
    manan, manan_staff, nanen_admin, one_day_reply, as_user
):
    issue = factories.issue(manan, actor=manan_staff, code="security", title="门禁坏了")
    issue = factories.moved(issue, reply_due_on=timezone.localdate() - dt.timedelta(1))
    today = timezone.localdate()
    assert overdue_issue_ids(today) == [issue.pk]
    inbox = as_user(manan_staff).get(reverse("issues:inbox"), {"overdue": "on"})
    assert "门禁坏了" in inbox.content.decode()
    this_month = Period(today.replace(day=1), today)
    links = dashboard.InboxLinks(this_month, community=manan.pk)
    assert dashboard.dashboard([manan], this_month, links=links, today=today).totals.overdue == 1

    issue.refresh_from_db()
    replies.issue_reply(issue=issue, actor=manan_staff, text="已收到，明天上门。")
    issue.refresh_from_db()
    assert issue.reply_due_on is None and issue.first_reply_at is not None
    assert overdue_issue_ids(today) == []
    inbox = as_user(manan_staff).get(reverse("issues:inbox"), {"overdue": "on"})
    assert "门禁坏了" not in inbox.content.decode()
    assert dashboard.dashboard([manan], this_month, links=links, today=today).totals.overdue == 0


def test_an_internal_note_does_not_settle_the_first_reply(manan, manan_staff, one_day_reply):
    issue = factories.issue(manan, actor=manan_staff, code="security")
    intake.issue_comment(issue=issue, actor=manan_staff, text="先内部商量")
    issue.refresh_from_db()
    assert issue.reply_due_on is not None and issue.first_reply_at is None


def test_changing_the_category_before_a_reply_moves_the_deadline(manan, manan_staff, one_day_reply):
    issue = factories.issue(manan, actor=manan_staff, code="other")
    intake.issue_edit(
        issue=issue, actor=manan_staff, expected_version=issue.version, category=one_day_reply
    )
    issue.refresh_from_db()
    reported_on = timezone.localtime(issue.created).date()
    assert issue.reply_due_on == reported_on + dt.timedelta(days=1)
    edited = issue.events.get(kind=Event.Kind.EDITED)
    assert edited.note == "category"


def test_street_admins_set_the_first_reply_days_on_the_categories_page(nanen, nanen_admin, as_user):
    category = factories.category(nanen, "security")
    client = as_user(nanen_admin)
    url = reverse("issues:categories", args=[nanen.pk])
    payload = {
        "category": category.pk,
        "version": category.version,
        "name": category.name,
        "name_en": category.name_en,
        "position": category.position,
        "is_active": "on",
        "must_deliberate": "on",
        "first_reply_days": "2",
    }
    assert client.post(url, payload).status_code == 302
    category.refresh_from_db()
    assert category.first_reply_days == 2
    category.refresh_from_db()
    too_long = {**payload, "version": category.version, "first_reply_days": "45"}
    response = client.post(url, too_long)
    assert response.status_code == 422
    category.refresh_from_db()
    assert category.first_reply_days == 2


def test_internal_notes_and_replies_stay_off_the_public_transparency_page(
    reported, manan, manan_staff
):
    from django.test import Client

    from members import actions as members_actions
    from public.views import public_form_token

    members_actions.community_transparency_set(actor=manan_staff, community=manan, public=True)
    intake.issue_comment(issue=reported, actor=manan_staff, text=NOTE_TEXT)
    replies.issue_reply(issue=reported, actor=manan_staff, text=REPLY_TEXT)
    page = Client().get(reverse("public:transparency", args=[public_form_token(manan)]))
    assert page.status_code == 200
    body = page.content.decode()
    assert NOTE_TEXT not in body and "物业经理" not in body
    # A reply is for the resident who asked, on their tracking page: not for the whole street.
    assert REPLY_TEXT not in body
