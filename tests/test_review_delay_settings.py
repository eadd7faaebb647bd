"""The follow-up review's delay: set on the council's settings page, overridden by a
category on the street's categories page, and shown on an issue as a review date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from issues.actions import handling
from issues.models import Category
from members.models import Council
from tests import factories

# session, user with its unread count, roles, then each page's own (see the test at the end); the
# issue page of a resolved matter reads the issue (which also says what else there is to
# read), its review, the street's reply templates, its timeline and photos.
PINNED_CATEGORIES, PINNED_DETAIL = 5, 8


def resolved(community, actor, *, code: str = "other"):
    issue = factories.issue(community, actor=actor, code=code, title="楼道灯坏了")
    handling.issue_transition(issue=issue, actor=actor, name="start")
    return handling.issue_transition(issue=issue, actor=actor, name="resolve")


# --- The council's settings page ---------------------------------------------------------


# The page also holds how the council's meetings run; these tests keep those as they are.
MEETING_SETTINGS = {"quorum_ratio": "0.5", "sign_in_opens_hours": "2"}


def test_staff_set_the_review_delay_and_resolved_matters_follow_it(as_user, manan, manan_staff):
    client = as_user(manan_staff)
    url = reverse("members:council_settings", args=[manan.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert 'name="review_after_days"' in page.text and 'value="7"' in page.text

    response = client.post(url, {**MEETING_SETTINGS, "review_after_days": "14"})

    assert response.status_code == 302
    assert response["Location"] == reverse("members:council", args=[manan.pk])
    assert Council.objects.get(pk=manan.council.pk).review_after_days == 14
    council_page = client.get(reverse("members:council", args=[manan.pk]))
    assert "14" in council_page.text and url in council_page.text
    issue = resolved(manan, manan_staff)
    assert issue.reviews.get().due_at == issue.resolved_at + dt.timedelta(days=14)


def test_the_page_says_once_that_a_category_may_set_its_own_days(as_user, manan, manan_staff):
    from django.utils import translation
    from django.utils.html import strip_tags

    for language, said in (("en", "own number"), ("zh-hans", "单独设置天数")):
        with translation.override(language):
            page = as_user(manan_staff).get(
                reverse("members:council_settings", args=[manan.pk]),
                HTTP_ACCEPT_LANGUAGE=language,
            )
        text = strip_tags(page.content.decode())
        assert text.count(said) == 1, language
        # Where it helps: in the review-days field's help, with where to set it.
        help_text = page.content.decode().split('id="id_review_after_days_helptext">')[1]
        assert said in help_text.split("</p>")[0]


def test_the_street_admin_may_set_it_too(as_user, manan, nanen_admin):
    response = as_user(nanen_admin).post(
        reverse("members:council_settings", args=[manan.pk]),
        {**MEETING_SETTINGS, "review_after_days": "3"},
    )
    assert response.status_code == 302
    assert Council.objects.get(pk=manan.council.pk).review_after_days == 3


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-3", "至少 1 天"),
        ("0", "至少 1 天"),
        ("100000", "最多 90 天"),
        ("two weeks", "1 到 90 之间的整数"),
        ("", "请填写天数"),
    ],
)
def test_bad_delays_get_a_clear_message_and_keep_what_was_typed(
    as_user, manan, manan_staff, typed, message
):
    response = as_user(manan_staff).post(
        reverse("members:council_settings", args=[manan.pk]),
        {**MEETING_SETTINGS, "review_after_days": typed},
    )

    assert response.status_code == 422
    assert message in response.text
    if typed:
        assert f'value="{typed}"' in response.text
    assert Council.objects.get(pk=manan.council.pk).review_after_days == 7


def test_a_council_member_may_not_change_the_settings(as_user, manan, manan_member):
    response = as_user(manan_member).post(
        reverse("members:council_settings", args=[manan.pk]), {"review_after_days": "30"}
    )
    assert response.status_code in (403, 404)
    assert Council.objects.get(pk=manan.council.pk).review_after_days == 7


@pytest.mark.outsider("members:council_settings")
def test_outsiders_get_404_and_nothing_changes(as_user, manan, xingfu_staff, other_admin):
    url = reverse("members:council_settings", args=[manan.pk])
    for outsider in (xingfu_staff, other_admin):
        client = as_user(outsider)
        assert client.get(url).status_code == 404
        assert client.post(url, {"review_after_days": "30"}).status_code == 404
        htmx = client.post(url, {"review_after_days": "30"}, HTTP_HX_REQUEST="true")
        assert htmx.status_code == 404
    assert Council.objects.get(pk=manan.council.pk).review_after_days == 7


def test_settings_page_query_count(as_user, manan, manan_staff, django_assert_num_queries):
    client = as_user(manan_staff)
    # session, user with its unread count, roles; community, council
    with django_assert_num_queries(5):
        assert client.get(reverse("members:council_settings", args=[manan.pk])).status_code == 200


# --- A category's own delay --------------------------------------------------------------


def category_post(category: Category, **changes) -> dict:
    data = {
        "category": category.pk,
        "name": category.name,
        "name_en": category.name_en,
        "position": category.position,
        "is_active": "on",
        "review_after_days": "",
    }
    if category.must_deliberate:
        data["must_deliberate"] = "on"
    data.update(changes)
    return data


def test_a_category_sets_its_own_delay_which_wins_over_the_council(
    as_user, manan, nanen, nanen_admin, manan_staff
):
    category = factories.category(nanen, "other")
    client = as_user(nanen_admin)
    url = reverse("issues:categories", args=[nanen.pk])
    assert 'name="review_after_days"' in client.get(url).text

    response = client.post(url, category_post(category, review_after_days="2"))

    assert response.status_code == 302
    category.refresh_from_db()
    assert category.review_after_days == 2
    issue = resolved(manan, manan_staff)
    assert issue.reviews.get().due_at == issue.resolved_at + dt.timedelta(days=2)

    # Emptied again: the council's own setting counts.
    client.post(url, category_post(category, review_after_days=""))
    category.refresh_from_db()
    assert category.review_after_days is None
    other = resolved(manan, manan_staff)
    assert other.reviews.get().due_at == other.resolved_at + dt.timedelta(days=7)


@pytest.mark.parametrize(("typed", "message"), [("-1", "至少 1 天"), ("999999", "最多 90 天")])
def test_a_bad_category_delay_is_refused_with_a_clear_message(
    as_user, nanen, nanen_admin, typed, message
):
    category = factories.category(nanen, "other")
    response = as_user(nanen_admin).post(
        reverse("issues:categories", args=[nanen.pk]),
        category_post(category, review_after_days=typed),
    )
    assert response.status_code == 422
    assert message in response.text
    category.refresh_from_db()
    assert category.review_after_days is None


# --- The issue page ----------------------------------------------------------------------


def test_the_issue_page_labels_the_review_date_apart_from_the_deadline(as_user, manan, manan_staff):
    issue = resolved(manan, manan_staff)
    review = issue.reviews.get()

    page = as_user(manan_staff).get(reverse("issues:detail", args=[issue.pk])).text

    review_card = page[page.index('id="review"') :]
    review_card = review_card[: review_card.index("</section>")]
    assert "回访日期" in review_card  # "Follow-up review on"
    assert "办理期限" not in review_card  # "Due on", the deadline's label
    assert timezone.localtime(review.due_at).strftime("%Y-%m-%d") in review_card


def test_categories_and_issue_pages_query_counts(as_user, manan, nanen, nanen_admin, manan_staff):
    def counted(client, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    factories.category(nanen, "other")
    issue = resolved(manan, manan_staff)
    categories = reverse("issues:categories", args=[nanen.pk])
    detail = reverse("issues:detail", args=[issue.pk])
    admin, staff = as_user(nanen_admin), as_user(manan_staff)
    few = (counted(admin, categories), counted(staff, detail))
    for code in ("facilities", "environment", "security", "neighbours"):
        factories.category(nanen, code)
    for _ in range(5):
        resolved(manan, manan_staff)
    many = (counted(admin, categories), counted(staff, detail))
    assert few == many == (PINNED_CATEGORIES, PINNED_DETAIL)
