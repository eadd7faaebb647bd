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
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from deliberation import calendar_queries
from deliberation.actions import calendars
from deliberation.models import Meeting
from members.models import Council

MEETING_LENGTH = dt.timedelta(hours=2)
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# --- Rendering ---------------------------------------------------------------------------


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
    feed = calendar_queries.live_feed(token)
    council = calendar_queries.feed_council(feed)
    now = timezone.now()
    body = ical_of(council, calendar_queries.feed_meetings(council, now=now), now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="yishi.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_GET
def calendar_page(request: HttpRequest) -> HttpResponse:
    """The month's meetings and the user's subscription addresses; looking writes nothing.

    An address not made yet is asked for by a POST (``calendar_make``), which the page
    sends by itself as it loads (htmx) or on a button without JavaScript.
    """
    today = timezone.localdate()
    first = month_from(request.GET.get("month", ""), today=today)
    meetings = calendar_queries.month_meetings(request.user, first)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    context = {
        **_subscribe_context(request, auto_make=True),
        "month": first,
        "previous": previous,
        "following": following,
        "today": today,
        "weeks": month_weeks(first, meetings),
        "meetings": meetings,
        "weekdays": [WEEKDAYS_ABBR[day] for day in range(7)],
    }
    return render(request, "meetings/calendar.html", context)


def _subscribe_context(request: HttpRequest, *, auto_make: bool) -> dict:
    feeds, unmade = calendar_queries.calendar_feeds_of(request.user)
    rows = []
    for feed in feeds:
        url = request.build_absolute_uri(reverse("calendars:feed", args=[feed.token]))
        rows.append(
            {
                "feed": feed,
                "council": calendar_queries.feed_council(feed),
                "personal": feed.member_id is not None,
                "url": url,
                "webcal_url": re.sub(r"^https?://", "webcal://", url),
            }
        )
    return {"feeds": rows, "unmade": unmade, "auto_make": auto_make}


@login_required
@require_POST
def calendar_make(request: HttpRequest) -> HttpResponse:
    """Make the user's subscription addresses that do not exist yet; show them."""
    calendars.calendar_feeds_make(user=request.user)
    if request.htmx:
        # The section swapped in never posts again by itself, whatever is left unmade.
        context = _subscribe_context(request, auto_make=False)
        return render(request, "meetings/calendar.html#subscribe", context)
    return redirect("calendars:page")


@login_required
@require_POST
def calendar_reset(request: HttpRequest) -> HttpResponse:
    feed_id = request.POST.get("feed", "").strip()
    if not feed_id.isdigit():
        raise Http404
    feeds, _unmade = calendar_queries.calendar_feeds_of(request.user)
    feed = next((f for f in feeds if f.pk == int(feed_id)), None)
    if feed is None:
        raise Http404
    calendars.calendar_feed_reset(user=request.user, feed=feed)
    messages.success(
        request,
        _("A new calendar link was made; the old one no longer works. Subscribe again."),
    )
    return redirect("calendars:page")
