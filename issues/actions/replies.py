"""Replies to the resident who raised a matter, and the street's reusable reply templates.

A reply is public: it shows on the tracking page and is texted to the reporter. The first
one settles the category's first-reply deadline (``Category.first_reply_days``). Internal
notes (``intake.issue_comment``) are the other kind of timeline text and reach no resident.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from issues import events, replies
from issues.actions.supporters import supporters_tell
from issues.events import IssueActionError
from issues.models import Category, Event, Issue, ReplyTemplate
from issues.queries import reporter_phone
from members import notifications
from members.models import Street, User


def reply_due_on(category: Category, reported: dt.date) -> dt.date | None:
    """The day by which the resident should hear back first, or None when no limit is set."""
    if not category.first_reply_days:
        return None
    return reported + dt.timedelta(days=category.first_reply_days)


@transaction.atomic
def issue_reply(*, issue: Issue, actor: User, text: str) -> Event:
    """Reply to the reporter: on the tracking page and by text message, once."""
    text = text.strip()
    if not text:
        raise IssueActionError(_("Write the reply first."))
    issue = events.lock(issue, None)
    event = events.record(issue, actor, Event.Kind.REPLY, note=text, public=True, note_public=True)
    if issue.first_reply_at is None:
        issue.first_reply_at = event.created
        issue.reply_due_on = None
        events.save(issue, ["first_reply_at", "reply_due_on"])
    context = {**events.notice_context(issue), "reply": text, "code": issue.tracking_code}
    phone = reporter_phone(issue)
    if phone:
        notifications.notify_phone(phone, "issue_reply", context, key=f"issue_reply:{event.pk}")
    supporters_tell(issue, "issue_reply", context, key=f"issue_reply:{event.pk}")
    return event


@transaction.atomic
def template_save(
    *, street: Street, actor: User, title: str, body: str, template: ReplyTemplate | None = None
) -> ReplyTemplate:
    """Add a reply template to the street's list, or correct one."""
    template = template or ReplyTemplate(street=street, created_by=actor)
    if template.street_id != street.pk:
        raise IssueActionError(_("This reply template belongs to another street."))
    template.title = title.strip()
    try:
        template.body = replies.clean_body(body)
    except ValidationError as error:
        raise IssueActionError(" ".join(error.messages)) from error
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise IssueActionError(
            _("The street already has a reply template with this title.")
        ) from None
    return template


@transaction.atomic
def template_retire(*, template: ReplyTemplate, actor: User) -> ReplyTemplate:
    """Take a template out of use; replies already sent keep their text."""
    if template.is_active:
        template.is_active = False
        template.save(update_fields=["is_active", "updated"])
    return template
