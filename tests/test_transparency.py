"""The public transparency page of a community and the switch on the poster page.

The page is public: anyone with the poster's link reads it. So it must show the month's
work and nothing personal, answer 404 when the community has not published it (as for a
forged token), and cost the same few queries however busy the month was.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deliberation.actions import agenda, closing, review_items, running
from issues import reviews
from issues.actions import handling
from members import actions as members_actions
from members.models import Community
from public import transparency_views
from public import views as public_views
from tests import factories
from tests.helpers.meetings import quorum_present

pytestmark = pytest.mark.usefixtures("clear_cache")  # a fresh throttle per test

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
# Names, phone numbers and notes the fixtures hold, none of which may reach the page.
PERSONAL = [
    "李秀英",
    "13900001111",
    "赵大妈",
    "13700002222",
    "王建国",
    "13812345678",
    "马南 工作人员",
    "manan_staff",
    "3栋",
    "负责联系",
    "楼下设晾衣区",
    "二单元",
]
# One community lookup, then meetings, decisions, issue counts, the two figures queries and
# the volunteers thanked.
PAGE_QUERIES = 7


def page_url(community: Community, **query: str) -> str:
    url = reverse("public:transparency", args=[public_views.public_form_token(community)])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def this_month() -> tuple[dt.datetime, dt.datetime]:
    return transparency_views._month_bounds(timezone.localdate().replace(day=1))


def awaiting(community: Community, actor, **fields):
    issue = factories.issue(community, actor=actor, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


def held_meeting(community: Community, actor, starts_at: dt.datetime, issues, topic: str = ""):
    """A meeting that decided each of ``issues`` (and a topic) and was then closed."""
    meeting = factories.meeting(community, starts_at)
    quorum_present(meeting, actor)
    for issue, (outcome, notes, explanation) in issues:
        # Matters join an agenda before the meeting begins.
        with time_machine.travel(starts_at - dt.timedelta(hours=1)):
            item, _taken = agenda.agenda_issue_add(meeting=meeting, actor=actor, issue=issue)
        running.decision_record(
            item=item, actor=actor, outcome=outcome, notes=notes, explanation=explanation
        )
    if topic:
        item = agenda.agenda_topic_add(meeting=meeting, actor=actor, topic=topic)
        running.decision_record(
            item=item, actor=actor, outcome="solve_by_council", notes="王建国牵头"
        )
    return closing.meeting_close(meeting=meeting, actor=actor, now=timezone.now())


@pytest.fixture
def published(manan, manan_staff) -> Community:
    return members_actions.community_transparency_set(
        actor=manan_staff, community=manan, public=True
    )


@pytest.fixture
def month_of_work(manan, xingfu, manan_staff, xingfu_staff, manan_member):
    """This month's work of 马南社区, with names and phone numbers everywhere they can be."""
    now = timezone.now()
    start, end = this_month()
    reporter = factories.resident(manan, "李秀英", phone="13900001111", building="二单元")
    laundry = awaiting(
        manan,
        manan_staff,
        title="晾衣场地不足",
        reporter=reporter,
        contact_name="李秀英",
        contact_phone="13900001111",
        place="二单元门口",
    )
    fountain = awaiting(
        manan,
        manan_staff,
        title="小公园饮水机坏了",
        contact_name="赵大妈",
        contact_phone="13700002222",
    )
    streetlight = awaiting(manan, manan_staff, title="三巷路灯不亮")
    held = held_meeting(
        manan,
        manan_staff,
        max(now - dt.timedelta(hours=1), start),
        [
            (laundry, ("solve_by_council", "王建国负责联系李秀英", "李秀英家楼下设晾衣区")),
            (fountain, ("refer_to_community", "赵大妈电话13700002222", "")),
        ],
        topic="楼道堆物整治",
    )
    upcoming = factories.meeting(manan, now + (end - now) / 2, place="三巷活动室")
    agenda.agenda_issue_add(meeting=upcoming, actor=manan_staff, issue=streetlight)
    called_off = factories.meeting(manan, now + (end - now) / 3, place="取消的会场")
    closing.meeting_cancel(meeting=called_off, actor=manan_staff, reason="台风")
    factories.meeting(manan, start - dt.timedelta(days=3), place="上月会场")
    for title in ("路口垃圾清运", "消防通道停车"):
        factories.resolved_issue(
            manan,
            actor=manan_staff,
            title=title,
            contact_name="赵大妈",
            contact_phone="13700002222",
        )
    factories.issue(xingfu, actor=xingfu_staff, title="幸福村的问题")
    return {"held": held, "upcoming": upcoming}


# --- The page --------------------------------------------------------------------------------


@pytest.mark.outsider("public:transparency")
def test_a_community_that_has_not_published_answers_404(manan, month_of_work):
    response = Client().get(page_url(manan))
    assert response.status_code == 404


@pytest.mark.outsider("public:transparency")
def test_a_forged_or_mangled_token_answers_404(published):
    good = public_views.public_form_token(published)
    for token in (f"{published.pk}-0000000000", f"{published.pk + 1}-{good.split('-')[1]}", "x"):
        url = reverse("public:transparency", args=[token])
        assert Client().get(url).status_code == 404


def test_withdrawn_page_answers_404_again(published, manan_staff):
    assert Client().get(page_url(published)).status_code == 200
    members_actions.community_transparency_set(actor=manan_staff, community=published, public=False)
    assert Client().get(page_url(published)).status_code == 404


def test_the_page_shows_this_months_meetings_decisions_and_counts(published, month_of_work):
    response = Client().get(page_url(published), **EN)
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    meetings = response.context["meetings"]
    assert [(m.place, m.state) for m in meetings] == [
        ("社区居民议事点", "held"),
        ("三巷活动室", "scheduled"),
    ]
    assert [(i.subject, i.decision) for i in meetings[0].items] == [
        ("晾衣场地不足", "the council solves it"),
        ("小公园饮水机坏了", "refer to the community"),
        ("楼道堆物整治", "the council solves it"),
    ]
    assert meetings[1].items == []  # nothing decided yet at a meeting to come
    assert response.context["counts"] == {"collected": 5, "resolved": 2, "still_open": 3}
    page = response.content.decode()
    assert "三巷路灯不亮" not in page  # on the agenda of a meeting not yet held
    assert "取消的会场" not in page and "上月会场" not in page and "幸福村的问题" not in page
    assert re.search(r'class="collected">5<', page)
    assert re.search(r'class="resolved">2<', page)
    assert re.search(r'class="still-open">3<', page)
    # Two resolutions, neither reviewed yet; nobody has rated.
    assert re.search(r'class="reviewed-share">0%<', page)
    assert re.search(r'class="satisfied-share">—<', page)


def test_the_page_holds_no_personal_data(published, month_of_work):
    for headers in (EN, ZH):
        page = Client().get(page_url(published), **headers).content.decode()
        for text in PERSONAL:
            assert text not in page, text
        assert "二单元门口" not in page  # the issue's place is finer than its title


def test_satisfied_share_counts_the_ratings(published, manan_staff, nanen):
    category = factories.category(nanen, "other")
    category.review_after_days = 1
    category.save(update_fields=["review_after_days"])
    issue = factories.resolved_issue(published, actor=manan_staff, title="楼道灯")
    review = issue.reviews.get()
    review_items.reviews_sweep(now=review.due_at)
    review.refresh_from_db()
    reviews.review_rate(
        review=review,
        actor=None,
        fixed="yes",
        satisfaction=5,
        now=review.resolved_at + dt.timedelta(days=1, hours=12),
    )
    reviews.review_council_record(
        issue=review.issue,
        actor=manan_staff,
        outcome="effective",
        now=review.resolved_at + dt.timedelta(days=2),
    )
    page = Client().get(page_url(published), **EN).content.decode()
    assert re.search(r'class="reviewed-share">100%<', page)
    assert re.search(r'class="satisfied-share">100%<', page)


def test_a_rating_staff_recorded_is_shown_apart(published, manan_staff, nanen):
    category = factories.category(nanen, "other")
    category.review_after_days = 1
    category.save(update_fields=["review_after_days"])
    issue = factories.resolved_issue(published, actor=manan_staff, title="楼道灯")
    review = issue.reviews.get()
    review_items.reviews_sweep(now=review.due_at)
    review.refresh_from_db()
    reviews.review_rate(
        review=review,
        actor=manan_staff,
        fixed="yes",
        satisfaction=5,
        source="in_person",
        now=review.resolved_at + dt.timedelta(days=1, hours=12),
    )

    page = Client().get(page_url(published), **EN).content.decode()

    assert re.search(r'class="satisfied-share">100%<', page)
    assert "1 of 1 ratings" in page
    assert re.search(r'class="rated-by-staff">1 recorded by staff<', page)


def test_an_earlier_month_is_chosen_in_the_query_string(published, month_of_work):
    start, _end = this_month()
    last = (start - dt.timedelta(days=1)).strftime("%Y-%m")
    response = Client().get(page_url(published, month=last), **EN)
    assert response.status_code == 200
    assert [m.place for m in response.context["meetings"]] == ["上月会场"]
    assert response.context["counts"]["collected"] == 0
    assert response.context["next"] is not None


@pytest.mark.parametrize("month", ["2026-13", "nonsense", "1999-01", "2026-1", "9999-01", ""])
def test_a_bad_month_answers_422_with_a_message(published, month):
    response = Client().get(page_url(published, month=month), **EN)
    assert response.status_code == 422
    assert "Choose a month of the last two years" in response.content.decode()
    assert "meetings" not in response.context


def test_only_the_last_24_months(published):
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1
    oldest = transparency_views._month_of(index - 23).strftime("%Y-%m")
    too_old = transparency_views._month_of(index - 24).strftime("%Y-%m")
    response = Client().get(page_url(published, month=oldest))
    assert response.status_code == 200
    assert response.context["previous"] is None
    assert Client().get(page_url(published, month=too_old)).status_code == 422


def test_the_page_in_chinese_and_english(published, month_of_work):
    chinese = Client().get(page_url(published), **ZH).content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "由议事会解决" in chinese and "已召开" in chinese and "例会" in chinese
    english = Client().get(page_url(published), **EN).content.decode()
    assert '<html lang="en">' in english
    assert "The council's work" in english and "the council solves it" in english.lower()


def test_the_page_is_throttled_like_the_tracking_pages(published, monkeypatch):
    monkeypatch.setattr(public_views, "LOOKUPS_PER_HOUR", 2)
    client = Client()
    assert [client.get(page_url(published)).status_code for _ in range(3)] == [200, 200, 429]


def busy_month(community: Community, actor, n: int) -> None:
    """``n`` held meetings deciding one issue each, and ``n`` more issues resolved."""
    now = timezone.now()
    start, _end = this_month()
    for i in range(n):
        issue = awaiting(community, actor, title=f"问题甲{i}")
        starts_at = start + (now - start) * (i + 1) / (n + 2)
        held_meeting(community, actor, starts_at, [(issue, ("solve_by_council", "", ""))])
        factories.resolved_issue(community, actor=actor, title=f"问题乙{i}")


@pytest.mark.parametrize("n", [3, 30])
def test_the_page_runs_a_constant_number_of_queries(published, manan_staff, n):
    busy_month(published, manan_staff, n)
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_url(published))
    assert response.status_code == 200
    assert len(response.context["meetings"]) == n
    assert sum(len(m.items) for m in response.context["meetings"]) == n
    assert len(queries) == PAGE_QUERIES, [q["sql"] for q in queries]


# --- The switch on the poster page --------------------------------------------------------------


def switch_url(community: Community) -> str:
    return reverse("public:transparency_switch", args=[community.pk])


def is_public(community: Community) -> bool:
    return Community.objects.values_list("transparency_public", flat=True).get(pk=community.pk)


def test_staff_switch_the_page_on_and_off_with_the_csrf_token(manan, manan_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manan_staff)
    poster = client.get(reverse("public:poster", args=[manan.pk]), **EN)
    page = poster.content.decode()
    assert "Publish a transparency page on the poster" in page
    assert reverse("public:transparency_qr", args=[manan.pk]) not in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    assert client.post(switch_url(manan), {"public": "1"}).status_code == 403  # no token
    assert not is_public(manan)
    response = client.post(switch_url(manan), {"public": "1", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == reverse("public:poster", args=[manan.pk])
    assert is_public(manan)
    poster = client.get(reverse("public:poster", args=[manan.pk]), **EN).content.decode()
    assert reverse("public:transparency_qr", args=[manan.pk]) in poster
    assert page_url(manan) in poster
    assert "The transparency page is public." in poster
    client.post(switch_url(manan), {"public": "0", "csrfmiddlewaretoken": token})
    assert not is_public(manan)


def test_a_street_admin_may_switch_too(manan, nanen_admin, as_user):
    response = as_user(nanen_admin).post(switch_url(manan), {"public": "1"})
    assert response.status_code == 302
    assert is_public(manan)


@pytest.mark.outsider("public:transparency_switch", "public:transparency_qr")
def test_an_outsider_gets_404_and_nothing_changes(manan, xingfu_staff, other_admin, as_user):
    for outsider in (xingfu_staff, other_admin):
        client = as_user(outsider)
        assert client.post(switch_url(manan), {"public": "1"}).status_code == 404
        hx = client.post(switch_url(manan), {"public": "1"}, HTTP_HX_REQUEST="true")
        assert hx.status_code == 404
        qr = client.get(reverse("public:transparency_qr", args=[manan.pk]))
        assert qr.status_code == 404
    assert not is_public(manan)


def test_a_council_member_gets_403_and_nothing_changes(manan, manan_member, as_user):
    client = as_user(manan_member)
    assert client.post(switch_url(manan), {"public": "1"}).status_code == 403
    assert not is_public(manan)


def test_the_switch_takes_only_post(manan, manan_staff, as_user):
    assert as_user(manan_staff).get(switch_url(manan)).status_code == 405
    assert Client().post(switch_url(manan), {"public": "1"}).status_code == 302  # to log in
    assert not is_public(manan)


def test_the_action_refuses_anyone_who_may_not_print_the_poster(manan, manan_member):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        members_actions.community_transparency_set(actor=manan_member, community=manan, public=True)
    assert not is_public(manan)


def test_the_qr_code_leads_to_the_page(published, manan_staff, as_user):
    response = as_user(manan_staff).get(reverse("public:transparency_qr", args=[published.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<?xml")
