"""Calendar subscriptions (iCal feeds behind a secret token) and a month view of meetings.

A feed address carries no login: whoever holds the token sees the council's
meeting dates, places and types, nothing about people. Resetting the link
revokes the old token, so a leaked address stops working.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import re

import icalendar
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from deliberation import permissions
from deliberation.models import CalendarFeed, Council, Meeting
from deliberation.queries import live_item_count, meetings_visible_to
from members.models import CouncilMember, User

FEED_PAST_DAYS = 90
MEETING_LENGTH = dt.timedelta(hours=2)
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# --- Actions -----------------------------------------------------------------------------


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


# --- Reads -------------------------------------------------------------------------------


def feed_holders_of(user: User) -> tuple[list[Council], list[CouncilMember]]:
    """Councils whose feed the user may hold (staff) and the user's current terms."""
    councils = list(permissions.councils_run_by(user).order_by("pk"))
    terms = list(permissions.terms_held_by(user).select_related("council").order_by("pk"))
    return councils, terms


def feeds_of(user: User) -> list[CalendarFeed]:
    """The user's live feeds, each made on first visit."""
    councils, terms = feed_holders_of(user)
    feeds = [calendar_feed_for(user=user, council=council) for council in councils]
    feeds += [calendar_feed_for(user=user, member=term) for term in terms]
    return feeds


def live_feed(token: str) -> CalendarFeed:
    """The feed behind a token; 404 if unknown, revoked, or the member has left."""
    feed = get_object_or_404(
        CalendarFeed.objects.select_related("council", "member__council").filter(
            Q(member__isnull=True) | Q(member__left_on__isnull=True)
        ),
        token=token,
        revoked_at__isnull=True,
    )
    return feed


def feed_council(feed: CalendarFeed) -> Council:
    return feed.council if feed.council_id else feed.member.council


def feed_meetings(council: Council, *, now: dt.datetime) -> list[Meeting]:
    """The council's upcoming meetings and those of the last 90 days, cancelled ones too."""
    return list(
        Meeting.objects.filter(
            council=council, starts_at__gte=now - dt.timedelta(days=FEED_PAST_DAYS)
        ).order_by("starts_at", "id")
    )


def ical_of(council: Council, meetings: list[Meeting], *, now: dt.datetime) -> bytes:
    """An iCalendar document of the meetings, in the default language and time zone."""
    zone = timezone.get_default_timezone()
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Yishi//Resident councils//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", council.name)
    cal.add("x-wr-timezone", str(zone))
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", dt.timedelta(hours=1))
    with translation.override(settings.LANGUAGE_CODE):
        for meeting in meetings:
            starts = timezone.localtime(meeting.starts_at, zone)
            event = icalendar.Event()
            event.add("uid", f"meeting-{meeting.pk}@yishi")
            event.add("dtstamp", now.astimezone(dt.UTC))
            event.add("last-modified", meeting.updated.astimezone(dt.UTC))
            event.add("dtstart", starts)
            event.add("dtend", starts + MEETING_LENGTH)
            event.add("summary", f"{council.name} {meeting.get_kind_display()}")
            if meeting.place:
                event.add("location", meeting.place)
            cancelled = meeting.state == Meeting.State.CANCELLED
            event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
            cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def month_from(value: str, *, today: dt.date) -> dt.date:
    """The first of the month named ``YYYY-MM``; the current month for anything else."""
    match = MONTH_RE.match(value or "")
    if match:
        year, month = int(match[1]), int(match[2])
        if 1900 <= year <= 9998 and 1 <= month <= 12:
            return dt.date(year, month, 1)
    return today.replace(day=1)


def month_meetings(user: User, first: dt.date) -> list[Meeting]:
    zone = timezone.get_default_timezone()
    after = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(after, dt.time.min, tzinfo=zone)
    return list(
        meetings_visible_to(user)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("council")
        .annotate(item_count=live_item_count())
        .order_by("starts_at", "id")
    )


def month_weeks(first: dt.date, meetings: list[Meeting]) -> list[list[tuple]]:
    """Weeks (Monday first) of (day, in this month, meetings that day)."""
    by_day: dict[dt.date, list[Meeting]] = {}
    for meeting in meetings:
        by_day.setdefault(timezone.localdate(meeting.starts_at), []).append(meeting)
    grid = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return [[(day, day.month == first.month, by_day.get(day, [])) for day in week] for week in grid]


# --- Views -------------------------------------------------------------------------------


@require_GET
@never_cache
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = live_feed(token)
    council = feed_council(feed)
    now = timezone.now()
    body = ical_of(council, feed_meetings(council, now=now), now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="yishi.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_GET
def calendar_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    first = month_from(request.GET.get("month", ""), today=today)
    meetings = month_meetings(request.user, first)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    rows = []
    for feed in feeds_of(request.user):
        council = feed_council(feed)
        url = request.build_absolute_uri(reverse("calendars:feed", args=[feed.token]))
        rows.append(
            {
                "feed": feed,
                "council": council,
                "personal": feed.member_id is not None,
                "url": url,
                "webcal_url": re.sub(r"^https?://", "webcal://", url),
            }
        )
    context = {
        "feeds": rows,
        "month": first,
        "previous": previous,
        "following": following,
        "today": today,
        "weeks": month_weeks(first, meetings),
        "meetings": meetings,
        "weekdays": [WEEKDAYS_ABBR[day] for day in range(7)],
    }
    return render(request, "meetings/calendar.html", context)


@login_required
@require_POST
def calendar_reset(request: HttpRequest) -> HttpResponse:
    feed_id = request.POST.get("feed", "").strip()
    if not feed_id.isdigit():
        raise Http404
    feed = next((f for f in feeds_of(request.user) if f.pk == int(feed_id)), None)
    if feed is None:
        raise Http404
    calendar_feed_reset(user=request.user, feed=feed)
    messages.success(
        request,
        _("A new calendar link was made; the old one no longer works. Subscribe again."),
    )
    return redirect("calendars:page")
