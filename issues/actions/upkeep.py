"""Keeping the records in order: a street's categories, contact details erased when
their time is up, reminders about overdue matters.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from common import versions
from issues import events
from issues.actions import member_tasks
from issues.events import IssueActionError
from issues.models import Category, Event, Issue, Supporter
from issues.queries import responsible_users
from members import notifications
from members.models import User


@transaction.atomic
def category_save(
    *,
    actor: User,
    street,
    category: Category | None = None,
    expected_version: int | None = None,
    **fields,
) -> Category:
    """Add a category to a street or change one; street admins keep the list.

    A change drawn from an older version of the category is refused
    (``common.versions.StaleEdit``) and nothing is written.
    """
    if category is None:
        category = Category(street=street, code=f"custom-{secrets.token_hex(4)}")
        for name, value in fields.items():
            setattr(category, name, value)
        category.full_clean()
        category.save()
        return category
    if category.street_id != street.pk:
        raise IssueActionError(_("Choose a category of this street."))
    category = versions.lock(Category, category.pk, expected_version)
    for name, value in fields.items():
        setattr(category, name, value)
    category.full_clean()
    versions.bump(category)
    return category


CONTACT_RETENTION = dt.timedelta(days=183)


def contact_details_erase(*, now: dt.datetime) -> int:
    """Blank the contact name and phone of matters closed for six months (PIPL art. 19).

    The forms promise it; the rows say when each matter closed, so running this
    any number of times erases each contact once.
    """
    erased = 0
    cutoff = now - CONTACT_RETENTION
    due = Issue.objects.filter(closed_at__lt=cutoff).exclude(contact_name="", contact_phone="")
    for issue_id in due.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            claimed = (
                Issue.objects.filter(pk=issue_id, closed_at__lt=cutoff)
                .exclude(contact_name="", contact_phone="")
                .update(contact_name="", contact_phone="")
            )
            if claimed:
                # The text messages that asked the reporter for a rating hold the number too.
                notifications.forget_phone(context_issue_id=issue_id)
                events.record(Issue(pk=issue_id), None, Event.Kind.CONTACT_ERASED, public=False)
                erased += 1
    # The residents who said "me too" are forgotten with the matter, and their texts too.
    supporters = Supporter.objects.filter(issue__closed_at__lt=cutoff).exclude(name="", phone="")
    for issue_id in set(supporters.values_list("issue_id", flat=True)):
        with transaction.atomic():
            Supporter.objects.filter(issue_id=issue_id).update(name="", phone="")
            notifications.forget_phone(context_issue_id=issue_id)
    return erased


def overdue_notify(*, issue_id: int, today: dt.date) -> int:
    """Remind the people responsible for one overdue issue, at most once per day."""
    with transaction.atomic():
        issue = Issue.objects.select_related("community", "category").get(pk=issue_id)
        if not issue.is_overdue(today):
            return 0
        key = f"overdue:{issue.pk}:{today.isoformat()}"
        # The members of a council's own task are reminded of their task instead.
        sent, told = member_tasks.task_overdue_notify(issue=issue, today=today)
        for user in responsible_users(issue):
            if user.pk in told:
                continue
            sent += len(notifications.notify(
                user, "issue_overdue", events.notice_context(issue), key=f"{key}:{user.pk}"
            ))  # fmt: skip
        if sent:
            events.record(issue, None, Event.Kind.OVERDUE, to_value=today.isoformat(), public=False)
        return sent
