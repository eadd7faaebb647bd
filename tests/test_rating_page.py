"""The resident's rating page (评单) behind the text message's link, and staff's own record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from deliberation.actions import review_items
from issues.models import FollowUpReview, Issue, Rating
from members.models import Notice
from tests import factories

pytestmark = pytest.mark.usefixtures("clear_cache")  # a fresh throttle per test

PHONE = "13900001111"
S = Issue.Status


@pytest.fixture
def under_review(manan, manan_staff):
    factories.meeting(manan, timezone.now() + dt.timedelta(days=10))
    issue = factories.resolved_issue(
        manan, actor=manan_staff, contact_phone=PHONE, title="楼下路灯不亮"
    )
    review_items.reviews_sweep(now=timezone.now() + dt.timedelta(days=7, seconds=1))
    return issue


@pytest.fixture
def link(under_review) -> str:
    """The rating page's path, as the text message gave it."""
    notice = Notice.objects.get(kind="review_invite")
    return notice.context["link"].removeprefix("http://127.0.0.1:8000")


def answer(**fields) -> dict[str, str]:
    return {"fixed": "yes", "satisfaction": "5", "comment": "", **fields}


def status(issue: Issue) -> str:
    issue.refresh_from_db()
    return issue.status


def test_the_link_in_the_text_message_opens_the_rating_page_in_chinese(client, link, under_review):
    response = client.get(link)

    assert response.status_code == 200
    body = response.content.decode()
    assert "您的问题解决了吗" in body
    assert "楼下路灯不亮" in body
    assert "非常满意" in body and "非常不满意" in body
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_the_rating_page_is_complete_in_english(client, link):
    body = client.get(link, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Was your problem fixed?" in body
    assert "Very satisfied" in body and "Very dissatisfied" in body
    assert "您的问题解决了吗" not in body


def test_a_rating_is_recorded_and_thanked_for(client, link, under_review):
    response = client.post(link, answer(fixed="yes", satisfaction="4", comment="灯修好了"))

    assert response.status_code == 302 and response["Location"] == f"{link}?thanks=1"
    rating = Rating.objects.get()
    assert (rating.fixed, rating.satisfaction, rating.comment, rating.source) == (
        "yes",
        4,
        "灯修好了",
        "link",
    )
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "感谢您的评价" in thanks.content.decode()
    # Coming back later, the link says it was used.
    later = client.get(link).content.decode()
    assert "已经评价过了" in later and "感谢您的评价" not in later
    assert status(under_review) == S.RESOLVED


def test_a_no_reopens_the_matter_and_the_page_says_so(client, link, under_review):
    client.post(link, answer(fixed="no", satisfaction="2"))

    assert status(under_review) == S.REOPENED
    body = client.get(link, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "has been reopened" in body
    tracking = client.get(reverse("public:track_issue", args=[under_review.tracking_code]))
    assert "重新办理" in tracking.content.decode()


def test_a_form_missing_an_answer_comes_back_with_a_message_and_what_was_typed(client, link):
    response = client.post(
        link, {"fixed": "", "satisfaction": "", "comment": "垃圾桶还是满的"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip

    assert response.status_code == 422
    body = response.content.decode()
    assert "Say whether the problem was fixed." in body
    assert "Choose how satisfied you are." in body
    assert "垃圾桶还是满的" in body
    assert not Rating.objects.exists()


def test_a_link_used_twice_changes_nothing(client, link, under_review):
    client.post(link, answer(fixed="yes", satisfaction="5"))

    again = client.post(link, answer(fixed="no", satisfaction="1"), HTTP_ACCEPT_LANGUAGE="en")

    assert again.status_code == 409
    assert "already been rated" in again.content.decode()
    assert Rating.objects.get().satisfaction == 5
    assert status(under_review) == S.RESOLVED


@pytest.mark.outsider("public:rate")
def test_a_tampered_link_gets_a_clear_page_and_changes_nothing(client, link, under_review):
    review = under_review.reviews.get()
    forged = reverse("public:rate", args=[f"{review.pk}-{'0' * 16}"])
    other_id = reverse("public:rate", args=[f"{review.pk + 1}-{link.rstrip('/')[-16:]}"])

    for url in (forged, other_id, reverse("public:rate", args=["nonsense"])):
        response = client.post(url, answer(fixed="no", satisfaction="1"), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert "This rating link is not valid" in response.content.decode()
    assert not Rating.objects.exists()
    assert status(under_review) == S.RESOLVED


def test_an_expired_link_gets_a_clear_page_and_changes_nothing(client, link, under_review):
    FollowUpReview.objects.update(link_expires_at=timezone.now() - dt.timedelta(seconds=1))

    for response in (
        client.get(link, HTTP_ACCEPT_LANGUAGE="en"),
        client.post(link, answer(fixed="no", satisfaction="1"), HTTP_ACCEPT_LANGUAGE="en"),
    ):
        assert response.status_code == 410
        assert "This rating link has expired" in response.content.decode()
    assert not Rating.objects.exists()
    assert status(under_review) == S.RESOLVED


def test_a_link_to_a_review_called_off_says_so(client, link, under_review, manan_staff):
    from issues.actions import handling

    handling.issue_transition(issue=under_review, actor=manan_staff, name="reopen", note="又坏了")

    response = client.get(link, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    assert "no longer needed" in response.content.decode()


def test_the_tracking_page_names_the_phone_the_link_went_to_while_it_is_open(
    client, link, under_review
):
    tracking = reverse("public:track_issue", args=[under_review.tracking_code])

    body = client.get(tracking).content.decode()
    assert "139****1111" in body and link not in body and "/rate/" not in body
    client.post(link, answer())
    assert "139****1111" not in client.get(tracking).content.decode()


def test_the_tracking_page_offers_nothing_before_the_review_is_sent(client, manan, manan_staff):
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)

    body = client.get(reverse("public:track_issue", args=[issue.tracking_code])).content.decode()

    assert "/rate/" not in body


def test_the_rating_page_reads_one_query_before_and_after_the_rating(
    client, link, django_assert_num_queries
):
    # The review with its issue, community and rating (rate limits live in the cache).
    with django_assert_num_queries(1):
        assert client.get(link).status_code == 200
    client.post(link, answer())
    # ... and as many once the link is used (the issue's status comes with the review).
    with django_assert_num_queries(1):
        assert client.get(link).status_code == 200


# --- Staff record a rating given in person or on the phone -------------------------------------


def staff_rating(**fields) -> dict[str, str]:
    return {"source": "phone", "fixed": "partly", "satisfaction": "3", "comment": "", **fields}


def test_staff_see_the_review_and_record_a_phone_rating(as_user, manan_staff, under_review):
    client = as_user(manan_staff)
    page = client.get(reverse("issues:detail", args=[under_review.pk])).content.decode()
    assert 'id="review"' in page and reverse("issues:rate", args=[under_review.pk]) in page

    response = client.post(
        reverse("issues:rate", args=[under_review.pk]), staff_rating(comment="电话回访")
    )

    assert response.status_code == 302
    rating = Rating.objects.get()
    assert (rating.source, rating.recorded_by, rating.comment) == ("phone", manan_staff, "电话回访")
    page = client.get(reverse("issues:detail", args=[under_review.pk])).content.decode()
    assert reverse("issues:rate", args=[under_review.pk]) not in page


def test_a_staff_rating_missing_its_source_comes_back_as_typed(as_user, manan_staff, under_review):
    client = as_user(manan_staff)
    client.cookies["django_language"] = "en"

    response = client.post(
        reverse("issues:rate", args=[under_review.pk]), staff_rating(source="", comment="上门问过")
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "Say how the resident gave the rating." in body and "上门问过" in body
    assert not Rating.objects.exists()


def test_a_second_staff_rating_is_refused_with_a_message(as_user, manan_staff, under_review):
    client = as_user(manan_staff)
    client.cookies["django_language"] = "en"
    client.post(reverse("issues:rate", args=[under_review.pk]), staff_rating())

    response = client.post(
        reverse("issues:rate", args=[under_review.pk]), staff_rating(satisfaction="1")
    )

    assert response.status_code == 422
    assert "already been rated" in response.content.decode()
    assert Rating.objects.get().satisfaction == 3


@pytest.mark.outsider("issues:rate")
@pytest.mark.parametrize("htmx", [False, True])
def test_an_outsider_cannot_record_a_rating(as_user, xingfu_staff, under_review, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = as_user(xingfu_staff).post(
        reverse("issues:rate", args=[under_review.pk]), staff_rating(), **headers
    )

    assert response.status_code == 404
    assert not Rating.objects.exists()


def test_who_may_see_but_not_handle_gets_403(as_user, nanen_admin, under_review):
    response = as_user(nanen_admin).post(
        reverse("issues:rate", args=[under_review.pk]), staff_rating()
    )

    assert response.status_code == 403
    assert not Rating.objects.exists()
