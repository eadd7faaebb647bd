"""A report made on a phone without a signal is kept on the phone and sent later by its
script (static/js/outbox.js), perhaps more than once (a lost answer, the page and the
service worker at once): the server makes one matter of it, answers the script in JSON,
and takes it only from the person who made it."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from issues.models import Event, Issue, Photo
from members import submissions
from members.models import Notice
from tests import factories

HEADER = "HTTP_X_YISHI_OUTBOX"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def kept_report(manan, **fields) -> dict:
    return {
        "title": "地下室没有灯",
        "category": factories.category(manan.street, "facilities").pk,
        "description": "2栋地下室的灯坏了，没有信号，拍了照片。",
        "place": "2栋地下室",
        "submission_key": "kept-on-the-phone-0001",
        **fields,
    }


@pytest.mark.django_db
def test_a_report_sent_twice_from_the_phone_makes_one_issue(
    as_user, manan, manan_member, manan_staff
):
    client = as_user(manan_member)
    url = reverse("issues:report", args=[manan.pk])
    owner = submissions.outbox_owner(manan_member)
    report = kept_report(manan)

    first = client.post(url, report, **{HEADER: owner})
    notices = Notice.objects.count()
    second = client.post(url, report, **{HEADER: owner})

    issue = Issue.objects.get()
    where = reverse("issues:detail", args=[issue.pk])
    assert (first.status_code, first.json()) == (201, {"url": where, "first": True})
    assert (second.status_code, second.json()) == (200, {"url": where, "first": False})
    assert issue.title == "地下室没有灯" and issue.channel == Issue.Channel.PATROL
    assert issue.events.count() == 1
    assert notices > 0 and Notice.objects.count() == notices  # the staff told once
    # The script says "sent" itself: no message waits for the next page.
    assert list(get_messages(second.wsgi_request)) == []


@pytest.mark.django_db
def test_a_report_kept_under_another_persons_login_is_not_taken(
    as_user, manan, manan_member, manan_staff
):
    client = as_user(manan_member)
    url = reverse("issues:report", args=[manan.pk])

    answer = client.post(url, kept_report(manan), **{HEADER: submissions.outbox_owner(manan_staff)})

    assert answer.status_code == 409
    assert answer.json()["errors"] == ["这条反映是在另一个账号下填写的。"]
    assert not Issue.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
def test_a_kept_report_the_form_refuses_gets_its_messages_in_json(as_user, manan, manan_member):
    client = as_user(manan_member)
    url = reverse("issues:report", args=[manan.pk])

    answer = client.post(
        url, kept_report(manan, title=""), **{HEADER: submissions.outbox_owner(manan_member)}
    )

    assert answer.status_code == 422
    assert answer.json() == {"errors": ["这个字段是必填项。"]}
    assert not Issue.objects.exists()


@pytest.mark.django_db
def test_a_kept_report_after_the_login_ran_out_asks_for_one(client, manan, manan_member):
    url = reverse("issues:report", args=[manan.pk])

    answer = client.post(url, kept_report(manan), **{HEADER: "someone"})

    assert answer.status_code == 302 and answer.url.startswith(reverse("login"))
    assert not Issue.objects.exists()


@pytest.mark.django_db
def test_the_owner_of_kept_reports_is_the_person_not_the_login(
    as_user, manan, manan_member, manan_staff
):
    first, second = as_user(manan_member), as_user(manan_member)
    pages = [c.get(reverse("home"), follow=True).content.decode() for c in (first, second)]
    owners = {page.split('data-outbox-owner="')[1][:20] for page in pages}
    assert owners == {submissions.outbox_owner(manan_member)}
    assert submissions.outbox_owner(manan_staff) != submissions.outbox_owner(manan_member)


@pytest.mark.django_db
def test_nobody_logged_in_gets_no_outbox(client):
    page = client.get(reverse("login")).content.decode()
    assert "data-outbox-owner" not in page and "outbox.js" not in page


@pytest.mark.django_db
def test_the_service_worker_is_served_from_the_root(client):
    answer = client.get("/sw.js")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    assert "no-cache" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]
    text = answer.content.decode()
    assert 'importScripts("/static/js/outbox.js")' in text
    assert 'addEventListener("sync"' in text


@pytest.mark.outsider("issues:report")
@pytest.mark.django_db
def test_an_outsider_sending_a_kept_report_gets_404(as_user, manan, xingfu_staff, media):
    client = as_user(xingfu_staff)
    url = reverse("issues:report", args=[manan.pk])

    owner = submissions.outbox_owner(xingfu_staff)

    answer = client.post(url, kept_report(manan), **{HEADER: owner})

    assert answer.status_code == 404
    assert not Issue.objects.exists() and not Photo.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "saved", "sent"),
    [
        ("zh-hans", "已保存，联网后自动发送", "已发送"),
        ("en", "Saved — it will be sent when you are back online", "Sent"),
    ],
)
def test_the_phone_says_saved_and_sent_in_the_members_language(
    as_user, manan, manan_member, language, saved, sent
):
    url = reverse("issues:report", args=[manan.pk])
    page = as_user(manan_member).get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'data-msg-queued="{saved}"' in page
    assert f'data-msg-sent="{sent}"' in page
    assert re.search(r"<form[^>]*\sdata-outbox\s", page)  # the member's form is kept offline
