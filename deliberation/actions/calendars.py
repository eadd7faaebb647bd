"""Calendar feeds: the secret addresses a council's meetings are subscribed to by.

A feed is made when its holder asks for its address (a POST from the calendar
page), never by looking at the page; resetting revokes the token and makes a new
feed, so a leaked address stops working.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from deliberation import calendar_queries, permissions
from deliberation.models import CalendarFeed
from members.models import Council, CouncilMember, User


def calendar_feed_for(
    *, user: User, council: Council | None = None, member: CouncilMember | None = None
) -> CalendarFeed:
    """The live feed of a council (its community's staff) or of a member's own term.

    Made on first use; safe when two requests race, by the one-live-feed constraints.
    """
    if (council is None) == (member is None):
        raise ValueError("calendar_feed_for needs exactly one of council or member")
    if council is not None:
        if not permissions.can_hold_council_feed(user, council):
            raise PermissionDenied
        lookup = {"council": council}
    else:
        if not permissions.can_hold_member_feed(user, member):
            raise PermissionDenied
        lookup = {"member": member}
    live = CalendarFeed.objects.filter(revoked_at__isnull=True, **lookup)
    feed = live.first()
    if feed is None:
        try:
            with transaction.atomic():
                feed = CalendarFeed.objects.create(**lookup)
        except IntegrityError:
            feed = live.get()
    for name, value in lookup.items():
        setattr(feed, name, value)  # the caller's object, with what it already holds
    return feed


def calendar_feeds_make(*, user: User) -> list[CalendarFeed]:
    """Every live feed the user may hold, each made if it was not yet: councils, then terms."""
    councils, terms = calendar_queries.feed_holders_of(user)
    feeds = [calendar_feed_for(user=user, council=council) for council in councils]
    feeds += [calendar_feed_for(user=user, member=term) for term in terms]
    return feeds


@transaction.atomic
def calendar_feed_reset(*, user: User, feed: CalendarFeed) -> CalendarFeed:
    """Revoke the feed's token and give its holder a new live feed."""
    if feed.revoked_at is not None:
        raise PermissionDenied
    revoked = CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not revoked:  # reset twice at once: the other request made the new one
        raise PermissionDenied
    return calendar_feed_for(user=user, council=feed.council, member=feed.member)
