"""Ratings and the council's review settle a follow-up review: the matter closes or reopens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from deliberation.actions import agenda, review_items, running
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Decision
from issues import reviews
from issues.models import Event, FollowUpReview, Issue, Rating
from members.models import Notice
from tests import factories
from tests.helpers.meetings import quorum_present

R = FollowUpReview.State
S = Issue.Status
PHONE = "13900001111"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def later():
    return timezone.now() + dt.timedelta(days=8)


@pytest.fixture
def meeting(manan, later):
    return factories.meeting(manan, later + dt.timedelta(days=2))


@pytest.fixture
def under_review(manan, manan_staff, meeting, later):
    """A resolved matter whose review was sent: the reporter asked, the item on the agenda."""
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)
    review_items.reviews_sweep(now=later)
    return issue


def review_of(issue: Issue) -> FollowUpReview:
    return issue.reviews.exclude(state=R.CANCELLED).get()


def rate(issue: Issue, fixed: str, satisfaction: int, **fields) -> Rating:
    return reviews.review_rate(
        review=review_of(issue), actor=None, fixed=fixed, satisfaction=satisfaction, **fields
    )


def council(issue: Issue, actor, outcome: str, notes: str = "", now=None) -> FollowUpReview:
    return reviews.review_council_record(
        issue=issue, actor=actor, outcome=outcome, notes=notes, now=now
    )


def status(issue: Issue) -> str:
    issue.refresh_from_db()
    return issue.status


def kinds(issue: Issue) -> list[str]:
    return list(issue.events.order_by("id").values_list("kind", flat=True))


@pytest.mark.parametrize(
    ("fixed", "satisfaction"), [("yes", 5), ("yes", 4), ("partly", 3), ("yes", 3)]
)
def test_a_good_rating_waits_for_the_councils_review(under_review, fixed, satisfaction):
    rating = rate(under_review, fixed, satisfaction, comment="  谢谢  ")

    assert (rating.source, rating.recorded_by, rating.comment) == ("link", None, "谢谢")
    assert status(under_review) == S.RESOLVED
    assert review_of(under_review).state == R.SENT
    event = under_review.events.get(kind=Event.Kind.RATED)
    assert (event.actor, event.to_value, event.is_public) == (None, str(satisfaction), True)


@pytest.mark.parametrize(("fixed", "satisfaction"), [("no", 5), ("yes", 2), ("partly", 1)])
def test_a_no_or_a_rating_of_one_or_two_reopens_at_once(
    under_review, manan_staff, fixed, satisfaction
):
    rate(under_review, fixed, satisfaction)

    assert status(under_review) == S.REOPENED
    review = review_of(under_review)
    assert (review.state, review.result) == (R.DONE, "reopened")
    assert review.finished_at is not None
    reopened = under_review.events.filter(kind=Event.Kind.STATUS).last()
    assert (reopened.to_value, reopened.actor, reopened.is_public) == (S.REOPENED, None, True)
    assert "not fixed" in reopened.note
    assert reopened.data.get("note_public") is True
    told = Notice.objects.filter(kind="issue_reopened", channel="inapp")
    assert list(told.values_list("recipient", flat=True)) == [manan_staff.pk]


def test_the_reopened_matter_is_deliberated_at_the_meeting_it_was_to_be_reviewed_at(
    under_review, meeting
):
    rate(under_review, "no", 1)

    item = AgendaItem.objects.get(issue=under_review)
    assert (item.meeting, item.kind) == (meeting, AgendaItem.Kind.ISSUE)


def test_the_council_finding_it_worked_closes_the_matter(under_review, manan_staff, later):
    rate(under_review, "yes", 5)

    council(under_review, manan_staff, "effective", notes="晾衣区已投入使用", now=later)

    assert status(under_review) == S.CLOSED
    review = review_of(under_review)
    assert (review.state, review.result, review.finished_at) == (R.DONE, "closed", later)
    assert (review.council_outcome, review.council_recorded_by) == ("effective", manan_staff)
    assert kinds(under_review)[-3:] == [Event.Kind.RATED, Event.Kind.REVIEWED, Event.Kind.STATUS]
    assert under_review.events.last().to_value == S.CLOSED


def test_the_council_need_not_wait_for_a_resident_who_does_not_answer(under_review, manan_staff):
    council(under_review, manan_staff, "effective")

    assert status(under_review) == S.CLOSED


def test_the_council_finding_it_did_not_work_reopens_even_after_a_good_rating(
    under_review, manan_staff
):
    rate(under_review, "yes", 5)

    council(under_review, manan_staff, "not_effective", notes="下雨天仍然积水")

    assert status(under_review) == S.REOPENED
    assert review_of(under_review).result == "reopened"
    reopened = under_review.events.filter(kind=Event.Kind.STATUS).last()
    assert "下雨天仍然积水" in reopened.note


def test_a_bad_rating_after_the_council_closed_the_matter_reopens_it(
    under_review, manan_staff, later
):
    council(under_review, manan_staff, "effective", now=later)

    rate(under_review, "no", 2)

    assert status(under_review) == S.REOPENED
    review = review_of(under_review)
    assert (review.result, review.finished_at) == ("reopened", later)


def test_a_second_rating_is_refused_and_changes_nothing(under_review):
    rate(under_review, "yes", 5)

    with pytest.raises(reviews.ReviewRefused, match="already been rated"):
        rate(under_review, "no", 1)

    assert Rating.objects.get().satisfaction == 5
    assert status(under_review) == S.RESOLVED


def test_an_expired_link_takes_no_rating(under_review, later):
    with pytest.raises(reviews.ReviewRefused, match="expired"):
        rate(under_review, "no", 1, now=later + dt.timedelta(days=30))

    assert not Rating.objects.exists()
    assert status(under_review) == S.RESOLVED


def test_a_link_before_the_review_was_sent_takes_no_rating(manan, manan_staff):
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)

    with pytest.raises(reviews.ReviewRefused, match="not valid"):
        rate(issue, "yes", 5)


def test_a_called_off_review_takes_no_rating(under_review, manan_staff):
    from issues.actions import handling

    review = review_of(under_review)
    handling.issue_transition(issue=under_review, actor=manan_staff, name="reopen", note="又坏了")

    with pytest.raises(reviews.ReviewRefused, match="called off"):
        reviews.review_rate(review=review, actor=None, fixed="yes", satisfaction=5)
    assert not Rating.objects.exists()


@pytest.mark.parametrize(("fixed", "satisfaction"), [("maybe", 5), ("yes", 0), ("yes", 6)])
def test_a_rating_out_of_the_scale_is_refused(under_review, fixed, satisfaction):
    with pytest.raises(reviews.ReviewRefused):
        rate(under_review, fixed, satisfaction)

    assert not Rating.objects.exists()


def test_staff_record_a_rating_given_on_the_phone(under_review, manan_staff):
    rating = reviews.review_rate(
        review=review_of(under_review),
        actor=manan_staff,
        fixed="partly",
        satisfaction=2,
        comment="电话回访：还是有异味",
        source="phone",
    )

    assert (rating.source, rating.recorded_by) == ("phone", manan_staff)
    event = under_review.events.get(kind=Event.Kind.RATED)
    assert (event.actor, event.data["source"]) == (manan_staff, "phone")
    assert status(under_review) == S.REOPENED


def test_the_council_cannot_review_a_matter_with_no_review_waiting(manan, manan_staff):
    pending = factories.resolved_issue(manan, actor=manan_staff)

    with pytest.raises(reviews.ReviewRefused, match="no follow-up review waiting"):
        council(pending, manan_staff, "effective")

    assert status(pending) == S.RESOLVED


# --- At the meeting ------------------------------------------------------------------------


def review_item(issue: Issue) -> AgendaItem:
    return AgendaItem.objects.get(issue=issue, kind=AgendaItem.Kind.REVIEW)


def test_the_meetings_decision_on_a_review_item_closes_the_matter(under_review, manan_staff):
    quorum_present(review_item(under_review).meeting, manan_staff)
    decision = running.decision_record(
        item=review_item(under_review),
        actor=manan_staff,
        outcome=Decision.Outcome.REVIEW_EFFECTIVE,
        notes="居民反映晾衣区好用",
    )

    assert decision.outcome == "review_effective"
    assert status(under_review) == S.CLOSED
    assert review_of(under_review).council_notes == "居民反映晾衣区好用"


def test_a_review_item_takes_only_a_review_outcome(under_review, manan_staff):
    with pytest.raises(ActionError, match="whether the fix worked"):
        running.decision_record(
            item=review_item(under_review),
            actor=manan_staff,
            outcome=Decision.Outcome.SOLVE_BY_COUNCIL,
            notes="",
        )

    assert not Decision.objects.exists()
    assert status(under_review) == S.RESOLVED


def test_an_issue_item_takes_no_review_outcome(manan, manan_staff, meeting):
    from issues.actions import handling

    issue = factories.issue(manan, actor=manan_staff)
    handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    item = AgendaItem.objects.create(meeting=meeting, issue=issue, position=0)

    with pytest.raises(ActionError, match="Only a follow-up review item"):
        running.decision_record(
            item=item, actor=manan_staff, outcome=Decision.Outcome.REVIEW_EFFECTIVE, notes=""
        )

    assert not Decision.objects.exists()


def test_a_review_deferred_at_the_meeting_goes_on_the_next_one_as_a_review(
    manan, under_review, manan_staff, meeting
):
    following = factories.meeting(manan, meeting.starts_at + dt.timedelta(days=10))
    quorum_present(meeting, manan_staff)

    running.decision_record(
        item=review_item(under_review),
        actor=manan_staff,
        outcome=Decision.Outcome.DEFER,
        notes="负责的委员请假",
    )

    moved = AgendaItem.objects.get(meeting=following, issue=under_review)
    assert moved.kind == AgendaItem.Kind.REVIEW
    assert status(under_review) == S.RESOLVED
    assert review_of(under_review).state == R.SENT


def test_a_refused_review_outcome_leaves_no_decision(under_review, manan_staff):
    rate(under_review, "no", 1)  # reopened: the item became an issue item, nothing to review

    item = AgendaItem.objects.get(issue=under_review)
    with pytest.raises(ActionError):
        running.decision_record(
            item=item,
            actor=manan_staff,
            outcome=Decision.Outcome.REVIEW_NOT_EFFECTIVE,
            notes="",
        )

    assert not Decision.objects.exists()


def test_a_review_closed_away_from_its_item_takes_the_item_off_the_agenda(
    under_review, manan_staff, meeting
):
    council(under_review, manan_staff, "effective")

    item = AgendaItem.objects.get(issue=under_review)
    assert item.removed_at is not None
    assert not meeting.agenda_items.filter(removed_at__isnull=True).exists()


def test_staff_closing_by_hand_ends_the_review_with_the_matter(under_review, manan_staff, meeting):
    from issues.actions import handling

    handling.issue_transition(issue=under_review, actor=manan_staff, name="close", note="已核实")

    review = review_of(under_review)
    assert (review.state, review.result) == (R.DONE, "closed")
    assert not meeting.agenda_items.filter(removed_at__isnull=True).exists()
    # The resident's link still works: a "no" reopens the closed matter.
    rate(under_review, "no", 1)
    assert status(under_review) == S.REOPENED


def test_a_review_item_taken_off_by_hand_can_be_put_back_while_the_review_waits(
    under_review, manan_staff, meeting
):
    item = review_item(under_review)
    agenda.agenda_item_remove(item=item, actor=manan_staff)

    restored = agenda.agenda_item_restore(item=item, actor=manan_staff)

    assert (restored.pk, restored.kind, restored.removed_at) == (item.pk, "review", None)


def test_a_review_item_cannot_come_back_once_the_review_is_over(under_review, manan_staff, meeting):
    item = review_item(under_review)
    agenda.agenda_item_remove(item=item, actor=manan_staff)
    council(under_review, manan_staff, "effective")

    with pytest.raises(ActionError, match="review of this matter is over"):
        agenda.agenda_item_restore(item=item, actor=manan_staff)


def test_closing_by_hand_before_the_review_is_due_calls_it_off(manan, manan_staff):
    from issues.actions import handling

    issue = factories.resolved_issue(manan, actor=manan_staff)

    handling.issue_transition(issue=issue, actor=manan_staff, name="close")

    assert issue.reviews.get().state == R.CANCELLED
