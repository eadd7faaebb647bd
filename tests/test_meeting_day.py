"""The meeting day from a phone: signing in before the start, the quorum, counted votes,
and a meeting page that stays light with a long agenda."""

from __future__ import annotations

import datetime as dt
import io
from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from deliberation import minutes_pdf
from deliberation.actions import closing, minutes, running
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Attendance, Decision, Meeting, Vote
from issues.actions import handling
from issues.models import Event, Issue
from members.models import Council
from public import views as public_views
from tests import factories
from tests.helpers.clock import local
from tests.helpers.meetings import sign_in

STARTS = local(2026, 11, 28, 15)  # a Saturday afternoon, ten days after the suite's today


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_language(client, code: str = "en"):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = code
    return client


def awaiting(community, actor, **fields) -> Issue:
    issue = factories.issue(community, actor=actor, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


@pytest.fixture
def meeting(manan) -> Meeting:
    return factories.meeting(manan, STARTS)


@pytest.fixture
def seven(manan, manan_leader_term) -> list:
    """The leader and six more: seven active members, four of them make a quorum."""
    return [manan_leader_term] + [factories.council_member(manan) for _ in range(6)]


@pytest.fixture
def item(meeting, manan, manan_staff) -> AgendaItem:
    return AgendaItem.objects.create(
        meeting=meeting, issue=awaiting(manan, manan_staff, title="楼道堆物"), position=0
    )


def written() -> tuple:
    return (
        Decision.objects.count(),
        Vote.objects.count(),
        Event.objects.count(),
        list(Issue.objects.values_list("pk", "status", "version")),
    )


# --- 7. Sign-in opens hours before the start ---------------------------------------------


def test_a_council_opens_sign_in_two_hours_before_by_default(manan):
    assert Council.objects.get(pk=manan.council.pk).sign_in_opens_hours == 2


def test_a_member_signs_in_from_the_phone_two_hours_early_not_before(
    meeting, manan_member, manan_leader_term, as_user, clock
):
    clock.move_to(STARTS - dt.timedelta(hours=2, minutes=1))
    client = in_language(as_user(manan_member))
    url = reverse("meetings:mine_sign_in", args=[meeting.pk])
    page = client.get(reverse("meetings:mine")).content.decode()
    assert url not in page
    assert "You can sign in here from 2026-11-28 13:00." in page
    refused = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Signing in opens at 2026-11-28 13:00, 2 hours before the meeting starts." in refused
    assert not Attendance.objects.exists()

    clock.move_to(STARTS - dt.timedelta(hours=2))
    page = client.get(reverse("meetings:mine")).content.decode()
    assert url in page and "Sign me in" in page
    signed = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "You signed in at 13:00." in signed
    attendance = Attendance.objects.get()
    assert (attendance.member, attendance.how) == (manan_leader_term, "self")


def test_a_meeting_just_after_midnight_opens_sign_in_the_evening_before(
    manan, manan_member, as_user, clock
):
    early = factories.meeting(manan, local(2026, 11, 20, 1, 0))
    clock.move_to(local(2026, 11, 19, 23, 30))
    client = in_language(as_user(manan_member))
    url = reverse("meetings:mine_sign_in", args=[early.pk])
    assert url in client.get(reverse("meetings:mine")).content.decode()
    assert client.post(url).status_code == 302
    assert Attendance.objects.filter(meeting=early).count() == 1


def test_the_refusal_is_in_chinese(meeting, manan_leader_term, manan_staff, clock):
    clock.move_to(STARTS - dt.timedelta(hours=5))
    with translation.override("zh-hans"), pytest.raises(ActionError) as refused:
        running.attendance_sign_in(
            meeting=meeting, member=manan_leader_term, actor=manan_staff, how="staff"
        )
    assert str(refused.value) == "签到将于 2026-11-28 13:00 开始（会议开始前 2 小时）。"


def test_the_meeting_page_offers_sign_in_from_the_opening(
    meeting, manan_member, manan_staff, seven, as_user, clock
):
    detail = reverse("meetings:detail", args=[meeting.pk])
    clock.move_to(STARTS - dt.timedelta(hours=3))
    member = in_language(as_user(manan_member))
    staff = in_language(as_user(manan_staff))
    assert "You can sign in here from 2026-11-28 13:00." in member.get(detail).content.decode()
    assert "Sign me in" not in member.get(detail).content.decode()
    assert staff.get(detail).context["absent_members"]
    assert 'name="member"' not in staff.get(detail).content.decode()  # no ticking yet
    ticked = staff.post(reverse("meetings:sign_in", args=[meeting.pk]), {"member": seven[1].pk})
    assert ticked.status_code == 302
    assert not Attendance.objects.exists()

    clock.move_to(STARTS - dt.timedelta(hours=1, minutes=59))
    assert "Sign me in" in member.get(detail).content.decode()
    assert 'name="member"' in staff.get(detail).content.decode()
    staff.post(reverse("meetings:sign_in", args=[meeting.pk]), {"member": seven[1].pk})
    member.post(reverse("meetings:sign_in", args=[meeting.pk]))
    assert sorted(Attendance.objects.values_list("how", flat=True)) == ["self", "staff"]


def test_sign_in_stays_open_after_the_start_until_the_meeting_is_closed(
    meeting, seven, manan_staff, clock
):
    clock.move_to(STARTS + dt.timedelta(hours=3))
    running.attendance_sign_in(meeting=meeting, member=seven[0], actor=manan_staff, how="staff")
    closing.meeting_close(meeting=meeting, actor=manan_staff)
    with pytest.raises(ActionError, match="signing in is over"):
        running.attendance_sign_in(meeting=meeting, member=seven[1], actor=manan_staff, how="staff")
    assert Attendance.objects.count() == 1


def test_the_council_sets_how_early_sign_in_opens(
    manan, meeting, manan_staff, manan_leader_term, as_user, clock
):
    client = in_language(as_user(manan_staff))
    url = reverse("members:council_settings", args=[manan.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="sign_in_opens_hours" value="2"' in page.content.decode()
    bad = client.post(
        url, {"quorum_ratio": "0.5", "sign_in_opens_hours": "30", "review_after_days": "7"}
    )
    assert bad.status_code == 422
    assert "Sign-in can open at most 24 hours before the start." in bad.content.decode()
    assert 'value="30"' in bad.content.decode()  # what was typed is kept
    assert Council.objects.get(pk=manan.council.pk).sign_in_opens_hours == 2
    saved = client.post(
        url,
        {
            "quorum_ratio": "0.5",
            "sign_in_opens_hours": "5",
            "named_votes": "on",
            "review_after_days": "7",
        },
    )
    assert saved.status_code == 302
    council = Council.objects.get(pk=manan.council.pk)
    assert (council.sign_in_opens_hours, council.named_votes) == (5, True)
    clock.move_to(STARTS - dt.timedelta(hours=4, minutes=59))
    meeting = Meeting.objects.select_related("council").get(pk=meeting.pk)
    running.attendance_sign_in(
        meeting=meeting, member=manan_leader_term, actor=manan_staff, how="staff"
    )
    assert Attendance.objects.count() == 1


@pytest.mark.outsider("members:council_settings")
def test_only_the_communitys_staff_change_the_council_settings(
    manan, manan_member, xingfu_staff, as_user
):
    url = reverse("members:council_settings", args=[manan.pk])
    data = {"quorum_ratio": "1", "sign_in_opens_hours": "12", "review_after_days": "7"}
    assert as_user(xingfu_staff).post(url, data).status_code == 404
    assert as_user(xingfu_staff).get(url, HTTP_HX_REQUEST="true").status_code == 404
    assert as_user(manan_member).post(url, data).status_code == 403
    assert Council.objects.get(pk=manan.council.pk).sign_in_opens_hours == 2


# --- 8. No decision below the quorum -----------------------------------------------------


def test_a_decision_without_a_vote_needs_the_quorum_too(item, meeting, seven, manan_staff, clock):
    clock.move_to(STARTS - dt.timedelta(hours=34))  # nobody present, 0 of 7
    before = written()
    with pytest.raises(ActionError) as refused:
        running.decision_record(item=item, actor=manan_staff, outcome="solve_by_council", notes="")
    assert str(refused.value) == (
        "No decision can be recorded yet: 4 more members must sign in to reach the quorum."
    )
    sign_in(meeting, seven[:2], manan_staff)
    with translation.override("zh-hans"), pytest.raises(ActionError) as refused:
        running.decision_record(item=item, actor=manan_staff, outcome="defer", notes="")
    assert str(refused.value) == "尚不能记录决定：还需 2 位成员签到才达到法定人数。"
    assert written() == before

    sign_in(meeting, seven[2:4], manan_staff)
    decision = running.decision_record(
        item=item, actor=manan_staff, outcome="solve_by_council", notes=""
    )
    assert decision.outcome == "solve_by_council" and not decision.needs_vote


def test_a_follow_up_review_is_not_recorded_below_quorum(manan, meeting, seven, manan_staff):
    issue = factories.resolved_issue(manan, actor=manan_staff)
    review = AgendaItem.objects.create(meeting=meeting, issue=issue, kind="review", position=1)
    sign_in(meeting, seven[:1], manan_staff)
    with pytest.raises(ActionError, match="3 more members must sign in"):
        running.decision_record(
            item=review, actor=manan_staff, outcome="review_effective", notes=""
        )
    assert not Decision.objects.exists()


def test_the_page_says_how_many_more_must_sign_in(
    item, meeting, seven, manan_staff, as_user, clock
):
    clock.move_to(STARTS - dt.timedelta(hours=1))
    sign_in(meeting, seven[:3], manan_staff)
    client = in_language(as_user(manan_staff), "zh-hans")
    prefix = f"item-{item.pk}-"
    response = client.post(
        reverse("meetings:decide", args=[meeting.pk, item.pk]),
        {prefix + "outcome": "solve_by_council", prefix + "notes": "楼组长牵头"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "还需 1 位成员签到才达到法定人数" in html
    assert "楼组长牵头</textarea>" in html
    assert not Decision.objects.exists()


# --- 9. Counted votes and "all in favour" -------------------------------------------------


def decide(client, meeting, item, **fields):
    prefix = f"item-{item.pk}-"
    data = {prefix + name: value for name, value in fields.items()}
    return client.post(
        reverse("meetings:decide", args=[meeting.pk, item.pk]), data, HTTP_HX_REQUEST="true"
    )


@pytest.fixture
def ten(manan, manan_leader_term, meeting, manan_staff, clock) -> list:
    """Ten of the eleven members present an hour before the start."""
    terms = [manan_leader_term] + [factories.council_member(manan) for _ in range(10)]
    clock.move_to(STARTS - dt.timedelta(hours=1))
    sign_in(meeting, terms[:10], manan_staff)
    return terms


def test_staff_record_the_counts_and_the_tally_shows_on_the_decision(
    item, meeting, ten, manan_staff, as_user
):
    client = in_language(as_user(manan_staff), "zh-hans")
    opened = client.get(
        reverse("meetings:item", args=[meeting.pk, item.pk]), HTTP_HX_REQUEST="true"
    )
    html = opened.content.decode()
    assert 'inputmode="numeric"' in html
    assert html.count('type="number"') == 3
    assert "-vote_" not in html  # no dropdown per member
    response = decide(
        client,
        meeting,
        item,
        outcome="solve_by_council",
        votes_for="9",
        votes_against="0",
        votes_abstain="1",
    )
    assert "9 赞成 · 0 反对 · 1 弃权" in response.content.decode()
    decision = Decision.objects.get()
    assert (decision.votes_for, decision.votes_against, decision.votes_abstain) == (9, 0, 1)
    assert decision.needs_vote
    page = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert "9 赞成 · 0 反对 · 1 弃权" in page


def test_all_in_favour_counts_every_member_present(item, meeting, ten, manan_staff, as_user):
    client = in_language(as_user(manan_staff))
    response = decide(client, meeting, item, outcome="refer_to_community", all_for="1")
    assert "10 for · 0 against · 0 abstaining" in response.content.decode()
    decision = Decision.objects.get()
    assert (decision.votes_for, decision.votes_against, decision.votes_abstain) == (10, 0, 0)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (
            {"votes_for": "9", "votes_against": "1", "votes_abstain": "1"},
            "11 votes were counted, but only 10 members are present.",
        ),
        ({"votes_for": "-1", "votes_against": "0"}, "A number of votes cannot be negative."),
        ({"votes_for": "九"}, "Write the number of votes as digits."),
    ],
)
def test_an_impossible_count_is_refused_and_kept(
    item, meeting, ten, manan_staff, as_user, counts, message
):
    client = in_language(as_user(manan_staff))
    before = written()
    response = decide(client, meeting, item, outcome="solve_by_council", notes="再议", **counts)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert f'value="{counts["votes_for"]}"' in html
    assert "再议</textarea>" in html
    assert written() == before


def test_the_action_refuses_a_tally_larger_than_the_members_present(
    item, meeting, ten, manan_staff
):
    before = written()
    for tally, message in [
        (running.Tally(10, 1, 0), "11 votes were counted, but only 10 members are present."),
        (running.Tally(5, -1, 0), "A number of votes cannot be negative."),
        (running.Tally(0, 0, 0), "Count the votes"),
    ]:
        with pytest.raises(ActionError, match=message):
            running.decision_record(
                item=item, actor=manan_staff, outcome="solve_by_council", notes="", tally=tally
            )
    assert written() == before


def test_a_council_that_votes_by_name_gets_one_choice_per_member_present(
    manan, item, meeting, ten, manan_staff, as_user
):
    Council.objects.filter(pk=manan.council.pk).update(named_votes=True)
    client = in_language(as_user(manan_staff))
    opened = client.get(
        reverse("meetings:item", args=[meeting.pk, item.pk]), HTTP_HX_REQUEST="true"
    )
    html = opened.content.decode()
    assert html.count(f'name="item-{item.pk}-vote_') == 10
    assert 'type="number"' not in html
    choices = {f"vote_{term.pk}": "for" for term in ten[:8]}
    choices[f"vote_{ten[8].pk}"] = "against"
    response = decide(client, meeting, item, outcome="solve_by_council", **choices)
    assert "8 for · 1 against · 0 abstaining" in response.content.decode()
    assert Vote.objects.count() == 9
    with pytest.raises(ActionError, match="by name"):
        running.decision_record(
            item=AgendaItem.objects.create(meeting=meeting, topic="绿化", kind="topic"),
            actor=manan_staff,
            outcome="solve_by_council",
            notes="",
            tally=running.Tally(10, 0, 0),
        )


def test_all_in_favour_by_name_records_every_member_present_for(
    manan, item, meeting, ten, manan_staff, as_user
):
    Council.objects.filter(pk=manan.council.pk).update(named_votes=True)
    client = in_language(as_user(manan_staff))
    decide(client, meeting, item, outcome="solve_by_council", all_for="1")
    assert sorted(Vote.objects.values_list("member_id", "choice")) == sorted(
        (term.pk, "for") for term in ten[:10]
    )
    assert Decision.objects.get().tally == "10 for · 0 against · 0 abstaining"


def test_the_tally_is_in_the_minutes_the_pdf_and_on_the_transparency_page(
    manan, item, meeting, ten, manan_staff, as_user, clock
):
    from members import actions as members_actions

    running.decision_record(
        item=item,
        actor=manan_staff,
        outcome="solve_by_council",
        notes="",
        tally=running.Tally(9, 0, 1),
    )
    clock.move_to(STARTS + dt.timedelta(hours=2))
    closing.meeting_close(meeting=meeting, actor=manan_staff)
    with translation.override("zh-hans"):
        draft = minutes.minutes_draft(meeting=meeting, actor=manan_staff)
    assert "表决：9 赞成 · 0 反对 · 1 弃权" in draft.text
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(minutes_pdf.render_pdf(draft)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "9" in text and "赞成" in text and "弃权" in text

    members_actions.community_transparency_set(actor=manan_staff, community=manan, public=True)
    url = reverse("public:transparency", args=[public_views.public_form_token(manan)])
    client = in_language(as_user(manan_staff), "zh-hans")
    page = client.get(url + "?month=2026-11").content.decode()
    assert "9 赞成 · 0 反对 · 1 弃权" in page


# --- 11. A light meeting page --------------------------------------------------------------


class ElementCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.elements += 1

    def handle_startendtag(self, tag, attrs) -> None:
        self.elements += 1


def element_count(html: str) -> int:
    counter = ElementCounter()
    counter.feed(html)
    return counter.elements


def forty_six_items(meeting, manan, manan_staff) -> list[AgendaItem]:
    items = []
    for i in range(46):
        issue = awaiting(
            manan, manan_staff, title=f"三号楼楼道堆物影响通行第{i}件", is_urgent=i % 5 == 0
        )
        items.append(AgendaItem.objects.create(meeting=meeting, issue=issue, position=i))
    for i in range(10):
        awaiting(manan, manan_staff, title=f"可以加入议程的事项{i}")
    return items


def test_the_page_with_46_items_stays_under_600_elements_and_60_kb(
    meeting, manan, seven, manan_staff, as_user, clock
):
    clock.move_to(STARTS - dt.timedelta(hours=1))
    items = forty_six_items(meeting, manan, manan_staff)
    sign_in(meeting, seven[:3], manan_staff)
    client = in_language(as_user(manan_staff), "zh-hans")
    response = client.get(reverse("meetings:detail", args=[meeting.pk]))
    html = response.content.decode()
    assert len(response.content) <= 60 * 1024, len(response.content)
    assert element_count(html) <= 600, element_count(html)
    # Every undecided item opens on a tap; no item's forms are on the page yet.
    assert html.count('class="button secondary open-item"') == 46
    assert "decide-" not in html
    # Nor the list of the community's other open issues: it loads when staff ask for it.
    assert "可以加入议程的事项" not in html
    choices = client.get(
        reverse("meetings:agenda_issue_choices", args=[meeting.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert choices.lstrip().startswith('<div id="add-issue">')
    assert choices.count("可以加入议程的事项") == 10
    assert reverse("meetings:item", args=[meeting.pk, items[7].pk]) in html
    opened = client.get(
        reverse("meetings:item", args=[meeting.pk, items[7].pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert opened.lstrip().startswith(f'<li class="card agenda-item" id="item-{items[7].pk}"')
    assert f'id="decide-{items[7].pk}"' in opened
    assert reverse("meetings:agenda_remove", args=[meeting.pk, items[7].pk]) in opened


def test_without_javascript_an_item_opens_on_the_page(meeting, manan, item, manan_staff, as_user):
    client = as_user(manan_staff)
    url = reverse("meetings:item", args=[meeting.pk, item.pk])
    response = client.get(url)
    detail = reverse("meetings:detail", args=[meeting.pk])
    assert response["Location"] == f"{detail}?open={item.pk}#item-{item.pk}"
    page = client.get(f"{detail}?open={item.pk}").content.decode()
    assert f'id="decide-{item.pk}"' in page


def test_an_opened_item_runs_the_same_queries_for_few_and_many_items(
    meeting, manan, seven, manan_staff, as_user
):
    client = as_user(manan_staff)
    first = AgendaItem.objects.create(meeting=meeting, issue=awaiting(manan, manan_staff))
    url = reverse("meetings:item", args=[meeting.pk, first.pk])

    def measure() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
        return len(captured)

    few = measure()
    for i in range(30):
        AgendaItem.objects.create(
            meeting=meeting, issue=awaiting(manan, manan_staff), position=i + 1
        )
    many = measure()
    # session, user with its unread notices, roles; meeting; the councils joined to it (one
    # query however many); the item; members; attendances; guests; agenda; items taken off;
    # the next meeting.
    assert few == many == 12


@pytest.mark.outsider("meetings:item")
@pytest.mark.parametrize("htmx", [False, True])
def test_outsiders_cannot_open_an_item(meeting, item, xingfu_staff, as_user, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client = as_user(xingfu_staff)
    response = client.get(reverse("meetings:item", args=[meeting.pk, item.pk]), **headers)
    assert response.status_code == 404
    other = factories.meeting(factories.community("幸福村社区"), STARTS)
    mixed = as_user(xingfu_staff).get(reverse("meetings:item", args=[other.pk, item.pk]), **headers)
    assert mixed.status_code == 404


def test_members_and_viewers_see_no_open_link(meeting, item, manan_member, as_user):
    html = as_user(manan_member).get(reverse("meetings:detail", args=[meeting.pk])).content
    assert b"open-item" not in html


def test_the_council_settings_page_runs_a_fixed_number_of_queries(
    manan, manan_staff, as_user, django_assert_num_queries
):
    client = as_user(manan_staff)
    for _ in range(5):
        factories.council_member(manan)
    # session, user, roles; community; council; unread notices.
    with django_assert_num_queries(5):
        assert client.get(reverse("members:council_settings", args=[manan.pk])).status_code == 200


@pytest.mark.outsider("meetings:agenda_issue_choices")
@pytest.mark.parametrize("htmx", [False, True])
def test_outsiders_and_members_get_no_list_of_issues_to_add(
    meeting, xingfu_staff, manan_member, as_user, htmx
):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = reverse("meetings:agenda_issue_choices", args=[meeting.pk])
    assert as_user(xingfu_staff).get(url, **headers).status_code == 404
    assert as_user(manan_member).get(url, **headers).status_code == 403


def test_without_javascript_the_list_of_issues_opens_on_the_page(
    meeting, manan, manan_staff, as_user
):
    awaiting(manan, manan_staff, title="排队中")
    client = as_user(manan_staff)
    url = reverse("meetings:agenda_issue_choices", args=[meeting.pk])
    detail = reverse("meetings:detail", args=[meeting.pk])
    assert client.get(url)["Location"] == f"{detail}?add=issue#add-issue"
    assert "排队中" in client.get(detail, {"add": "issue"}).content.decode()
