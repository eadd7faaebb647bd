"""The follow-up review sweeper: claims due reviews once, asks reporters, fills agendas, reminds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

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

    assert reviews.reviews_sweep(now=later) == {"sent": 1, "placed": 0, "reminded": 0}
    assert reviews.reviews_sweep(now=later) == {"sent": 0, "placed": 0, "reminded": 0}

    review = issue.reviews.get()
    assert review.state == R.SENT
    assert review.link_expires_at == later + dt.timedelta(days=30)
    notice = Notice.objects.get(kind="review_invite")
    assert (notice.phone, notice.recipient, notice.channel) == (PHONE, None, "sms")
    assert reviews.rating_url(review) == notice.context["link"]
    item = AgendaItem.objects.get(issue=issue)
    assert (item.meeting, item.kind) == (upcoming, AgendaItem.Kind.REVIEW)
    assert Event.objects.filter(issue=issue, kind=Event.Kind.REVIEW_SENT).count() == 1
