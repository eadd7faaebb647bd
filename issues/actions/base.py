"""What the issue actions share: storing a photo on an issue and booking a matter's
follow-up review.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from common import files
from issues import events
from issues.events import IssueActionError
from issues.models import Event, FollowUpReview, Issue, Photo
from members.models import Council, User


class PhotoNotStored(IssueActionError):
    """The file store could not keep a photo just now (unreachable, or refusing writes)."""


def store_photo(issue: Issue, actor: User | None, content, kind: str) -> Photo:
    """Keep a photo ``photos.process`` cleaned with the issue, and note it on the timeline.

    The file is written first and the row after it, so no row points at a file the store
    never took; a store that fails raises ``PhotoNotStored`` (the caller's transaction rolls
    back the rest).
    """
    photo = Photo(issue=issue, uploaded_by=actor, kind=kind, size=content.size)
    try:
        files.save(photo.image, content.name, content)
    except files.StoreUnavailable:
        raise PhotoNotStored(
            _("The photo could not be stored just now. Please try the photo again in a moment.")
        ) from None
    photo.save()
    events.record(
        issue, actor, Event.Kind.PHOTO, to_value=kind, public=False, data={"photo": photo.pk}
    )
    return photo


def store_photos(issue: Issue, actor: User | None, cleaned: list, kind: str) -> list[Photo]:
    """All the photos or none: when one is refused, the files already written are deleted
    and ``PhotoNotStored`` raised; the caller rolls back their rows."""
    stored: list[Photo] = []
    try:
        for content in cleaned:
            stored.append(store_photo(issue, actor, content, kind))
    except PhotoNotStored:
        if stored:
            files.discard([photo.image.name for photo in stored], stored[0].image.storage)
        raise
    return stored


def review_schedule(issue: Issue, at: dt.datetime) -> FollowUpReview:
    """The follow-up review of a matter resolved at ``at``; the caller holds the issue's lock."""
    days = issue.category.review_after_days
    if days is None:
        # A community without a council row still gets reviewed, after the council default.
        days = (
            Council.objects.filter(community_id=issue.community_id)
            .values_list("review_after_days", flat=True)
            .first()
        )
    if days is None:
        days = Council._meta.get_field("review_after_days").default
    return FollowUpReview.objects.create(
        issue=issue, resolved_at=at, due_at=at + dt.timedelta(days=days)
    )
