"""Follow-up reviews (回头议): resolving a matter books one, reopening it calls it off."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from issues.actions import escalations, handling
from issues.events import IssueActionError
from issues.lifecycle import TransitionRefused
from issues.models import Escalation, FollowUpReview, Issue
from tests import factories

R = FollowUpReview.State
NOTE = "居民反映灯又不亮了"


def resolved(community, actor, *, code: str = "other") -> Issue:
    issue = factories.issue(community, actor=actor, code=code, title="楼道灯坏了")
    handling.issue_transition(issue=issue, actor=actor, name="start")
    return handling.issue_transition(issue=issue, actor=actor, name="resolve")


def reopen(issue: Issue, actor) -> Issue:
    return handling.issue_transition(issue=issue, actor=actor, name="reopen", note=NOTE)


def test_resolving_books_one_review_after_the_council_default(manan, manan_staff):
    issue = resolved(manan, manan_staff)

    review = issue.reviews.get()
    assert review.state == R.PENDING
    assert review.due_at == issue.resolved_at + dt.timedelta(days=7)
    assert timezone.is_aware(review.due_at)
    assert (review.claimed_at, review.cancelled_at) == (None, None)


def test_the_councils_own_setting_is_used(manan, manan_staff):
    manan.council.review_after_days = 10
    manan.council.save(update_fields=["review_after_days"])

    issue = resolved(manan, manan_staff)

    assert issue.reviews.get().due_at == issue.resolved_at + dt.timedelta(days=10)


def test_a_category_override_wins_over_the_council(manan, manan_staff, nanen):
    manan.council.review_after_days = 10
    manan.council.save(update_fields=["review_after_days"])
    category = factories.category(nanen, "other")
    category.review_after_days = 3
    category.save(update_fields=["review_after_days"])

    issue = resolved(manan, manan_staff)

    assert issue.reviews.get().due_at == issue.resolved_at + dt.timedelta(days=3)


def test_reopening_cancels_the_review(manan, manan_staff):
    issue = resolved(manan, manan_staff)

    reopen(issue, manan_staff)

    review = issue.reviews.get()
    assert review.state == R.CANCELLED
    assert review.cancelled_at is not None


def test_reopening_a_sent_review_cancels_it_too(manan, manan_staff):
    issue = resolved(manan, manan_staff)
    issue.reviews.update(state=R.SENT, claimed_at=timezone.now())

    reopen(issue, manan_staff)

    assert issue.reviews.get().state == R.CANCELLED


def test_resolving_again_books_a_new_review_and_the_old_stays_cancelled(manan, manan_staff):
    issue = resolved(manan, manan_staff)
    first = issue.reviews.get()
    reopen(issue, manan_staff)

    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    first.refresh_from_db()
    assert first.state == R.CANCELLED
    second = issue.reviews.exclude(pk=first.pk).get()
    assert second.state == R.PENDING
    assert second.due_at == issue.resolved_at + dt.timedelta(days=7)


def test_the_database_refuses_a_second_live_review(manan, manan_staff):
    issue = resolved(manan, manan_staff)

    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpReview.objects.create(
            issue=issue, resolved_at=timezone.now(), due_at=timezone.now(), state=R.SENT
        )

    assert issue.reviews.count() == 1
    # Finished or cancelled reviews are history, not live: any number may sit beside one.
    now = timezone.now()
    FollowUpReview.objects.create(
        issue=issue, resolved_at=now, due_at=now, state=R.DONE, result="closed", finished_at=now
    )
    FollowUpReview.objects.create(issue=issue, resolved_at=now, due_at=now, state=R.CANCELLED)
    assert issue.reviews.count() == 3


def test_a_refused_resolve_books_nothing(manan, manan_staff):
    # A must-deliberate matter cannot be resolved before the council has deliberated it.
    issue = factories.issue(manan, actor=manan_staff, code="facilities", title="电梯停运")
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")

    with pytest.raises(TransitionRefused):
        handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    assert not FollowUpReview.objects.exists()


def test_a_resolve_refused_while_the_street_holds_the_matter_books_nothing(manan, manan_staff):
    issue = factories.issue(manan, actor=manan_staff, title="小区门口占道经营")
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="议事会协调不了")
    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="需要街道协调城管")

    with pytest.raises(IssueActionError):
        handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    assert not FollowUpReview.objects.exists()


def test_a_refused_reopen_leaves_the_review_alone(manan, manan_staff):
    issue = resolved(manan, manan_staff)

    with pytest.raises(TransitionRefused):
        handling.issue_transition(issue=issue, actor=manan_staff, name="reopen", note=" ")

    assert issue.reviews.get().state == R.PENDING


def test_the_street_confirming_a_handled_matter_books_a_review(
    manan, manan_staff, nanen_admin, city_handler, nanen
):
    issue = factories.issue(manan, actor=manan_staff, title="小区门口占道经营")
    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="议事会协调不了")
    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="需要街道协调城管")
    escalation = Escalation.objects.get(issue=issue)
    escalations.escalation_accept(
        escalation=escalation,
        actor=nanen_admin,
        department=factories.department(nanen),
        deadline=timezone.localdate() + dt.timedelta(days=5),
    )
    escalations.escalation_reply(escalation=escalation, actor=city_handler, reply="已清理占道摊位")

    escalations.escalation_confirm(escalation=escalation, actor=nanen_admin)

    issue.refresh_from_db()
    review = issue.reviews.get()
    assert review.state == R.PENDING
    assert review.due_at == issue.resolved_at + dt.timedelta(days=7)
