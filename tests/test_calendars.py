"""Calendar subscriptions (iCal feeds behind a secret token) and the month view."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from deliberation.actions.calendars import calendar_feed_for
from deliberation.models import CalendarFeed, Meeting

TZ = timezone.get_default_timezone()


def make_meeting(community, starts_at, **fields) -> Meeting:
    return Meeting.objects.create(
        council=community.council,
        starts_at=starts_at,
        notice_due_at=starts_at - dt.timedelta(days=3),
        place=fields.pop("place", "社区居民议事点"),
        **fields,
    )


def soon(days: int, hour: int = 15) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=TZ)


def events_of(response) -> dict[str, object]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in cal.walk("VEVENT")}


def feed_url(feed: CalendarFeed) -> str:
    return reverse("calendars:feed", args=[feed.token])


# --- The feed ----------------------------------------------------------------------------


def test_council_feed_lists_recent_and_upcoming_meetings(client, manan, manan_staff):
    upcoming = make_meeting(manan, soon(5))
    recent = make_meeting(manan, soon(-30), state=Meeting.State.HELD)
    urgent = make_meeting(manan, soon(9, 19), kind=Meeting.Kind.URGENT, place="")
    cancelled = make_meeting(manan, soon(12), state=Meeting.State.CANCELLED)
    too_old = make_meeting(manan, soon(-120))
    feed = calendar_feed_for(user=manan_staff, council=manan.council)

    events = events_of(client.get(feed_url(feed)))

    assert set(events) == {f"meeting-{m.pk}@yishi" for m in (upcoming, recent, urgent, cancelled)}
    assert f"meeting-{too_old.pk}@yishi" not in events
    event = events[f"meeting-{upcoming.pk}@yishi"]
    starts = event.decoded("DTSTART")
    assert starts == upcoming.starts_at
    assert str(starts.tzinfo) == "Asia/Shanghai"
    assert starts.hour == 15
    assert event.decoded("DTEND") - starts == dt.timedelta(hours=2)
    assert str(event["SUMMARY"]) == "马南社区居民议事会 例会"
    assert str(event["LOCATION"]) == "社区居民议事点"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(events[f"meeting-{urgent.pk}@yishi"]["SUMMARY"]) == "马南社区居民议事会 紧急会议"
    assert "LOCATION" not in events[f"meeting-{urgent.pk}@yishi"]
    assert str(events[f"meeting-{cancelled.pk}@yishi"]["STATUS"]) == "CANCELLED"


def test_uids_are_stable_across_fetches(client, manan, manan_staff):
    make_meeting(manan, soon(5))
    feed = calendar_feed_for(user=manan_staff, council=manan.council)
    first = set(events_of(client.get(feed_url(feed))))
    second = set(events_of(client.get(feed_url(feed))))
    assert first == second and len(first) == 1


def test_member_feed_shows_their_council_and_nothing_personal(
    client, manan, manan_member, manan_leader_term, xingfu, beishan
):
    mine = make_meeting(manan, soon(3))
    make_meeting(xingfu, soon(3))
    make_meeting(beishan, soon(4))
    feed = calendar_feed_for(user=manan_member, member=manan_leader_term)
    assert feed.member_id == manan_leader_term.pk and feed.council_id is None

    response = client.get(feed_url(feed))

    assert set(events_of(response)) == {f"meeting-{mine.pk}@yishi"}
    text = response.content.decode()
    for personal in ("王建国", "13812345678", "manan_member", "3栋"):
        assert personal not in text


def test_other_communities_meetings_never_in_a_feed(client, manan, xingfu, manan_staff):
    make_meeting(xingfu, soon(2))
    make_meeting(xingfu, soon(-10))
    feed = calendar_feed_for(user=manan_staff, council=manan.council)
    assert events_of(client.get(feed_url(feed))) == {}


@pytest.mark.outsider("calendars:feed")
def test_unknown_and_revoked_tokens_are_not_found(client, manan, manan_staff):
    make_meeting(manan, soon(2))
    feed = calendar_feed_for(user=manan_staff, council=manan.council)
    assert client.get(reverse("calendars:feed", args=["no-such-token"])).status_code == 404
    feed.revoked_at = timezone.now()
    feed.save()
    assert client.get(feed_url(feed)).status_code == 404


def test_a_members_feed_ends_when_their_term_does(client, manan_member, manan_leader_term):
    feed = calendar_feed_for(user=manan_member, member=manan_leader_term)
    manan_leader_term.left_on = timezone.localdate()
    manan_leader_term.save()
    assert client.get(feed_url(feed)).status_code == 404


def test_feeds_only_for_ones_own_council_or_term(manan, manan_leader_term, xingfu_staff):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        calendar_feed_for(user=xingfu_staff, council=manan.council)
    with pytest.raises(PermissionDenied):
        calendar_feed_for(user=xingfu_staff, member=manan_leader_term)


def test_feed_is_made_once_and_tokens_are_random(manan, xingfu, manan_staff, xingfu_staff):
    one = calendar_feed_for(user=manan_staff, council=manan.council)
    assert calendar_feed_for(user=manan_staff, council=manan.council) == one
    other = calendar_feed_for(user=xingfu_staff, council=xingfu.council)
    assert one.token != other.token and len(one.token) >= 32


# --- The page ----------------------------------------------------------------------------


def test_page_asks_for_the_address_and_then_shows_it(as_user, manan, manan_staff):
    staff = as_user(manan_staff)
    first = staff.get(reverse("calendars:page"))
    assert first.status_code == 200
    assert not CalendarFeed.objects.exists()  # looking makes nothing
    html = first.content.decode()
    make = reverse("calendars:make")
    assert f'hx-post="{make}" hx-trigger="load"' in html  # the page asks as it loads
    assert f'<form method="post" action="{make}">' in html  # or on a button, without JS

    assert staff.post(make).status_code == 302
    response = staff.get(reverse("calendars:page"))
    feed = CalendarFeed.objects.get(council=manan.council, revoked_at__isnull=True)
    html = response.content.decode()
    assert make not in html
    assert f"webcal://testserver/ical/{feed.token}.ics" in html
    assert f"http://testserver/ical/{feed.token}.ics" in html


def test_page_shows_https_address_behind_tls(as_user, manan_member, manan_leader_term):
    member = as_user(manan_member)
    member.post(reverse("calendars:make"), secure=True)
    response = member.get(reverse("calendars:page"), secure=True)
    feed = CalendarFeed.objects.get(member=manan_leader_term)
    html = response.content.decode()
    assert f"https://testserver/ical/{feed.token}.ics" in html
    assert f"webcal://testserver/ical/{feed.token}.ics" in html


def test_page_needs_login(client):
    response = client.get(reverse("calendars:page"))
    assert response.status_code == 302


def test_reset_revokes_the_old_token(as_user, client, manan, manan_staff):
    make_meeting(manan, soon(2))
    staff = as_user(manan_staff)
    staff.post(reverse("calendars:make"))
    old = CalendarFeed.objects.get(council=manan.council)

    response = staff.post(reverse("calendars:reset"), {"feed": old.pk})

    assert response.status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    new = CalendarFeed.objects.get(council=manan.council, revoked_at__isnull=True)
    assert new.token != old.token
    assert client.get(feed_url(old)).status_code == 404
    assert len(events_of(client.get(feed_url(new)))) == 1
    assert new.token in staff.get(reverse("calendars:page")).content.decode()


def test_nobody_resets_anothers_feed(as_user, manan, manan_staff, xingfu_staff):
    feed = calendar_feed_for(user=manan_staff, council=manan.council)
    response = as_user(xingfu_staff).post(reverse("calendars:reset"), {"feed": feed.pk})
    assert response.status_code == 404
    assert as_user(xingfu_staff).post(reverse("calendars:reset"), {"feed": "x"}).status_code == 404
    feed.refresh_from_db()
    assert feed.revoked_at is None


def test_reset_is_post_only(as_user, manan_staff):
    assert as_user(manan_staff).get(reverse("calendars:reset")).status_code == 405


# --- Making the addresses ------------------------------------------------------------------


def test_asking_makes_each_missing_feed_once(as_user, manan, manan_member, manan_leader_term):
    member = as_user(manan_member)
    assert member.post(reverse("calendars:make")).url == reverse("calendars:page")
    feed = CalendarFeed.objects.get(revoked_at__isnull=True)
    assert (feed.member_id, feed.council_id) == (manan_leader_term.pk, None)
    member.post(reverse("calendars:make"))
    assert list(CalendarFeed.objects.all()) == [feed]


def test_asking_with_htmx_answers_the_addresses_once(as_user, manan, manan_staff):
    response = as_user(manan_staff).post(reverse("calendars:make"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    feed = CalendarFeed.objects.get(council=manan.council)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="subscribe"')
    assert f"http://testserver/ical/{feed.token}.ics" in html
    assert "hx-post" not in html  # what is swapped in never asks again


def test_asking_needs_a_login_and_a_post(client, as_user, manan_staff):
    response = client.post(reverse("calendars:make"))
    assert response.status_code == 302 and "login" in response.url
    assert as_user(manan_staff).get(reverse("calendars:make")).status_code == 405
    assert not CalendarFeed.objects.exists()


def test_nobody_without_a_council_role_gets_an_address(as_user, manan, other_admin):
    other = as_user(other_admin)
    assert other.post(reverse("calendars:make")).status_code == 302
    assert not CalendarFeed.objects.exists()
    assert "subscribe-heading" not in other.get(reverse("calendars:page")).content.decode()


# --- Looking writes nothing ----------------------------------------------------------------

WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes_of(fetch) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = fetch()
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def _rows() -> tuple[int, int]:
    return CalendarFeed.objects.count(), Meeting.objects.count()


@pytest.mark.parametrize("fixture", ["manan_staff", "manan_member"])
@pytest.mark.parametrize("made", [False, True], ids=["no-feed-yet", "feed-made"])
def test_looking_at_the_calendar_pages_writes_nothing(
    request, as_user, manan, manan_leader_term, fixture, made
):
    user = request.getfixturevalue(fixture)
    client = as_user(user)
    make_meeting(manan, soon(3))
    if made:
        client.post(reverse("calendars:make"))
    before = _rows()

    assert _writes_of(lambda: client.get(reverse("calendars:page"))) == []
    assert _writes_of(lambda: client.get(reverse("calendars:page"), {"month": "2026-12"})) == []
    for feed in CalendarFeed.objects.all():
        assert _writes_of(lambda feed=feed: client.get(feed_url(feed))) == []
    assert _rows() == before


# --- The month view ----------------------------------------------------------------------


def month_of(when: dt.datetime) -> str:
    return f"{when:%Y-%m}"


def meeting_links(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/meetings/(\d+)/"', html)}


def test_month_view_links_the_months_meetings(as_user, manan, manan_staff):
    inside = make_meeting(manan, dt.datetime(2026, 12, 8, 15, 0, tzinfo=TZ))
    last_evening = make_meeting(manan, dt.datetime(2026, 12, 31, 23, 30, tzinfo=TZ))
    make_meeting(manan, dt.datetime(2027, 1, 1, 0, 30, tzinfo=TZ))
    make_meeting(manan, dt.datetime(2026, 11, 30, 23, 0, tzinfo=TZ))

    response = as_user(manan_staff).get(reverse("calendars:page"), {"month": "2026-12"})

    assert response.status_code == 200
    html = response.content.decode()
    assert meeting_links(html) == {inside.pk, last_evening.pk}
    assert reverse("meetings:detail", args=[inside.pk]) in html
    assert "?month=2026-11" in html and "?month=2027-01" in html


def test_month_view_is_scoped(as_user, manan, xingfu, beishan, xingfu_staff, other_admin):
    starts = dt.datetime(2026, 12, 8, 15, 0, tzinfo=TZ)
    ours = make_meeting(xingfu, starts)
    make_meeting(manan, starts + dt.timedelta(hours=1))
    far = make_meeting(beishan, starts + dt.timedelta(hours=2))

    html = as_user(xingfu_staff).get(reverse("calendars:page"), {"month": "2026-12"})
    assert meeting_links(html.content.decode()) == {ours.pk}
    html = as_user(other_admin).get(reverse("calendars:page"), {"month": "2026-12"})
    assert meeting_links(html.content.decode()) == {far.pk}


@pytest.mark.parametrize("value", ["2026-13", "abc", "2026-00", "0000-01", "2026-1", ""])
def test_bad_month_falls_back_to_this_month(as_user, manan, manan_staff, value):
    now = timezone.localtime()
    this_month = make_meeting(manan, soon(0, 12))
    response = as_user(manan_staff).get(reverse("calendars:page"), {"month": value})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<h2 id="month-heading">{now:%Y-%m}</h2>' in html
    assert this_month.pk in meeting_links(html)


# Session, user, scope, unread notices, councils or terms, their feed, the meetings.
PAGE_QUERIES = {"manan_staff": 6, "manan_member": 6}


def _queries_for(client, month: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("calendars:page"), {"month": month})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("fixture", ["manan_staff", "manan_member"])
def test_month_view_query_count_does_not_grow(request, as_user, manan, xingfu, fixture):
    user = request.getfixturevalue(fixture)
    client = as_user(user)
    base = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    make_meeting(manan, base)
    client.post(reverse("calendars:make"))  # the feed is made when asked for
    one = _queries_for(client, "2026-12")
    for n in range(1, 20):
        make_meeting(manan, base + dt.timedelta(days=n % 28, hours=n // 28))
        make_meeting(xingfu, base + dt.timedelta(days=n % 28, hours=n // 28))
    twenty = _queries_for(client, "2026-12")
    assert one == twenty
    assert twenty == PAGE_QUERIES[fixture]
