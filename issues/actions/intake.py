"""Taking in matters: reporting from any channel, correcting the details, comments and
photos.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from issues import events, photos, rollup, search
from issues.actions.base import PhotoNotStored, store_photos
from issues.actions.replies import reply_due_on
from issues.events import IssueActionError
from issues.models import Category, Event, Issue, Photo
from issues.queries import responsible_users
from members import actions as members_actions
from members.models import Community, Resident, User

# No 0/O or 1/I/L: residents read tracking codes aloud and type them on phones.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


@transaction.atomic
def issue_report(
    *,
    actor: User | None,
    community: Community,
    title: str,
    category: Category,
    channel: str,
    description: str = "",
    place: str = "",
    latitude=None,
    longitude=None,
    is_urgent: bool = False,
    reporter: Resident | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    uploads: Sequence[UploadedFile] = (),
) -> Issue:
    """Record a new issue from any channel; ``actor`` is None for the public form."""
    if category.street_id != community.street_id or not category.is_active:
        raise IssueActionError(_("Choose a category of this street."))
    if reporter is not None and reporter.community_id != community.pk:
        raise IssueActionError(_("The reporting resident must live in this community."))
    if len(uploads) > photos.MAX_PHOTOS:
        raise IssueActionError(_("At most %(n)s photos per issue.") % {"n": photos.MAX_PHOTOS})
    cleaned = [photos.process(upload) for upload in uploads]  # all checked before any write
    issue = Issue(
        community=community,
        title=title.strip(),
        description=description.strip(),
        category=category,
        place=place.strip(),
        latitude=latitude,
        longitude=longitude,
        is_urgent=is_urgent,
        channel=channel,
        reporter=reporter,
        contact_name=contact_name.strip(),
        contact_phone=contact_phone,
        entered_by=actor,
        tracking_code=_unused_tracking_code(),
        reply_due_on=reply_due_on(category, timezone.localdate()),
    )
    issue.search_bigrams = search.document(issue.title, issue.description, issue.place)
    issue.full_clean()
    issue.save()
    rollup.issue_changed(issue)
    events.record(issue, actor, Event.Kind.CREATED, to_value=issue.status, public=True)
    # The report is kept even when the file store cannot take its photos just now: the
    # person is asked to add them again (``photos_not_stored``) rather than lose the text.
    issue.photos_not_stored = 0
    try:
        with transaction.atomic():
            store_photos(issue, actor, cleaned, Photo.Kind.REPORT)
    except PhotoNotStored:
        issue.photos_not_stored = len(cleaned)
    events.notify(
        responsible_users(issue),
        "issue_reported",
        issue,
        key=f"issue_reported:{issue.pk}",
        actor=actor,
    )
    return issue


@transaction.atomic
def issue_intake(
    *,
    actor: User,
    community: Community,
    new_resident: dict | None = None,
    **fields,
) -> Issue:
    """Staff enter a matter from any channel, registering its reporter if they are new."""
    if new_resident:
        fields["reporter"] = members_actions.resident_create(
            actor=actor, community=community, **new_resident
        )
    return issue_report(actor=actor, community=community, **fields)


@transaction.atomic
def issue_edit(
    *,
    issue: Issue,
    actor: User,
    expected_version: int | None,
    **fields,
) -> Issue:
    """Correct an issue's details (title, description, category, place, urgency)."""
    allowed = {"title", "description", "category", "place", "is_urgent"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    issue = events.lock(issue, expected_version)
    category = fields.get("category", issue.category)
    if category.street_id != issue.community.street_id:
        raise IssueActionError(_("Choose a category of this street."))
    changed = [name for name, value in fields.items() if getattr(issue, name) != value]
    if not changed:
        return issue
    for name in changed:
        setattr(issue, name, fields[name])
    if "category" in changed and issue.first_reply_at is None:
        # Still waiting for its first reply: the new category's deadline counts from the report.
        issue.reply_due_on = reply_due_on(category, timezone.localtime(issue.created).date())
        changed.append("reply_due_on")
    issue.search_bigrams = search.document(issue.title, issue.description, issue.place)
    issue.full_clean()
    events.save(issue, [*changed, "search_bigrams"])
    events.record(
        issue,
        actor,
        Event.Kind.EDITED,
        note=", ".join(name for name in changed if name != "reply_due_on"),
        public=False,
    )
    return issue


@transaction.atomic
def issue_comment(*, issue: Issue, actor: User, text: str) -> Event:
    """An internal note: for the people handling the matter, never for the resident."""
    text = text.strip()
    if not text:
        raise IssueActionError(_("Write a comment first."))
    return events.record(issue, actor, Event.Kind.COMMENT, note=text, public=False)


@transaction.atomic
def issue_add_photos(
    *, issue: Issue, actor: User, uploads: Sequence[UploadedFile], kind: str = Photo.Kind.REPORT
) -> list[Photo]:
    issue = events.lock(issue, None)
    if issue.photos.count() + len(uploads) > photos.MAX_PHOTOS * 2:
        raise IssueActionError(_("This issue already has as many photos as it can hold."))
    if len(uploads) > photos.MAX_PHOTOS:
        raise IssueActionError(_("At most %(n)s photos at a time.") % {"n": photos.MAX_PHOTOS})
    cleaned = [photos.process(upload) for upload in uploads]
    return store_photos(issue, actor, cleaned, kind)


def _unused_tracking_code() -> str:
    while True:
        code = new_tracking_code()
        if not Issue.objects.filter(tracking_code=code).exists():
            return code
