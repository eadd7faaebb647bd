"""The follow-up review sweeper: claims due reviews once, asks reporters, fills agendas, reminds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from deliberation.actions import review_items
from deliberation.models import AgendaItem
from issues import reviews
from issues.models import Event, FollowUpReview
from members.models import Notice
from tests import factories

R = FollowUpReview.State
PHONE = "13900001111"


@pytest.fixture
def later():
    """A moment after every review booked now has come due."""
    return timezone.now() + dt.timedelta(days=8)


def test_a_due_review_asks_the_reporter_once_and_goes_on_the_next_meeting(
    manan, manan_staff, later
):
    upcoming = factories.meeting(manan, later + dt.timedelta(days=2))
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)

    assert review_items.reviews_sweep(now=later) == {"sent": 1, "placed": 1, "reminded": 0}
    assert review_items.reviews_sweep(now=later) == {"sent": 0, "placed": 0, "reminded": 0}

    review = issue.reviews.get()
    assert review.state == R.SENT
    assert review.link_expires_at == later + dt.timedelta(days=30)
    notice = Notice.objects.get(kind="review_invite")
    assert (notice.phone, notice.recipient, notice.channel) == (PHONE, None, "sms")
    assert reviews.rating_url(review) == notice.context["link"]
    item = AgendaItem.objects.get(issue=issue)
    assert (item.meeting, item.kind) == (upcoming, AgendaItem.Kind.REVIEW)
    assert Event.objects.filter(issue=issue, kind=Event.Kind.REVIEW_SENT).count() == 1


def sweep(now) -> dict[str, int]:
    return review_items.reviews_sweep(now=now)


def test_a_review_not_due_yet_waits(manan, manan_staff):
    factories.meeting(manan, timezone.now() + dt.timedelta(days=20))
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)

    assert sweep(timezone.now() + dt.timedelta(days=6)) == {"sent": 0, "placed": 0, "reminded": 0}

    assert issue.reviews.get().state == R.PENDING
    assert not Notice.objects.exists()
    assert not AgendaItem.objects.exists()


def test_an_anonymous_matter_still_gets_the_councils_review(manan, manan_staff, later):
    upcoming = factories.meeting(manan, later + dt.timedelta(days=2))
    issue = factories.resolved_issue(manan, actor=manan_staff)

    assert sweep(later)["sent"] == 1

    assert issue.reviews.get().state == R.SENT
    assert not Notice.objects.filter(kind="review_invite").exists()
    assert AgendaItem.objects.get(issue=issue).meeting == upcoming
    event = Event.objects.get(issue=issue, kind=Event.Kind.REVIEW_SENT)
    assert event.data["asked"] is False


def test_a_registered_reporter_is_asked_on_their_own_number(manan, manan_staff, later):
    reporter = factories.resident(manan, "李阿姨", phone="13700002222")
    gone = factories.resident(manan, "张伯", phone="13700003333")
    factories.resolved_issue(manan, actor=manan_staff, reporter=reporter)
    moved_away = factories.resolved_issue(manan, actor=manan_staff, reporter=gone)
    from members import actions as members_actions

    members_actions.resident_deactivate(actor=manan_staff, resident=gone, reason="搬走了")

    assert sweep(later)["sent"] == 2

    assert list(Notice.objects.values_list("phone", flat=True)) == ["13700002222"]
    assert moved_away.reviews.get().state == R.SENT


def test_a_council_without_a_meeting_ahead_gets_the_item_once_one_is_scheduled(
    manan, manan_staff, later
):
    factories.meeting(manan, later - dt.timedelta(hours=1))  # begun already
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)

    assert sweep(later) == {"sent": 1, "placed": 0, "reminded": 0}
    assert not AgendaItem.objects.exists()
    assert issue.reviews.get().put_on_agenda_at is None

    upcoming = factories.meeting(manan, later + dt.timedelta(days=10))
    assert sweep(later)["placed"] == 1
    assert sweep(later)["placed"] == 0

    assert AgendaItem.objects.get(issue=issue).meeting == upcoming
    assert issue.reviews.get().put_on_agenda_at == later


def test_the_item_goes_on_the_next_scheduled_meeting_after_its_items(
    manan, manan_staff, later, xingfu
):
    from deliberation.models import Meeting

    factories.meeting(manan, later + dt.timedelta(days=1), state=Meeting.State.CANCELLED)
    upcoming = factories.meeting(manan, later + dt.timedelta(days=3))
    factories.meeting(manan, later + dt.timedelta(days=13))
    elsewhere = factories.meeting(xingfu, later + dt.timedelta(days=2))
    AgendaItem.objects.create(meeting=upcoming, kind="topic", topic="春节慰问", position=0)
    first = factories.resolved_issue(manan, actor=manan_staff)
    second = factories.resolved_issue(manan, actor=manan_staff)

    sweep(later)

    items = list(AgendaItem.objects.filter(meeting=upcoming).order_by("position"))
    assert [(i.position, i.kind, i.issue) for i in items] == [
        (0, "topic", None),
        (1, "review", first),
        (2, "review", second),
    ]
    assert not elsewhere.agenda_items.exists()


def test_a_reporter_who_has_not_rated_is_reminded_once_after_three_days(manan, manan_staff, later):
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)
    sweep(later)

    assert sweep(later + dt.timedelta(days=2, hours=23))["reminded"] == 0
    assert sweep(later + dt.timedelta(days=3))["reminded"] == 1
    assert sweep(later + dt.timedelta(days=4))["reminded"] == 0

    reminder = Notice.objects.get(kind="review_reminder")
    assert reminder.phone == PHONE
    assert reminder.context["link"] == Notice.objects.get(kind="review_invite").context["link"]
    assert Event.objects.filter(issue=issue, kind=Event.Kind.REVIEW_REMINDED).count() == 1


def test_no_reminder_after_a_rating_or_without_a_number(manan, manan_staff, later):
    rated = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)
    factories.resolved_issue(manan, actor=manan_staff)
    sweep(later)
    reviews.review_rate(review=rated.reviews.get(), actor=None, fixed="yes", satisfaction=5)

    sweep(later + dt.timedelta(days=3))

    assert not Notice.objects.filter(kind="review_reminder").exists()


def test_no_reminder_once_the_link_has_expired(manan, manan_staff, later):
    factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)
    sweep(later)

    assert sweep(later + dt.timedelta(days=31))["reminded"] == 0
    assert not Notice.objects.filter(kind="review_reminder").exists()


def test_a_rating_taken_in_person_before_the_review_is_due_spares_the_text(
    manan, manan_staff, later
):
    factories.meeting(manan, later + dt.timedelta(days=2))
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)
    reviews.review_rate(
        review=issue.reviews.get(),
        actor=manan_staff,
        fixed="yes",
        satisfaction=4,
        source="in_person",
    )

    assert sweep(later)["sent"] == 1

    assert not Notice.objects.filter(kind="review_invite").exists()
    assert AgendaItem.objects.get(issue=issue).kind == "review"
    assert sweep(later + dt.timedelta(days=3))["reminded"] == 0


def test_resolving_again_after_a_reopen_sends_only_the_new_review(manan, manan_staff, later):
    from issues.actions import handling

    factories.meeting(manan, later + dt.timedelta(days=2))
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)
    handling.issue_transition(issue=issue, actor=manan_staff, name="reopen", note="灯又坏了")
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    assert sweep(later + dt.timedelta(days=1))["sent"] == 1

    assert sorted(issue.reviews.values_list("state", flat=True)) == [R.CANCELLED, R.SENT]
    sent = issue.reviews.get(state=R.SENT)
    assert Notice.objects.get(kind="review_invite").key == f"review_invite:{sent.pk}:sms"


def test_reopening_turns_the_waiting_review_item_into_an_issue_item(manan, manan_staff, later):
    from issues.actions import handling

    factories.meeting(manan, later + dt.timedelta(days=2))
    issue = factories.resolved_issue(manan, actor=manan_staff)
    sweep(later)

    handling.issue_transition(issue=issue, actor=manan_staff, name="reopen", note="灯又坏了")

    assert issue.reviews.get().state == R.CANCELLED
    assert AgendaItem.objects.get(issue=issue).kind == AgendaItem.Kind.ISSUE


def test_resolved_again_before_the_meeting_the_matter_is_reviewed_there(manan, manan_staff, later):
    from issues.actions import handling

    upcoming = factories.meeting(manan, later + dt.timedelta(days=10))
    issue = factories.resolved_issue(manan, actor=manan_staff, contact_phone=PHONE)
    sweep(later)
    handling.issue_transition(issue=issue, actor=manan_staff, name="reopen", note="又坏了")
    assert AgendaItem.objects.get(issue=issue).kind == AgendaItem.Kind.ISSUE
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    assert sweep(later + dt.timedelta(days=8))["sent"] == 1

    item = AgendaItem.objects.get(issue=issue)
    assert (item.meeting, item.kind, item.removed_at) == (upcoming, AgendaItem.Kind.REVIEW, None)
