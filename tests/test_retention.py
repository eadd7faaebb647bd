"""Personal information is kept no longer than the forms promise."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from deliberation.actions import review_items
from issues.actions import handling, upkeep
from issues.models import Event, Issue
from tests import factories


def closed_issue(manan, staff, *, days_ago: int, phone: str = "13812345678") -> Issue:
    issue = factories.issue(manan, actor=staff, contact_name="李女士", contact_phone=phone)
    issue = handling.issue_transition(issue=issue, actor=staff, name="start")
    issue = handling.issue_transition(issue=issue, actor=staff, name="resolve")
    issue = handling.issue_transition(issue=issue, actor=staff, name="close")
    Issue.objects.filter(pk=issue.pk).update(closed_at=timezone.now() - dt.timedelta(days=days_ago))
    return issue


def test_contact_details_are_erased_six_months_after_closing(manan, manan_staff):
    old = closed_issue(manan, manan_staff, days_ago=200)
    recent = closed_issue(manan, manan_staff, days_ago=30)
    still_open = factories.issue(manan, actor=manan_staff, contact_phone="13900001111")
    assert upkeep.contact_details_erase(now=timezone.now()) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    still_open.refresh_from_db()
    assert (old.contact_name, old.contact_phone) == ("", "")
    assert recent.contact_phone == "13812345678"
    assert still_open.contact_phone == "13900001111"
    assert Event.objects.filter(issue=old, kind="contact_erased").count() == 1
    # Running again erases nothing more and records nothing more.
    assert upkeep.contact_details_erase(now=timezone.now()) == 0
    assert Event.objects.filter(kind="contact_erased").count() == 1


def test_reopening_clears_the_closing_date(manan, manan_staff):
    issue = closed_issue(manan, manan_staff, days_ago=1)
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="reopen", note="没修好")
    assert issue.closed_at is None
    assert upkeep.contact_details_erase(now=timezone.now() + dt.timedelta(days=400)) == 0


def test_the_nightly_task_is_scheduled_and_erases(manan, manan_staff, settings):
    from issues.tasks import erase_expired_contact_details

    entry = settings.CELERY_BEAT_SCHEDULE["erase-expired-contact-details"]
    assert entry["task"] == "issues.tasks.erase_expired_contact_details"
    old = closed_issue(manan, manan_staff, days_ago=365)
    assert erase_expired_contact_details.delay().get() == 1
    old.refresh_from_db()
    assert old.contact_phone == ""


def test_erasing_contact_details_blanks_the_number_on_rating_messages_too(manan, manan_staff):
    from members.models import Notice

    factories.meeting(manan, timezone.now() + dt.timedelta(days=10))
    issue = factories.issue(manan, actor=manan_staff, contact_phone="13812345678")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")
    review_items.reviews_sweep(now=timezone.now() + dt.timedelta(days=8))
    other = factories.issue(manan, actor=manan_staff, contact_phone="13900001111")
    other = handling.issue_transition(issue=other, actor=manan_staff, name="start")
    handling.issue_transition(issue=other, actor=manan_staff, name="resolve")
    review_items.reviews_sweep(now=timezone.now() + dt.timedelta(days=8))
    handling.issue_transition(issue=issue, actor=manan_staff, name="close")
    Issue.objects.filter(pk=issue.pk).update(closed_at=timezone.now() - dt.timedelta(days=200))

    assert upkeep.contact_details_erase(now=timezone.now()) == 1

    erased = Notice.objects.get(context__issue_id=issue.pk)
    assert (erased.phone, erased.status) == ("", Notice.Status.FAILED)
    assert Notice.objects.get(context__issue_id=other.pk).phone == "13900001111"
