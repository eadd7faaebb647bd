"""What the issue actions share: storing a photo on an issue and booking a matter's
follow-up review.
"""

from __future__ import annotations

import datetime as dt

from issues import events
from issues.models import Event, FollowUpReview, Issue, Photo
from members.models import Council, User


def store_photo(issue: Issue, actor: User | None, content, kind: str) -> Photo:
    """Keep a photo ``photos.process`` cleaned with the issue, and note it on the timeline."""
    photo = Photo(issue=issue, uploaded_by=actor, kind=kind, size=content.size)
    photo.image.save(content.name, content, save=False)
    photo.save()
    events.record(
        issue, actor, Event.Kind.PHOTO, to_value=kind, public=False, data={"photo": photo.pk}
    )
    return photo


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
