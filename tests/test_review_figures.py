"""Follow-up review figures per community and per street, and the pages that show them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from issues import figures
from issues.actions import handling
from issues.figures import Percentile, ReviewFigures, Share, percentile_cont
from issues.models import FollowUpReview, Issue
from members.models import Community
from tests import factories
from tests.helpers.reviews import cancelled, done, sent

DAY = dt.timedelta(days=1)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def reviews_due_after_a_day(nanen):
    """Reviews come due a day after the resolution, so one can end two days after it."""
    category = factories.category(nanen, "other")
    category.review_after_days = 1
    category.save(update_fields=["review_after_days"])


@pytest.fixture
def manan_reviews(manan, manan_staff):
    """Three reviews done after 2, 5 and 9 days (rated 5, 4 and 2), one under way, one off."""
    done(manan, manan_staff, after_days=2, rating=5)
    done(manan, manan_staff, after_days=5, rating=4)
    reopened = done(manan, manan_staff, after_days=9, rating=2)
    assert reopened.result == FollowUpReview.Result.REOPENED
    sent(manan, manan_staff)
    cancelled(manan, manan_staff)


# --- The figures ------------------------------------------------------------------------------


def test_a_communitys_figures_by_hand(manan, manan_staff, manan_reviews):
    found = figures.review_figures(manan_staff, [manan.pk])

    assert found == {
        manan.pk: ReviewFigures(
            resolved=4, reviewed=3, reopened=1, rated=3, satisfied=2, median_days=5.0
        )
    }
    shares = found[manan.pk]
    assert (shares.reviewed_share.percent, shares.reviewed_share) == (75, Share(3, 4))
    assert (shares.satisfied_share.percent, shares.satisfied_share) == (67, Share(2, 3))
    assert (shares.reopened_share.percent, shares.reopened_share) == (33, Share(1, 3))


def test_a_cancelled_review_is_not_counted(manan, manan_staff):
    cancelled(manan, manan_staff)
    cancelled(manan, manan_staff)

    assert manan.pk not in figures.review_figures(manan_staff, [manan.pk])


def test_a_matter_resolved_again_after_a_reopening_review_counts_twice(manan, manan_staff):
    review = done(manan, manan_staff, after_days=3, rating=1)
    issue = Issue.objects.get(pk=review.issue_id)
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    found = figures.review_figures(manan_staff, [manan.pk])[manan.pk]

    assert (found.resolved, found.reviewed, found.reopened) == (2, 1, 1)


def test_no_reviews_give_no_shares_and_no_median(manan, manan_staff):
    sent(manan, manan_staff)

    found = figures.review_figures(manan_staff, Community.objects.filter(pk=manan.pk))[manan.pk]

    assert found == ReviewFigures(resolved=1)
    assert found.reviewed_share.percent == 0
    assert found.satisfied_share.percent is None
    assert found.reopened_share.percent is None
    assert found.median_days is None
    # A community with nothing to count has figures of zero, not a KeyError.
    assert figures.review_figures(manan_staff, [])[manan.pk] == ReviewFigures()


def test_the_median_of_an_even_count_is_between_the_middle_two(manan, manan_staff):
    for days in (2, 3, 6, 10):
        done(manan, manan_staff, after_days=days)

    assert figures.review_figures(manan_staff, [manan.pk])[manan.pk].median_days == 4.5


def test_the_median_has_one_decimal(manan, manan_staff):
    done(manan, manan_staff, after_days=1.25)
    done(manan, manan_staff, after_days=2.5)
    done(manan, manan_staff, after_days=3.33)

    assert figures.review_figures(manan_staff, [manan.pk])[manan.pk].median_days == 2.5
    done(manan, manan_staff, after_days=4.0)
    assert figures.review_figures(manan_staff, [manan.pk])[manan.pk].median_days == 2.9


def test_a_street_total_takes_the_median_over_all_its_reviews(
    manan, xingfu, manan_staff, xingfu_staff, nanen_admin
):
    done(manan, manan_staff, after_days=2, rating=5)
    done(manan, manan_staff, after_days=5, rating=2)
    done(xingfu, xingfu_staff, after_days=9, rating=4)
    done(xingfu, xingfu_staff, after_days=20)
    sent(xingfu, xingfu_staff)
    cancelled(xingfu, xingfu_staff)

    by_community, total = figures.review_figures_with_total(
        nanen_admin, Community.objects.filter(street__name="南恩街道")
    )

    assert by_community[manan.pk] == ReviewFigures(
        resolved=2, reviewed=2, reopened=1, rated=2, satisfied=1, median_days=3.5
    )
    assert by_community[xingfu.pk] == ReviewFigures(
        resolved=3, reviewed=2, reopened=0, rated=1, satisfied=1, median_days=14.5
    )
    # 2, 5, 9, 20: the median is 7.0; the median of the two medians would be 9.0.
    assert total == ReviewFigures(
        resolved=5, reviewed=4, reopened=1, rated=3, satisfied=2, median_days=7.0
    )


def test_a_total_of_nothing_is_zero(nanen_admin):
    assert figures.review_figures_with_total(nanen_admin, []) == ({}, ReviewFigures())


# --- Whose figures ---------------------------------------------------------------------------


def test_figures_count_only_the_communities_the_user_may_see(
    manan, xingfu, beishan, manan_staff, xingfu_staff, nanen_admin, other_admin, manan_reviews
):
    done(xingfu, xingfu_staff, after_days=3)
    every_id = [manan.pk, xingfu.pk, beishan.pk]

    assert set(figures.review_figures(manan_staff, every_id)) == {manan.pk}
    assert set(figures.review_figures(xingfu_staff, every_id)) == {xingfu.pk}
    assert set(figures.review_figures(nanen_admin, every_id)) == {manan.pk, xingfu.pk}

    by_community, total = figures.review_figures_with_total(other_admin, Community.objects.all())
    assert (by_community, total) == ({}, ReviewFigures())
    by_community, total = figures.review_figures_with_total(xingfu_staff, every_id)
    assert total == ReviewFigures(resolved=1, reviewed=1, median_days=3.0)


def test_a_council_member_sees_their_own_councils_figures(
    manan, xingfu, manan_member, xingfu_staff, manan_reviews
):
    done(xingfu, xingfu_staff, after_days=3)

    assert set(figures.review_figures(manan_member, [manan.pk, xingfu.pk])) == {manan.pk}


@pytest.mark.parametrize(
    ("person", "page"),
    [
        ("xingfu_staff", "members:residents"),
        ("xingfu_staff", "members:council"),
        ("other_admin", "members:residents"),
        ("other_admin", "members:council"),
    ],
)
def test_outsiders_still_get_404_on_a_communitys_pages(
    request, as_user, manan, manan_reviews, person, page
):
    client = as_user(request.getfixturevalue(person))

    assert client.get(reverse(page, args=[manan.pk])).status_code == 404
    assert client.get(reverse(page, args=[manan.pk]), HTTP_HX_REQUEST="true").status_code == 404


@pytest.mark.outsider("members:street")
def test_another_streets_admin_gets_404_on_the_street_page(as_user, nanen, other_admin):
    assert as_user(other_admin).get(reverse("members:street", args=[nanen.pk])).status_code == 404


# --- The pages -------------------------------------------------------------------------------


def test_the_residents_page_shows_the_communitys_figures(
    as_user, manan, manan_staff, manan_reviews
):
    response = as_user(manan_staff).get(reverse("members:residents", args=[manan.pk]), **EN)

    assert (
        response.context["review_figures"]
        == figures.review_figures(manan_staff, [manan.pk])[manan.pk]
    )
    page = response.content.decode()
    assert "Follow-up reviews" in page
    for shown in ("3 of 4 · 75%", "2 of 3 · 67%", "1 of 3 · 33%", "5.0 days"):
        assert shown in page


def test_the_residents_partial_leaves_the_figures_out(as_user, manan, manan_staff, manan_reviews):
    response = as_user(manan_staff).get(
        reverse("members:residents", args=[manan.pk]), {"q": "x"}, HTTP_HX_REQUEST="true", **EN
    )

    page = response.content.decode()
    assert 'id="results"' in page
    assert "Follow-up reviews" not in page


def test_the_council_page_shows_the_figures_and_dashes_for_nothing(as_user, manan, manan_staff):
    sent(manan, manan_staff)

    page = as_user(manan_staff).get(reverse("members:council", args=[manan.pk]), **EN)

    text = page.content.decode()
    assert "0 of 1 · 0%" in text
    assert text.count('<dd class="value">—</dd>') == 3  # satisfied, reopened, median


def test_the_me_page_shows_the_members_council_figures(as_user, manan_member, manan_reviews):
    page = as_user(manan_member).get(reverse("members:me"), **EN).content.decode()

    assert "Follow-up reviews" in page
    assert "2 of 3 · 67%" in page


def test_the_street_page_shows_each_community_and_the_street_total(
    as_user, nanen, manan, xingfu, manan_staff, xingfu_staff, nanen_admin
):
    done(manan, manan_staff, after_days=2, rating=5)
    done(manan, manan_staff, after_days=5, rating=2)
    done(xingfu, xingfu_staff, after_days=9, rating=4)

    response = as_user(nanen_admin).get(reverse("members:street", args=[nanen.pk]), **EN)

    shown = {c.pk: c.review_figures for c in response.context["communities"]}
    assert shown[manan.pk].median_days == 3.5
    assert shown[xingfu.pk] == ReviewFigures(
        resolved=1, reviewed=1, rated=1, satisfied=1, median_days=9.0
    )
    total = response.context["review_totals"]
    assert total == ReviewFigures(
        resolved=3, reviewed=3, reopened=1, rated=3, satisfied=2, median_days=5.0
    )
    page = response.content.decode()
    assert "Whole street" in page
    assert "2 of 3 · 67%" in page  # satisfied, street-wide
    assert "1 of 2 · 50%" in page  # reopened in 马南


# --- Query counts ------------------------------------------------------------------------------


def grow(manan, xingfu, manan_staff, xingfu_staff, count: int) -> None:
    """Reviews in every state up to ``count`` in each community."""
    for community, actor in ((manan, manan_staff), (xingfu, xingfu_staff)):
        have = FollowUpReview.objects.filter(issue__community=community).count()
        for i in range(have, count):
            kind = i % 5
            if kind == 0:
                done(community, actor, after_days=2 + i % 7, rating=5)
            elif kind == 1:
                done(community, actor, after_days=3, rating=2)
            elif kind == 2:
                done(community, actor, after_days=4)
            elif kind == 3:
                sent(community, actor)
            else:
                cancelled(community, actor)


def count_queries(client, url: str, **extra) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(captured)


# The pins of tests/test_query_counts.py: each page adds the two queries of its figures
# (counts, medians); the htmx partial of the resident rows adds none. A member's own page
# also asks whether they volunteer (one query).
PAGES = [
    ("manan_staff", "members:residents", "manan", {}, 7),
    ("manan_staff", "members:residents", "manan", {"HTTP_HX_REQUEST": "true"}, 5),
    ("manan_staff", "members:council", "manan", {}, 8),
    ("manan_member", "members:council", "manan", {}, 8),
    ("nanen_admin", "members:street", "nanen", {}, 7),
    ("manan_member", "members:me", None, {}, 7),
]


@pytest.mark.parametrize(("person", "page", "target", "extra", "pinned"), PAGES)
def test_pages_with_figures_run_as_many_queries_for_3_reviews_as_for_30(
    request, as_user, manan, xingfu, manan_staff, xingfu_staff, person, page, target, extra, pinned
):
    client = as_user(request.getfixturevalue(person))
    url = reverse(page, args=[request.getfixturevalue(target).pk] if target else [])
    grow(manan, xingfu, manan_staff, xingfu_staff, 3)
    few = count_queries(client, url, **extra)
    grow(manan, xingfu, manan_staff, xingfu_staff, 30)
    many = count_queries(client, url, **extra)

    assert few == many == pinned


# --- The percentile --------------------------------------------------------------------------


def test_percentile_cont_interpolates_as_postgresql_does():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([4.0], 0.9) == 4.0
    assert percentile_cont([9, 2, 5], 0.5) == 5
    assert percentile_cont([1, 2, 3, 4], 0.5) == 2.5
    assert percentile_cont(range(1, 11), 0.9) == pytest.approx(9.1)


def test_a_percentile_is_a_fraction():
    with pytest.raises(ValueError):
        Percentile(figures.REVIEW_DAYS, 1.5)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PERCENTILE_CONT is PostgreSQL's")
def test_percentile_in_sql_agrees_with_python(manan, manan_staff):
    for days in (1, 2, 4, 7, 12):
        done(manan, manan_staff, after_days=days)

    found = FollowUpReview.objects.filter(state="done").aggregate(
        p50=Percentile(figures.REVIEW_DAYS, 0.5), p90=Percentile(figures.REVIEW_DAYS, 0.9)
    )

    assert found["p50"] == pytest.approx(percentile_cont([1, 2, 4, 7, 12], 0.5))
    assert found["p90"] == pytest.approx(percentile_cont([1, 2, 4, 7, 12], 0.9))


def test_ratings_recorded_by_staff_are_counted_apart(as_user, manan, manan_staff, manan_reviews):
    from issues import reviews

    review = sent(manan, manan_staff)
    reviews.review_rate(
        review=review, actor=manan_staff, fixed="yes", satisfaction=5, comment="", source="phone"
    )

    found = figures.review_figures(manan_staff, [manan.pk])[manan.pk]

    assert (found.rated, found.satisfied, found.rated_by_staff) == (4, 3, 1)
    page = as_user(manan_staff).get(reverse("members:residents", args=[manan.pk]), **EN)
    assert "1 rating recorded by staff" in page.content.decode()


def test_no_staff_rating_says_nothing_of_staff(as_user, manan, manan_staff, manan_reviews):
    page = as_user(manan_staff).get(reverse("members:residents", args=[manan.pk]), **EN)

    assert "recorded by staff" not in page.content.decode().split("How these are counted")[0]
