"""Reads of calendars: the feeds a user holds and the meetings a feed or a month shows."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from deliberation import permissions, queries
from deliberation.models import CalendarFeed, JointCouncil, Meeting
from members.models import Council, CouncilMember, User

# A feed lists the council's upcoming meetings and those of this many days past.
FEED_PAST_DAYS = 90


def feed_holders_of(user: User) -> tuple[list[Council], list[CouncilMember]]:
    """Councils whose feed the user may hold (staff) and the user's current terms."""
    councils = list(permissions.councils_run_by(user).order_by("pk"))
    terms = list(permissions.terms_held_by(user).select_related("council").order_by("pk"))
    return councils, terms


def calendar_feeds_of(user: User) -> tuple[list[CalendarFeed], int]:
    """The user's live feeds (councils first, then own terms) and how many are not made yet.

    Reads only: a feed is made when its holder asks for the address
    (``actions.calendars.calendar_feeds_make``). One query for the holders of each kind
    the user has and one for their feeds, however many.
    """
    councils, terms = feed_holders_of(user)
    live = CalendarFeed.objects.filter(revoked_at__isnull=True).filter(
        Q(council_id__in=[council.pk for council in councils])
        | Q(member_id__in=[term.pk for term in terms])
    )
    by_council, by_member = {}, {}
    for feed in live:
        if feed.council_id is not None:
            by_council[feed.council_id] = feed
        else:
            by_member[feed.member_id] = feed
    feeds = []
    for council in councils:
        if council.pk in by_council:
            feed = by_council[council.pk]
            feed.council = council
            feeds.append(feed)
    for term in terms:
        if term.pk in by_member:
            feed = by_member[term.pk]
            feed.member = term
            feeds.append(feed)
    return feeds, len(councils) + len(terms) - len(feeds)


def live_feed(token: str) -> CalendarFeed:
    """The feed behind a token; 404 if unknown, revoked, or the member has left."""
    return get_object_or_404(
        CalendarFeed.objects.select_related("council", "member__council").filter(
            Q(member__isnull=True) | Q(member__left_on__isnull=True)
        ),
        token=token,
        revoked_at__isnull=True,
    )


def feed_council(feed: CalendarFeed) -> Council:
    return feed.council if feed.council_id else feed.member.council


def feed_meetings(council: Council, *, now: dt.datetime) -> list[Meeting]:
    """The council's upcoming meetings and those of the last 90 days, cancelled ones too,
    with the joint meetings (联席会议) other councils hold with it."""
    joined = JointCouncil.objects.filter(council=council).values("meeting_id")
    return list(
        Meeting.objects.filter(
            Q(council=council) | Q(pk__in=joined),
            starts_at__gte=now - dt.timedelta(days=FEED_PAST_DAYS),
        ).order_by("starts_at", "id")
    )


def month_meetings(user: User, first: dt.date) -> list[Meeting]:
    """The meetings the user may see in the month starting ``first``, with their item counts."""
    zone = timezone.get_default_timezone()
    after = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(after, dt.time.min, tzinfo=zone)
    return list(
        queries.meetings_visible_to(user)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("council")
        .annotate(item_count=queries.live_item_count())
        .order_by("starts_at", "id")
    )
