"""Follow-up reviews brought to a state through the actions: sent, done, or cancelled."""

from __future__ import annotations

import datetime as dt

from deliberation.actions import review_items
from issues import reviews
from issues.actions import handling
from issues.models import FollowUpReview
from members.models import Community
from tests import factories


def sent(community: Community, actor) -> FollowUpReview:
    """A matter resolved and its review sent to the reporter and the council."""
    issue = factories.resolved_issue(community, actor=actor)
    review = issue.reviews.get()
    review_items.reviews_sweep(now=review.due_at)
    review.refresh_from_db()
    assert review.state == FollowUpReview.State.SENT
    return review


def rate(review: FollowUpReview, satisfaction: int, *, after_days: float) -> None:
    fixed = "yes" if satisfaction >= 3 else "no"
    reviews.review_rate(
        review=review,
        actor=None,
        fixed=fixed,
        satisfaction=satisfaction,
        now=review.resolved_at + dt.timedelta(days=after_days),
    )


def council_review(
    review: FollowUpReview, actor, *, after_days: float, outcome: str = "effective"
) -> FollowUpReview:
    reviews.review_council_record(
        issue=review.issue,
        actor=actor,
        outcome=outcome,
        now=review.resolved_at + dt.timedelta(days=after_days),
    )
    review.refresh_from_db()
    return review


def done(community: Community, actor, *, after_days: float, rating: int | None = None):
    """A review done ``after_days`` after the resolution: closed, or reopened by a bad rating."""
    review = sent(community, actor)
    if rating is not None and rating < 3:
        rate(review, rating, after_days=after_days)
        review.refresh_from_db()
    else:
        if rating is not None:
            rate(review, rating, after_days=after_days - 0.5)
        review = council_review(review, actor, after_days=after_days)
    assert review.state == FollowUpReview.State.DONE
    return review


def cancelled(community: Community, actor) -> FollowUpReview:
    issue = factories.resolved_issue(community, actor=actor)
    handling.issue_transition(issue=issue, actor=actor, name="reopen", note="灯又坏了")
    review = issue.reviews.get()
    assert review.state == FollowUpReview.State.CANCELLED
    return review
