"""Return visits (工作回访): a resolved matter raised on a visit becomes a task of the team;
the resident's answer taken in person settles the follow-up review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from issues import figures, reviews
from issues.actions import handling
from issues.models import Event, FollowUpReview, Issue, Rating
from tests import factories
from tests.helpers import visits as build
from visits.actions import VisitsRefusal, returns, visiting
from visits.models import Visit, VisitConcern

TODAY = dt.date(2026, 11, 18)


@pytest.fixture
def leader(db):
    return build.cadre("li_cadre")


@pytest.fixture
def walker(db):
    return build.cadre("zhou_walker")


@pytest.fixture
def team(nanen, manan, nanen_admin, leader, walker):
    return build.team(nanen, "马南走访队", leader=leader, members=[walker], communities=[manan],
                      admin=nanen_admin)  # fmt: skip


@pytest.fixture
def wang(manan):
    return factories.resident(manan, "王阿姨", lane="一巷", building="3栋", room="101",
                              phone="13812345678")  # fmt: skip


def raise_concerns(team, resident, leader, nanen, *titles) -> list[VisitConcern]:
    category = factories.category(nanen, "other")
    visit = visiting.visit_record(
        actor=leader, team=team, resident=resident, kind="thematic",
        visited_on=dt.date(2026, 11, 2), visitors=[],
        concerns=[{"title": title, "category": category} for title in titles], today=TODAY,
    )  # fmt: skip
    return list(visit.concerns.select_related("issue").order_by("id"))


def resolve(issue: Issue, actor) -> Issue:
    handling.issue_transition(issue=issue, actor=actor, name="start")
    return handling.issue_transition(issue=issue, actor=actor, name="resolve")


@pytest.fixture
def resolved(team, wang, leader, nanen, manan_staff):
    """Two concerns raised on a visit; the first one's matter resolved."""
    first, second = raise_concerns(team, wang, leader, nanen, "楼道堆物", "路灯不亮")
    resolve(first.issue, manan_staff)
    return first, second


def answer(**fields) -> dict:
    data = {"visited_on": "2026-11-18", "fixed": "yes", "satisfaction": "5",
            "notes": "王阿姨说楼道干净了", "submission_key": "r-1"}  # fmt: skip
    data.update(fields)
    return data


def test_a_resolved_matter_is_a_task_and_the_answer_settles_its_review(
    as_user, resolved, team, leader, walker, manan, manan_staff
):
    first, second = resolved
    page = as_user(leader).get(reverse("visits:team", args=[team.pk]))
    assert "楼道堆物" in page.text  # to revisit
    assert reverse("visits:return_new", args=[first.pk]) in page.text
    assert reverse("visits:return_new", args=[second.pk]) not in page.text  # not resolved yet

    url = reverse("visits:return_new", args=[first.pk])
    form = as_user(leader).get(url)
    assert form.status_code == 200 and 'name="satisfaction"' in form.text
    response = as_user(leader).post(url, answer(visitors=[walker.pk]))
    assert response.status_code == 302
    visit = Visit.objects.get(kind=Visit.Kind.RETURN)
    assert response.url == reverse("visits:visit", args=[visit.pk])
    assert visit.return_of == first and visit.resident == first.visit.resident

    rating = Rating.objects.get()
    assert (rating.review.issue, rating.source, rating.recorded_by, rating.satisfaction,
            rating.fixed) == (first.issue, Rating.Source.IN_PERSON, leader, 5, "yes")  # fmt: skip
    assert rating.comment == ""  # what was said on a visit stays off the public timeline
    kinds = list(first.issue.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [Event.Kind.COMMENT, Event.Kind.RATED]
    comment = first.issue.events.get(kind=Event.Kind.COMMENT)
    assert "马南走访队" in comment.note and not comment.is_public
    # Counted like any rating recorded by staff.
    counted = figures.review_figures(manan_staff, [manan.pk])[manan.pk]
    assert (counted.rated, counted.satisfied, counted.rated_by_staff) == (1, 1, 1)

    page = as_user(leader).get(reverse("visits:team", args=[team.pk]))
    assert reverse("visits:return_new", args=[first.pk]) not in page.text
    # The same form sent again records nothing more.
    again = as_user(leader).post(url, answer(visitors=[walker.pk]))
    assert again.status_code == 302 and again.url == response.url
    assert Visit.objects.filter(kind=Visit.Kind.RETURN).count() == 1
    assert Rating.objects.count() == 1


def test_an_unhappy_answer_reopens_the_matter(resolved, leader):
    first, _ = resolved
    returns.return_visit_record(actor=leader, concern=first, visited_on=TODAY, fixed="no",
                                satisfaction=1, today=TODAY)  # fmt: skip
    first.issue.refresh_from_db()
    assert first.issue.status == Issue.Status.REOPENED
    review = FollowUpReview.objects.get(issue=first.issue)
    assert review.result == FollowUpReview.Result.REOPENED


def test_a_review_the_resident_already_rated_is_not_rated_again(as_user, resolved, leader, team):
    first, _ = resolved
    review = FollowUpReview.objects.get(issue=first.issue)
    review.link_expires_at = review.resolved_at + dt.timedelta(days=30)
    review.save(update_fields=["link_expires_at"])
    reviews.review_rate(review=review, actor=None, fixed="yes", satisfaction=4)
    page = as_user(leader).get(reverse("visits:team", args=[team.pk]))
    assert reverse("visits:return_new", args=[first.pk]) not in page.text
    form = as_user(leader).get(reverse("visits:return_new", args=[first.pk]))
    assert 'name="satisfaction"' not in form.text
    visit = returns.return_visit_record(actor=leader, concern=first, visited_on=TODAY,
                                        fixed="no", satisfaction=1, today=TODAY)  # fmt: skip
    assert visit.kind == Visit.Kind.RETURN
    rating = Rating.objects.get()
    assert (rating.satisfaction, rating.source) == (4, Rating.Source.LINK)


def test_bad_return_visits_are_refused_with_nothing_written(as_user, resolved, leader):
    first, second = resolved
    url = reverse("visits:return_new", args=[first.pk])
    events_before = Event.objects.count()
    for data, message in [
        (answer(satisfaction=""), "This field is required."),
        (answer(visited_on="2026-11-19"), "A visit cannot be dated in the future."),
        (answer(satisfaction="9"), "Select a valid choice"),
    ]:
        response = as_user(leader).post(url, data, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 422 and message in response.text
        assert "王阿姨说楼道干净了" in response.text  # nothing typed is lost
    with translation.override("en"):
        with pytest.raises(VisitsRefusal, match="not resolved"):
            returns.return_visit_record(actor=leader, concern=second, visited_on=TODAY,
                                        fixed="yes", satisfaction=5, today=TODAY)  # fmt: skip
        with pytest.raises(VisitsRefusal, match="resident's answer"):
            returns.return_visit_record(actor=leader, concern=first, visited_on=TODAY,
                                        today=TODAY)  # fmt: skip
        with pytest.raises(VisitsRefusal, match="after the matter was resolved"):
            returns.return_visit_record(actor=leader, concern=first, fixed="yes", satisfaction=5,
                                        visited_on=dt.date(2026, 11, 1), today=TODAY)  # fmt: skip
    assert not Visit.objects.filter(kind=Visit.Kind.RETURN).exists()
    assert not Rating.objects.exists() and Event.objects.count() == events_before


@pytest.mark.outsider("visits:return_new")
def test_outsiders_get_404_for_a_return_visit(as_user, resolved, nanen, other_admin,
                                              xingfu_staff, manan_staff):  # fmt: skip
    first, _ = resolved
    other_team = build.team(nanen, "另一队", leader=build.cadre("another"))
    url = reverse("visits:return_new", args=[first.pk])
    for who in [other_admin, xingfu_staff, manan_staff, other_team.leader]:
        client = as_user(who)
        assert client.get(url).status_code == 404, who
        assert client.post(url, answer()).status_code == 404, who
    assert not Visit.objects.filter(kind=Visit.Kind.RETURN).exists()
    assert not Rating.objects.exists()


@pytest.mark.parametrize("count", [1, 12])
def test_the_team_page_lists_return_tasks_in_a_fixed_number_of_queries(
    as_user, team, wang, leader, nanen, manan_staff, count, django_assert_num_queries
):
    for concern in raise_concerns(team, wang, leader, nanen, *[f"事项{i}" for i in range(count)]):
        resolve(concern.issue, manan_staff)
    # session, user with its unread count, roles; team memberships; the team; the round with
    # the team's progress; members, pairings (now and before), visits, the tasks to revisit,
    # the visits residents asked for.
    member = as_user(leader)
    with django_assert_num_queries(11):
        page = member.get(reverse("visits:team", args=[team.pk]))
    assert page.text.count(reverse("visits:return_new", args=[0])[:-2]) == count
