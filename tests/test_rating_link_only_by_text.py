"""The rating link reaches only the reporter's phone: the tracking page never shows it.

Anyone holding a tracking code (staff see them in every inbox and export) could otherwise
rate in the resident's name, and those ratings drive the satisfaction figures and reopen
matters. The page names the masked number instead and offers to text the link again.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from deliberation.actions import review_items
from issues.models import Issue
from members.models import Notice
from tests import factories

pytestmark = pytest.mark.usefixtures("clear_cache")  # a fresh throttle per test

PHONE = "13912345678"
MASKED = "139****5678"


def sweep() -> None:
    review_items.reviews_sweep(now=timezone.now() + dt.timedelta(days=7, seconds=1))


@pytest.fixture
def under_review(manan, manan_staff) -> Issue:
    factories.meeting(manan, timezone.now() + dt.timedelta(days=10))
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE, title="路灯")
    sweep()
    return issue


def tracking(client, issue: Issue, **extra) -> str:
    url = reverse("public:track_issue", args=[issue.tracking_code])
    return client.get(url, HTTP_ACCEPT_LANGUAGE="en", **extra).content.decode()


def resend(client, issue: Issue):
    url = reverse("public:resend_rating_link", args=[issue.tracking_code])
    return client.post(url, HTTP_ACCEPT_LANGUAGE="en")


def invites() -> list[Notice]:
    return list(Notice.objects.filter(kind="review_invite").order_by("id"))


def test_the_tracking_page_shows_neither_the_rating_link_nor_its_token(client, under_review):
    [notice] = invites()
    link = notice.context["link"]
    token = link.rstrip("/").rsplit("/", 1)[-1]

    body = tracking(client, under_review)

    assert "/rate/" not in body
    assert token not in body
    assert f"sent by text message to {MASKED}" in body
    assert PHONE not in body


def test_the_link_is_texted_again_to_the_reporters_number(client, under_review):
    response = resend(client, under_review)

    assert response.status_code == 303
    assert response["Location"].endswith("?sent=1")
    first, again = invites()
    assert again.phone == PHONE
    assert again.context["link"] == first.context["link"]
    body = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"The link was sent again to {MASKED}." in body
    assert "/rate/" not in body


def test_a_second_request_within_ten_minutes_is_refused_and_sends_nothing(client, under_review):
    resend(client, under_review)

    refused = resend(client, under_review)

    assert refused.status_code == 429
    body = refused.content.decode()
    assert "Please wait a few minutes" in body
    assert "/rate/" not in body
    assert len(invites()) == 2


def test_no_more_than_three_resends_a_day(client, under_review, time_machine):
    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    for step in range(3):
        time_machine.move_to(start + dt.timedelta(minutes=11 * step))
        assert resend(client, under_review).status_code == 303

    time_machine.move_to(start + dt.timedelta(minutes=40))
    refused = resend(client, under_review)

    assert refused.status_code == 429
    assert "several times today" in refused.content.decode()
    assert len(invites()) == 4
    # The next day, the reporter may ask again.
    time_machine.move_to(start + dt.timedelta(days=1))
    assert resend(client, under_review).status_code == 303
    assert len(invites()) == 5


def test_the_refusal_is_translated(client, under_review):
    resend(client, under_review)
    url = reverse("public:resend_rating_link", args=[under_review.tracking_code])

    refused = client.post(url, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert refused.status_code == 429
    assert "请过几分钟再试" in refused.content.decode()


def test_without_a_phone_the_page_says_the_council_will_ask(client, manan, manan_staff):
    factories.meeting(manan, timezone.now() + dt.timedelta(days=10))
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone="")
    sweep()

    body = tracking(client, issue)

    assert "The council will ask you at its next review" in body
    assert "/rate/" not in body
    assert "Send the link again" not in body
    refused = resend(client, issue)
    assert refused.status_code == 409
    assert not invites()


def test_once_rated_the_page_offers_nothing(client, under_review):
    [notice] = invites()
    link = notice.context["link"].removeprefix("http://127.0.0.1:8000")
    client.post(link, {"fixed": "yes", "satisfaction": "5", "comment": ""})

    body = tracking(client, under_review)

    assert "Send the link again" not in body
    assert resend(client, under_review).status_code == 409
    assert len(invites()) == 1


@pytest.mark.outsider("public:resend_rating_link")
def test_an_unknown_tracking_code_resends_nothing(client, under_review):
    for code in ("ZZZZZZZZ", "not-a-code!"):
        url = reverse("public:resend_rating_link", args=[code])
        assert client.post(url).status_code == 404
    assert (
        client.get(
            reverse("public:resend_rating_link", args=[under_review.tracking_code])
        ).status_code
        == 405
    )
    assert len(invites()) == 1


def test_the_tracking_page_keeps_its_query_count_with_a_review_open(
    client, under_review, django_assert_num_queries
):
    # The issue with its community, category and reporter, the public events, the review.
    with django_assert_num_queries(3):
        body = tracking(client, under_review)
    assert re.search(r"139\*{4}5678", body)
