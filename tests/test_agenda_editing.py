"""Staff edit a meeting's agenda: reorder, add, take off, put back and defer items."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation

from deliberation import queries
from deliberation.actions import agenda, materialise, running
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Meeting
from issues.actions import handling
from issues.models import Issue
from tests import factories
from tests.helpers.meetings import quorum_present


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def days_ahead(days: int, hour: int = 15) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


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


def titles(meeting: Meeting) -> list[str]:
    return [
        item.issue.title if item.issue_id else item.topic for item in queries.agenda_of(meeting)
    ]


def positions(meeting: Meeting) -> list[int]:
    return [item.position for item in queries.agenda_of(meeting)]


def snapshot() -> list[tuple]:
    return list(
        AgendaItem.objects.order_by("id").values_list(
            "id", "meeting_id", "issue_id", "topic", "position", "removed_at", "moved_to_id"
        )
    )


@pytest.fixture
def meeting(manan):
    return make_meeting(manan, days_ahead(3))


@pytest.fixture
def later(manan):
    return make_meeting(manan, days_ahead(13))


@pytest.fixture
def items(meeting, manan, manan_staff) -> list[AgendaItem]:
    return [
        AgendaItem.objects.create(
            meeting=meeting, issue=awaiting(manan, manan_staff, title=title), position=position
        )
        for position, title in enumerate(["楼道堆物", "晾衣场地", "饮水机"])
    ]


def decide(item, actor) -> None:
    quorum_present(item.meeting, actor)
    running.decision_record(item=item, actor=actor, outcome="solve_by_council", notes="")


# --- Reordering ---------------------------------------------------------------------------


def test_moving_an_item_renumbers_the_agenda_densely(meeting, items, manan_staff):
    agenda.agenda_item_remove(item=items[0], actor=manan_staff)
    agenda.agenda_item_move(item=items[2], actor=manan_staff, direction="up")
    assert titles(meeting) == ["饮水机", "晾衣场地"]
    assert positions(meeting) == [0, 1]
    agenda.agenda_item_move(item=items[2], actor=manan_staff, direction="down")
    assert titles(meeting) == ["晾衣场地", "饮水机"]
    assert positions(meeting) == [0, 1]


def test_the_ends_of_the_agenda_and_decided_items_stop_a_move(meeting, items, manan_staff):
    with pytest.raises(ActionError, match="already first"):
        agenda.agenda_item_move(item=items[0], actor=manan_staff, direction="up")
    with pytest.raises(ActionError, match="already last"):
        agenda.agenda_item_move(item=items[2], actor=manan_staff, direction="down")
    decide(items[0], manan_staff)
    before = snapshot()
    with pytest.raises(ActionError, match="decided; it keeps its place"):
        agenda.agenda_item_move(item=items[0], actor=manan_staff, direction="down")
    with pytest.raises(ActionError, match="cannot move past them"):
        agenda.agenda_item_move(item=items[1], actor=manan_staff, direction="up")
    assert snapshot() == before


# --- Adding -------------------------------------------------------------------------------


def test_an_open_issue_is_added_at_the_end(meeting, items, manan, manan_staff):
    issue = factories.issue(manan, actor=manan_staff, title="噪音")  # submitted: open too
    item, taken_from = agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=issue)
    assert taken_from == []
    assert titles(meeting) == ["楼道堆物", "晾衣场地", "饮水机", "噪音"]
    assert item.position == 3
    with pytest.raises(ActionError, match="already on the agenda"):
        agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=issue)


def test_an_issue_waiting_on_another_upcoming_agenda_moves_here(
    meeting, later, items, manan, manan_staff
):
    elsewhere = awaiting(manan, manan_staff, title="电梯")
    there = AgendaItem.objects.create(meeting=later, issue=elsewhere, position=0)
    _item, taken_from = agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=elsewhere)
    there.refresh_from_db()
    assert [m.pk for m in taken_from] == [later.pk]
    assert (there.removed_by, there.moved_to) == (manan_staff, meeting)
    assert there.removed_at is not None
    assert titles(later) == []
    assert titles(meeting)[-1] == "电梯"
    # On exactly one upcoming agenda, as the automatic top-up keeps it.
    assert AgendaItem.objects.filter(issue=elsewhere, removed_at__isnull=True).count() == 1


def test_an_item_decided_elsewhere_stays_as_that_meetings_record(manan, manan_staff):
    today = make_meeting(manan, timezone.now() + dt.timedelta(hours=1))
    next_week = make_meeting(manan, days_ahead(7))
    issue = awaiting(manan, manan_staff, title="停车")
    decided = AgendaItem.objects.create(meeting=today, issue=issue, position=0)
    quorum_present(today, manan_staff)
    running.decision_record(item=decided, actor=manan_staff, outcome="refer_to_community", notes="")
    agenda.agenda_issue_add(meeting=next_week, actor=manan_staff, issue=issue)
    decided.refresh_from_db()
    assert decided.removed_at is None
    assert titles(next_week) == ["停车"]


def test_issues_of_another_community_and_closed_issues_are_refused(
    meeting, manan, xingfu, manan_staff, xingfu_staff
):
    foreign = awaiting(xingfu, xingfu_staff)
    with pytest.raises(ActionError, match="own community"):
        agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=foreign)
    closed = awaiting(manan, manan_staff)
    Issue.objects.filter(pk=closed.pk).update(status="closed")
    with pytest.raises(ActionError, match="Only an open issue"):
        agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=closed)
    assert not AgendaItem.objects.exists()


def test_a_free_topic_is_required_and_at_most_200_characters(meeting, manan_staff):
    with pytest.raises(ActionError, match="Write the topic"):
        agenda.agenda_topic_add(meeting=meeting, actor=manan_staff, topic="   ")
    with pytest.raises(ActionError, match="at most 200"):
        agenda.agenda_topic_add(meeting=meeting, actor=manan_staff, topic="议" * 201)
    item = agenda.agenda_topic_add(meeting=meeting, actor=manan_staff, topic="  年终  总结 ")
    assert (item.kind, item.topic, item.issue_id) == ("topic", "年终 总结", None)
    assert titles(meeting) == ["年终 总结"]


# --- Taking off and putting back -----------------------------------------------------------


def test_an_item_taken_off_keeps_its_row_and_is_hidden(meeting, items, manan_staff):
    agenda.agenda_item_remove(item=items[1], actor=manan_staff)
    removed = AgendaItem.objects.get(pk=items[1].pk)
    assert removed.removed_by == manan_staff and removed.removed_at is not None
    assert titles(meeting) == ["楼道堆物", "饮水机"]
    assert positions(meeting) == [0, 1]
    assert list(queries.removed_items_of(meeting)) == [removed]
    with pytest.raises(ActionError, match="no longer on the agenda"):
        agenda.agenda_item_remove(item=items[1], actor=manan_staff)
    # Nor can it be decided while it is off the agenda.
    with pytest.raises(ActionError, match="no longer on the agenda"):
        decide(removed, manan_staff)


def test_the_top_up_does_not_put_back_an_issue_taken_off(meeting, items, manan, manan_staff):
    agenda.agenda_item_remove(item=items[0], actor=manan_staff)
    materialise.agenda_build(council_id=manan.council.pk, today=timezone.localdate())
    assert titles(meeting) == ["晾衣场地", "饮水机"]


def test_a_decided_item_cannot_be_taken_off(meeting, items, manan_staff):
    decide(items[0], manan_staff)
    before = snapshot()
    with pytest.raises(ActionError, match="stays on the agenda as the record"):
        agenda.agenda_item_remove(item=items[0], actor=manan_staff)
    assert snapshot() == before


def test_putting_back_appends_the_item_and_re_adding_reuses_its_row(meeting, items, manan_staff):
    agenda.agenda_item_remove(item=items[0], actor=manan_staff)
    agenda.agenda_item_restore(item=items[0], actor=manan_staff)
    assert titles(meeting) == ["晾衣场地", "饮水机", "楼道堆物"]
    assert positions(meeting) == [0, 1, 2]
    with pytest.raises(ActionError, match="on the agenda already"):
        agenda.agenda_item_restore(item=items[0], actor=manan_staff)
    agenda.agenda_item_remove(item=items[1], actor=manan_staff)
    item, _ = agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=items[1].issue)
    assert item.pk == items[1].pk
    assert item.removed_at is None and item.removed_by is None
    assert AgendaItem.objects.filter(meeting=meeting).count() == 3


# --- Deferring ----------------------------------------------------------------------------


def test_deferring_moves_an_item_to_the_next_scheduled_meeting(
    meeting, later, items, manan, manan_staff
):
    make_meeting(manan, days_ahead(8), state="cancelled")  # skipped
    make_meeting(manan, days_ahead(20))  # not the next one
    AgendaItem.objects.create(meeting=later, issue=awaiting(manan, manan_staff, title="先到"))
    topic = agenda.agenda_topic_add(meeting=meeting, actor=manan_staff, topic="志愿者排班")
    moved = agenda.agenda_item_defer(item=items[0], actor=manan_staff)
    agenda.agenda_item_defer(item=topic, actor=manan_staff)
    assert moved.meeting == later
    assert titles(later) == ["先到", "楼道堆物", "志愿者排班"]
    assert titles(meeting) == ["晾衣场地", "饮水机"]
    assert positions(meeting) == [0, 1]
    here = AgendaItem.objects.get(pk=items[0].pk)
    assert here.moved_to == later and here.removed_by == manan_staff
    # Agenda editing, not the council's decision: the issue still awaits deliberation.
    assert Issue.objects.get(pk=items[0].issue_id).status == "awaiting"
    with pytest.raises(ActionError, match="deferred to the meeting of"):
        agenda.agenda_item_restore(item=here, actor=manan_staff)


def test_deferring_without_a_later_meeting_is_refused(meeting, items, manan_staff):
    before = snapshot()
    with pytest.raises(ActionError, match="no later meeting"):
        agenda.agenda_item_defer(item=items[0], actor=manan_staff)
    decide(items[1], manan_staff)
    with pytest.raises(ActionError, match="can no longer be deferred"):
        agenda.agenda_item_defer(item=items[1], actor=manan_staff)
    assert [row for row in snapshot() if row[0] != items[1].pk] == [
        row for row in before if row[0] != items[1].pk
    ]


def test_deferring_to_a_meeting_the_issue_was_taken_off_puts_it_back_there(
    meeting, later, items, manan_staff
):
    earlier_row = AgendaItem.objects.create(meeting=later, issue=items[0].issue, position=0)
    agenda.agenda_item_remove(item=earlier_row, actor=manan_staff)
    moved = agenda.agenda_item_defer(item=items[0], actor=manan_staff)
    assert moved.pk == earlier_row.pk
    assert titles(later) == ["楼道堆物"]
    # The council's "defer" decision carries over the same way.
    agenda.agenda_item_remove(item=moved, actor=manan_staff)
    quorum_present(meeting, manan_staff)
    running.decision_record(item=items[1], actor=manan_staff, outcome="defer", notes="材料不全")
    assert titles(later) == ["晾衣场地"]


# --- Held and cancelled meetings ------------------------------------------------------------


@pytest.mark.parametrize("state", ["held", "cancelled"])
def test_the_agenda_of_a_held_or_cancelled_meeting_does_not_change(
    state, meeting, later, items, manan, manan_staff
):
    Meeting.objects.filter(pk=meeting.pk).update(state=state)
    issue = awaiting(manan, manan_staff)
    before = snapshot()
    expected = "closed" if state == "held" else "cancelled"
    attempts = [
        lambda: agenda.agenda_item_move(item=items[1], actor=manan_staff, direction="up"),
        lambda: agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=issue),
        lambda: agenda.agenda_topic_add(meeting=meeting, actor=manan_staff, topic="新议题"),
        lambda: agenda.agenda_item_remove(item=items[0], actor=manan_staff),
        lambda: agenda.agenda_item_restore(item=items[0], actor=manan_staff),
        lambda: agenda.agenda_item_defer(item=items[0], actor=manan_staff),
    ]
    for attempt in attempts:
        with pytest.raises(ActionError, match=f"{expected}; its agenda can no longer"):
            attempt()
    assert snapshot() == before


# --- Views ----------------------------------------------------------------------------------


def detail(meeting) -> str:
    return reverse("meetings:detail", args=[meeting.pk])


def test_staff_reorder_with_htmx_and_get_the_agenda_section_back(
    meeting, items, manan_staff, as_user
):
    client = in_english(as_user(manan_staff))
    url = reverse("meetings:agenda_move", args=[meeting.pk, items[2].pk])
    # The first and the moved item are open on the page: they stay open.
    response = client.post(
        url, {"direction": "up", "open": [items[0].pk, items[2].pk]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="agenda"')
    assert f'id="decide-{items[1].pk}"' not in html  # closed: only its "Open" link
    assert html.index("饮水机") < html.index("晾衣场地")
    # The decision forms come back marked to keep what staff typed into them.
    assert f'id="decide-{items[0].pk}"' in html and 'hx-preserve="true"' in html
    assert titles(meeting) == ["楼道堆物", "饮水机", "晾衣场地"]
    # Without JavaScript: a plain post and a redirect back to the agenda.
    plain = client.post(url, {"direction": "up"})
    assert plain.status_code == 302
    assert plain["Location"] == detail(meeting) + "#agenda"
    assert titles(meeting) == ["饮水机", "楼道堆物", "晾衣场地"]


def test_a_refusal_comes_back_as_a_message(meeting, items, manan_staff, as_user):
    decide(items[0], manan_staff)
    client = in_english(as_user(manan_staff))
    url = reverse("meetings:agenda_remove", args=[meeting.pk, items[0].pk])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "it stays on the agenda as the record" in response.content.decode()
    plain = client.post(url)
    assert plain.status_code == 302
    assert any("as the record" in str(m) for m in get_messages(plain.wsgi_request))
    assert AgendaItem.objects.get(pk=items[0].pk).removed_at is None


def test_the_page_offers_tools_only_where_they_apply(meeting, later, items, manan_staff, as_user):
    decide(items[0], manan_staff)
    client = in_english(as_user(manan_staff))
    page = client.get(detail(meeting), {"open": [items[0].pk, items[1].pk]})
    rows = page.context["rows"]
    assert [(item.can_move_up, item.can_move_down) for item, _ in rows] == [
        (False, False),  # decided: stays
        (False, True),  # would pass the decided item
        (True, False),
    ]
    html = page.content.decode()
    assert reverse("meetings:agenda_remove", args=[meeting.pk, items[0].pk]) not in html
    assert reverse("meetings:agenda_remove", args=[meeting.pk, items[1].pk]) in html
    assert f"Defer to {timezone.localtime(later.starts_at):%m-%d}" in html


def test_taking_off_and_putting_back_through_the_page(meeting, items, manan_staff, as_user):
    client = in_english(as_user(manan_staff))
    remove = reverse("meetings:agenda_remove", args=[meeting.pk, items[1].pk])
    response = client.post(remove, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "“晾衣场地” was taken off the agenda." in html
    assert "Taken off the agenda (1)" in html
    restore = reverse("meetings:agenda_restore", args=[meeting.pk, items[1].pk])
    assert restore in html
    response = client.post(restore, HTTP_HX_REQUEST="true")
    assert "“晾衣场地” is back on the agenda." in response.content.decode()
    assert titles(meeting) == ["楼道堆物", "饮水机", "晾衣场地"]


def test_deferring_through_the_page(meeting, later, items, manan_staff, as_user):
    client = in_english(as_user(manan_staff))
    url = reverse("meetings:agenda_defer", args=[meeting.pk, items[0].pk])
    response = client.post(url, HTTP_HX_REQUEST="true")
    day = f"{timezone.localtime(later.starts_at):%Y-%m-%d}"
    assert f"“楼道堆物” was deferred to the meeting of {day}." in response.content.decode()
    assert f'href="{detail(later)}"' in response.content.decode()
    assert titles(later) == ["楼道堆物"]


def test_adding_offers_awaiting_issues_first_and_says_when_one_moves(
    meeting, later, items, manan, manan_staff, as_user
):
    submitted = factories.issue(manan, actor=manan_staff, title="刚登记")
    waiting = awaiting(manan, manan_staff, title="排队中")
    AgendaItem.objects.create(meeting=later, issue=waiting)
    closed = awaiting(manan, manan_staff, title="已结案")
    Issue.objects.filter(pk=closed.pk).update(status="closed")
    client = in_english(as_user(manan_staff))
    assert client.get(detail(meeting)).context["issue_form"] is None  # loads when asked for
    form = client.get(detail(meeting), {"add": "issue"}).context["issue_form"]
    groups = form.fields["issue"].choices[1:]
    assert [str(group) for group, _ in groups] == ["Awaiting deliberation", "Other open issues"]
    day = f"{timezone.localtime(later.starts_at):%Y-%m-%d}"
    assert groups[0][1] == [(waiting.pk, f"排队中 (moves here from the meeting of {day})")]
    assert groups[1][1] == [(submitted.pk, "刚登记")]

    url = reverse("meetings:agenda_add_issue", args=[meeting.pk])
    response = client.post(url, {"add-issue-issue": waiting.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "“排队中” was added to the agenda." in html
    assert f"It was taken off the agenda of the meeting of {day}." in html
    assert titles(meeting)[-1] == "排队中"
    assert titles(later) == []


def test_bad_input_when_adding_keeps_what_was_typed(meeting, manan, xingfu, manan_staff, as_user):
    client = in_english(as_user(manan_staff))
    url = reverse("meetings:agenda_add_issue", args=[meeting.pk])
    nothing = client.post(url, {"add-issue-issue": ""})
    assert nothing.status_code == 422
    assert "Choose the issue to add." in nothing.content.decode()
    foreign = factories.issue(xingfu, title="别处的")
    wrong = client.post(url, {"add-issue-issue": foreign.pk}, HTTP_HX_REQUEST="true")
    assert wrong.status_code == 200  # htmx swaps the section in with its message
    assert "choose one from the list" in wrong.content.decode()

    topic_url = reverse("meetings:agenda_add_topic", args=[meeting.pk])
    long = "议" * 201
    page = client.post(topic_url, {"add-topic-topic": long})
    assert page.status_code == 422
    assert f'value="{long}"' in page.content.decode()
    assert "at most 200 characters" in page.content.decode()
    empty = client.post(topic_url, {"add-topic-topic": " "}, HTTP_HX_REQUEST="true")
    assert "Write the topic to put on the agenda." in empty.content.decode()
    assert not AgendaItem.objects.exists()
    ok = client.post(topic_url, {"add-topic-topic": "年终总结"})
    assert ok.status_code == 302
    assert titles(meeting) == ["年终总结"]


def test_a_held_meeting_shows_no_editing_tools(meeting, items, manan_staff, as_user):
    Meeting.objects.filter(pk=meeting.pk).update(state="held")
    client = in_english(as_user(manan_staff))
    page = client.get(detail(meeting))
    html = page.content.decode()
    assert "issue_form" not in page.context
    assert reverse("meetings:agenda_remove", args=[meeting.pk, items[0].pk]) not in html
    assert reverse("meetings:agenda_add_topic", args=[meeting.pk]) not in html
    assert all(form is None for _, form in page.context["rows"])
    response = client.post(
        reverse("meetings:agenda_add_topic", args=[meeting.pk]),
        {"add-topic-topic": "补充"},
        HTTP_HX_REQUEST="true",
    )
    assert "This meeting has been closed; its agenda can no longer change." in (
        response.content.decode()
    )


def editing_urls(meeting, item) -> list[tuple[str, dict]]:
    return [
        (reverse("meetings:agenda_move", args=[meeting.pk, item.pk]), {"direction": "down"}),
        (reverse("meetings:agenda_remove", args=[meeting.pk, item.pk]), {}),
        (reverse("meetings:agenda_restore", args=[meeting.pk, item.pk]), {}),
        (reverse("meetings:agenda_defer", args=[meeting.pk, item.pk]), {}),
        (reverse("meetings:agenda_add_issue", args=[meeting.pk]), {"add-issue-issue": "1"}),
        (reverse("meetings:agenda_add_topic", args=[meeting.pk]), {"add-topic-topic": "x"}),
    ]


def test_members_and_street_admins_may_see_but_not_edit(
    meeting, later, items, manan_member, nanen_admin, as_user
):
    before = snapshot()
    for person in (manan_member, nanen_admin):
        client = as_user(person)
        assert client.get(detail(meeting)).status_code == 200
        for url, payload in editing_urls(meeting, items[0]):
            assert client.post(url, payload).status_code == 403, url
            assert client.post(url, payload, HTTP_HX_REQUEST="true").status_code == 403, url
    assert snapshot() == before


def test_another_meetings_item_under_ones_own_meeting_is_not_found(
    meeting, later, items, manan, manan_staff, as_user
):
    other = AgendaItem.objects.create(meeting=later, issue=awaiting(manan, manan_staff))
    client = as_user(manan_staff)
    before = snapshot()
    for url, payload in editing_urls(meeting, other)[:4]:
        assert client.post(url, payload).status_code == 404, url
    assert snapshot() == before
