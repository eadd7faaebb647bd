"""Closing and cancelling a meeting, and the decision forms following who signed in."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from deliberation import queries
from deliberation.actions import agenda, closing, materialise, running, schedules
from deliberation.actions import urgent as urgent_actions
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Attendance, Decision, Meeting
from issues.actions import handling
from issues.models import Issue
from members.models import CouncilMember, Notice, Role
from tests import factories
from tests.helpers.meetings import quorum_present


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def make_meeting(community, starts_at: dt.datetime, **fields) -> Meeting:
    return Meeting.objects.create(
        council=community.council,
        starts_at=starts_at,
        notice_due_at=starts_at - dt.timedelta(days=3),
        place="社区居民议事点",
        **fields,
    )


def awaiting(community, actor, **fields) -> Issue:
    issue = factories.issue(community, actor=actor, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


def account_for(term: CouncilMember, username: str):
    user = factories.user(username)
    factories.role(user, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return user


def state_of(meeting) -> tuple:
    meeting = Meeting.objects.get(pk=meeting.pk)
    return meeting.state, meeting.ended_at, meeting.ended_by_id, meeting.cancel_reason


@pytest.fixture
def started(manan):
    """A meeting that began an hour ago."""
    return make_meeting(manan, timezone.now().replace(microsecond=0) - dt.timedelta(hours=1))


@pytest.fixture
def coming(manan):
    return make_meeting(manan, timezone.now().replace(microsecond=0) + dt.timedelta(days=2))


# --- Closing ------------------------------------------------------------------------------


def test_closing_records_who_and_when_then_nothing_more_is_recorded(
    started, manan, manan_staff, manan_leader_term
):
    item = AgendaItem.objects.create(meeting=started, issue=awaiting(manan, manan_staff))
    closed = closing.meeting_close(meeting=started, actor=manan_staff)
    assert (closed.state, closed.ended_by) == ("held", manan_staff)
    assert closed.ended_at is not None
    with pytest.raises(ActionError, match="already been closed"):
        closing.meeting_close(meeting=started, actor=manan_staff)
    with pytest.raises(ActionError, match="signing in is over"):
        running.attendance_sign_in(
            meeting=started, member=manan_leader_term, actor=manan_staff, how="staff"
        )
    with pytest.raises(ActionError, match="no more decisions"):
        running.decision_record(item=item, actor=manan_staff, outcome="defer", notes="")
    with pytest.raises(ActionError, match="its agenda can no longer change"):
        agenda.agenda_topic_add(meeting=started, actor=manan_staff, topic="补充")
    assert not Attendance.objects.exists()
    assert not Decision.objects.exists()
    assert AgendaItem.objects.count() == 1


def test_a_meeting_is_not_closed_before_it_starts_nor_once_cancelled(coming, started, manan_staff):
    before = state_of(coming)
    with pytest.raises(ActionError, match="once it has begun"):
        closing.meeting_close(meeting=coming, actor=manan_staff)
    assert state_of(coming) == before
    closing.meeting_cancel(meeting=started, actor=manan_staff, reason="停电")
    with pytest.raises(ActionError, match="cancelled meeting cannot be closed"):
        closing.meeting_close(meeting=started, actor=manan_staff)
    assert state_of(started)[0] == "cancelled"


def test_undecided_issues_of_a_closed_meeting_join_a_later_agenda(started, manan, manan_staff):
    issue = awaiting(manan, manan_staff, title="未议完")
    AgendaItem.objects.create(meeting=started, issue=issue)
    nxt = make_meeting(manan, timezone.now() + dt.timedelta(days=10))
    materialise.agenda_build(council_id=manan.council.pk, today=timezone.localdate())
    assert not nxt.agenda_items.exists()  # still on today's open meeting
    closing.meeting_close(meeting=started, actor=manan_staff)
    materialise.agenda_build(council_id=manan.council.pk, today=timezone.localdate())
    assert list(nxt.agenda_items.values_list("issue_id", flat=True)) == [issue.pk]


def test_the_close_button_closes_and_says_so(started, coming, manan_staff, as_user):
    client = in_english(as_user(manan_staff))
    page = client.get(reverse("meetings:detail", args=[started.pk]))
    assert page.context["can_close"]
    assert reverse("meetings:close", args=[started.pk]) in page.content.decode()
    response = client.post(reverse("meetings:close", args=[started.pk]))
    assert response.status_code == 302
    assert any(str(m) == "The meeting is closed." for m in get_messages(response.wsgi_request))
    page = client.get(reverse("meetings:detail", args=[started.pk]))
    html = page.content.decode()
    assert "Closed at" in html and "马南 工作人员" in html
    assert reverse("meetings:close", args=[started.pk]) not in html
    # A meeting still to come offers no close button and refuses a forged post.
    early = client.get(reverse("meetings:detail", args=[coming.pk]))
    assert not early.context["can_close"]
    refused = client.post(reverse("meetings:close", args=[coming.pk]))
    assert any("once it has begun" in str(m) for m in get_messages(refused.wsgi_request))
    assert state_of(coming)[0] == "scheduled"


def test_closing_from_htmx_sends_the_browser_to_the_page_with_the_message(
    started, coming, manan_staff, as_user
):
    client = in_english(as_user(manan_staff))
    page = reverse("meetings:detail", args=[started.pk])
    response = client.post(reverse("meetings:close", args=[started.pk]), HTTP_HX_REQUEST="true")
    assert (response.status_code, response["HX-Redirect"]) == (200, page)
    assert any(str(m) == "The meeting is closed." for m in get_messages(response.wsgi_request))
    refused = client.post(reverse("meetings:close", args=[coming.pk]), HTTP_HX_REQUEST="true")
    assert refused["HX-Redirect"] == reverse("meetings:detail", args=[coming.pk])
    assert any("once it has begun" in str(m) for m in get_messages(refused.wsgi_request))
    assert state_of(coming)[0] == "scheduled"


# --- Cancelling ----------------------------------------------------------------------------


def test_cancelling_needs_a_reason_and_tells_each_member_once(
    coming, manan, manan_staff, manan_member, django_capture_on_commit_callbacks
):
    other = account_for(factories.council_member(manan), "other_member")
    with pytest.raises(ActionError, match="Give the reason"):
        closing.meeting_cancel(meeting=coming, actor=manan_staff, reason="  ")
    assert state_of(coming)[0] == "scheduled"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        closing.meeting_cancel(meeting=coming, actor=manan_staff, reason=" 台风预警 ")
    assert callbacks  # delivery after commit
    state, ended_at, ended_by, reason = state_of(coming)
    assert (state, ended_by, reason) == ("cancelled", manan_staff.pk, "台风预警")
    assert ended_at is not None
    told = Notice.objects.filter(kind="meeting_cancelled", channel="inapp")
    assert sorted(told.values_list("recipient__username", flat=True)) == sorted(
        ["manan_member", "other_member"]
    )
    assert told.filter(key=f"meeting_cancelled:{coming.pk}:{other.pk}:inapp").exists()
    assert told.get(recipient=manan_member).context == {
        "council": manan.council.name,
        "when": timezone.localtime(coming.starts_at).strftime("%Y-%m-%d %H:%M"),
        "place": coming.place,
        "meeting_id": coming.pk,
    }
    with pytest.raises(ActionError, match="already cancelled"):
        closing.meeting_cancel(meeting=coming, actor=manan_staff, reason="再次")
    assert told.count() == 2


def test_a_held_meeting_or_one_with_decisions_is_not_cancelled(started, manan, manan_staff):
    item = AgendaItem.objects.create(meeting=started, issue=awaiting(manan, manan_staff))
    quorum_present(started, manan_staff)
    running.decision_record(item=item, actor=manan_staff, outcome="solve_by_council", notes="")
    with pytest.raises(ActionError, match="close it instead"):
        closing.meeting_cancel(meeting=started, actor=manan_staff, reason="没人来")
    closing.meeting_close(meeting=started, actor=manan_staff)
    with pytest.raises(ActionError, match="has been held"):
        closing.meeting_cancel(meeting=started, actor=manan_staff, reason="没人来")
    assert state_of(started)[0] == "held"
    assert not Notice.objects.filter(kind="meeting_cancelled").exists()


def test_the_cancel_form_keeps_the_page_and_shows_the_reason_after(
    coming, manan_staff, manan_member, as_user
):
    client = in_english(as_user(manan_staff))
    url = reverse("meetings:cancel", args=[coming.pk])
    empty = client.post(url, {"cancel-reason": ""})
    assert empty.status_code == 422
    assert "Give the reason for cancelling the meeting." in empty.content.decode()
    long = "因" * 1001
    too_long = client.post(url, {"cancel-reason": long})
    assert too_long.status_code == 422
    assert f"{long}</textarea>" in too_long.content.decode()
    assert state_of(coming)[0] == "scheduled"
    done = client.post(url, {"cancel-reason": "会议室维修"})
    assert done.status_code == 302
    page = in_english(as_user(manan_member)).get(reverse("meetings:detail", args=[coming.pk]))
    html = page.content.decode()
    assert "Cancelled at" in html and "会议室维修" in html
    assert "Sign me in" not in html


def test_cancelling_an_urgent_meeting_sends_its_issue_back_to_the_regular_agenda(
    manan, manan_staff
):
    issue = awaiting(manan, manan_staff, title="化粪池堵塞", is_urgent=True)
    regular = make_meeting(manan, timezone.now() + dt.timedelta(days=5))
    AgendaItem.objects.create(meeting=regular, issue=issue)
    urgent = urgent_actions.meeting_convene_urgent(
        issue=issue,
        actor=manan_staff,
        starts_at=(timezone.now() + dt.timedelta(hours=3)).replace(second=0, microsecond=0),
        place="议事点",
    )
    assert not regular.agenda_items.exists()  # the urgent meeting took it
    closing.meeting_cancel(meeting=urgent, actor=manan_staff, reason="已由物业处理中")
    materialise.agenda_build(council_id=manan.council.pk, today=timezone.localdate())
    assert list(regular.agenda_items.values_list("issue_id", flat=True)) == [issue.pk]
    assert urgent.agenda_items.get().issue_id == issue.pk  # the record stays


def test_a_schedule_change_does_not_revive_a_meeting_cancelled_by_hand(manan, manan_staff):
    schedule = factories.schedule(manan)
    materialise.meetings_materialise(today=timezone.localdate())
    first = Meeting.objects.filter(council=manan.council, starts_at__gt=timezone.now()).first()
    closing.meeting_cancel(meeting=first, actor=manan_staff, reason="节假日")
    schedules.schedule_save(
        actor=manan_staff, council=manan.council, schedule=schedule, place="新址"
    )
    assert Meeting.objects.get(pk=first.pk).state == "cancelled"


@pytest.mark.parametrize("person", ["manan_member", "nanen_admin"])
def test_only_staff_close_or_cancel(request, person, started, coming, as_user):
    client = as_user(request.getfixturevalue(person))
    assert client.post(reverse("meetings:close", args=[started.pk])).status_code == 403
    assert (
        client.post(reverse("meetings:cancel", args=[coming.pk]), {"cancel-reason": "x"})
    ).status_code == 403
    assert state_of(started)[0] == state_of(coming)[0] == "scheduled"


# --- The vote lists follow the sign-ins ----------------------------------------------------


OOB_SLOT = re.compile(
    r'<div class="vote-fields" id="(votes-\d+)" hx-swap-oob="true">(.*?)</div>\s*'
    r'(?=<div class="vote-fields"|$)',
    re.S,
)


def oob_slots(html: str) -> dict[str, str]:
    """The out-of-band vote lists in a response, by their element id."""
    return dict(OOB_SLOT.findall(html))


def test_an_htmx_sign_in_refreshes_the_vote_lists_and_keeps_chosen_votes(
    coming, manan, manan_staff, as_user, clock
):
    clock.move_to(coming.starts_at - dt.timedelta(hours=1))
    # Votes by name, and one member present makes a quorum here.
    type(manan.council).objects.filter(pk=manan.council.pk).update(
        named_votes=True, quorum_ratio="0.01"
    )
    terms = [
        factories.council_member(manan, factories.resident(manan, name))
        for name in ("张三", "李四")
    ]
    items = [
        AgendaItem.objects.create(meeting=coming, issue=awaiting(manan, manan_staff), position=i)
        for i in range(2)
    ]
    decided = AgendaItem.objects.create(
        meeting=coming, issue=awaiting(manan, manan_staff), position=2
    )
    client = in_english(as_user(manan_staff))
    detail = reverse("meetings:detail", args=[coming.pk])
    page = client.get(detail, {"open": items[0].pk}).content.decode()
    assert f'id="votes-{items[0].pk}"' in page
    assert "0 members present can vote." in page
    assert "-vote_" not in page  # nobody present: no vote lists yet
    assert 'hx-include="#agenda .vote-fields"' in page

    sign_in = reverse("meetings:sign_in", args=[coming.pk])
    client.post(sign_in, {"member": terms[0].pk}, HTTP_HX_REQUEST="true")
    running.decision_record(item=decided, actor=manan_staff, outcome="solve_by_council", notes="")
    # Staff chose a vote for 张三 on the first item, then sign in 李四; the choice rides along
    # with the items open on the page.
    response = client.post(
        sign_in,
        {
            "member": terms[1].pk,
            "open": [items[0].pk, items[1].pk, decided.pk],
            f"item-{items[0].pk}-vote_{terms[0].pk}": "against",
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card attendance" id="attendance"')
    slots = oob_slots(html)
    assert sorted(slots) == sorted(f"votes-{item.pk}" for item in items)  # not the decided one
    first = slots[f"votes-{items[0].pk}"]
    assert "张三" in first and "李四" in first
    assert f'name="item-{items[0].pk}-vote_{terms[1].pk}"' in first
    assert re.search(r'<option value="against" selected>', first)
    assert "selected>" not in slots[f"votes-{items[1].pk}"].replace(
        '<option value="" selected>', ""
    )


def test_the_sign_in_response_runs_the_same_queries_for_few_and_many_items(
    coming, manan, manan_staff, as_user, clock
):
    clock.move_to(coming.starts_at - dt.timedelta(hours=1))
    terms = [factories.council_member(manan) for _ in range(4)]
    client = as_user(manan_staff)
    sign_in = reverse("meetings:sign_in", args=[coming.pk])

    def grow(count):
        for i in range(coming.agenda_items.count(), count):
            AgendaItem.objects.create(
                meeting=coming, issue=awaiting(manan, manan_staff), position=i
            )

    def measure(term) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(sign_in, {"member": term.pk}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return len(captured)

    grow(2)
    few = measure(terms[0])
    grow(25)
    many = measure(terms[1])
    assert few == many
    assert len(queries.attendances_of(coming)) == 2
