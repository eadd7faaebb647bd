"""Urgent convening: an urgent issue gets a meeting now, and its people are told at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation

from deliberation import queries
from deliberation.actions import urgent as urgent_actions
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Meeting
from issues.actions import handling
from members.models import CouncilMember, Notice, Role
from tests import factories


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def account_for(term: CouncilMember, username: str):
    user = factories.user(username)
    factories.role(user, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return user


def later(hours: int = 2) -> dt.datetime:
    return (timezone.now() + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


@pytest.fixture
def urgent(manan, manan_staff):
    reporter = factories.resident(manan, "李四", lane="光明里", building="3栋")
    return factories.issue(
        manan, actor=manan_staff, is_urgent=True, reporter=reporter, place="光明里3栋楼道"
    )


def recipients(meeting) -> list[str]:
    keys = Notice.objects.filter(kind="meeting_urgent", channel="inapp").values_list(
        "recipient__username", flat=True
    )
    return sorted(keys)


def test_convening_tells_members_and_matching_leaders_once(
    manan, xingfu, manan_staff, manan_member, urgent, django_capture_on_commit_callbacks
):
    ordinary = account_for(factories.council_member(manan), "ordinary")
    lane_leader = account_for(
        factories.council_member(manan, is_lane_leader=True, covers_lane="光明里"), "lane"
    )
    elsewhere = factories.council_member(manan, is_building_leader=True, covers_building="9栋")
    account_for(elsewhere, "elsewhere")
    party = factories.council_member(
        manan, factories.resident(manan, building="3栋"), is_party_household=True
    )
    account_for(party, "party")
    # Same lane name, other council: not told.
    account_for(
        factories.council_member(xingfu, is_lane_leader=True, covers_lane="光明里"), "xingfu_lane"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        meeting = urgent_actions.meeting_convene_urgent(
            issue=urgent, actor=manan_staff, starts_at=later(), place="议事点"
        )
    assert callbacks  # delivery is enqueued on commit
    meeting.refresh_from_db()
    assert meeting.kind == Meeting.Kind.URGENT
    assert meeting.notice_sent_at is not None
    assert [(i.issue_id, i.position) for i in meeting.agenda_items.all()] == [(urgent.pk, 0)]
    assert recipients(meeting) == sorted(["manan_member", "ordinary", "lane", "elsewhere", "party"])
    assert Notice.objects.filter(kind="meeting_urgent", recipient=lane_leader).count() == 1
    assert Notice.objects.filter(key=f"meeting_urgent:{meeting.pk}:{ordinary.pk}:inapp").exists()
    local = {term.pk for term in queries.local_leaders(urgent, manan.council.pk)}
    assert elsewhere.pk not in local
    assert party.pk in local


def test_convening_moves_the_issue_off_an_unannounced_agenda(manan, manan_staff, urgent):
    starts = later(72)
    regular = Meeting.objects.create(
        council=manan.council, starts_at=starts, notice_due_at=starts - dt.timedelta(days=1)
    )
    AgendaItem.objects.create(meeting=regular, issue=urgent)
    meeting = urgent_actions.meeting_convene_urgent(
        issue=urgent, actor=manan_staff, starts_at=later(), place="议事点"
    )
    assert list(AgendaItem.objects.filter(issue=urgent).values_list("meeting_id", flat=True)) == [
        meeting.pk
    ]


def test_a_time_in_the_past_is_refused(manan_staff, urgent):
    with pytest.raises(ActionError, match="past"):
        urgent_actions.meeting_convene_urgent(
            issue=urgent, actor=manan_staff, starts_at=later(-1), place="议事点"
        )
    assert not Meeting.objects.exists()
    assert not Notice.objects.filter(kind="meeting_urgent").exists()


def test_a_closed_issue_is_refused(manan_staff, urgent):
    handling.issue_transition(issue=urgent, actor=manan_staff, name="accept")
    urgent.status = "closed"
    urgent.save(update_fields=["status"])
    with pytest.raises(ActionError, match="open issue"):
        urgent_actions.meeting_convene_urgent(
            issue=urgent, actor=manan_staff, starts_at=later(), place="议事点"
        )


def test_the_view_convenes_and_a_second_call_at_the_same_time_gets_a_message(
    manan_staff, manan_member, urgent, as_user
):
    client = in_english(as_user(manan_staff))
    page = client.get(reverse("issues:detail", args=[urgent.pk]))
    assert page.context["convene_form"] is not None
    assert b'type="datetime-local"' in page.content
    when = timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M")
    url = reverse("meetings:convene", args=[urgent.pk])
    response = client.post(url, {"starts_at": when, "place": "议事点"})
    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[meeting.pk])
    again = client.post(url, {"starts_at": when, "place": "议事点"})
    assert again["Location"] == reverse("issues:detail", args=[urgent.pk])
    assert any("already has a meeting" in str(m) for m in get_messages(again.wsgi_request))
    assert Meeting.objects.count() == 1
    assert Notice.objects.filter(kind="meeting_urgent", recipient=manan_member).count() == 1


def test_the_view_refuses_a_past_time(manan_staff, urgent, as_user):
    client = in_english(as_user(manan_staff))
    when = timezone.localtime(later(-2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("meetings:convene", args=[urgent.pk]), {"starts_at": when, "place": "议事点"}
    )
    assert response.status_code == 302
    assert any("past" in str(m) for m in get_messages(response.wsgi_request))
    assert not Meeting.objects.exists()


def test_the_leader_may_convene(manan_member, urgent, as_user):
    client = as_user(manan_member)
    when = timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("meetings:convene", args=[urgent.pk]), {"starts_at": when, "place": "议事点"}
    )
    assert response.status_code == 302
    assert Meeting.objects.filter(kind="urgent").count() == 1


@pytest.mark.outsider("meetings:convene")
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_another_communitys_issue_is_not_found(request, outsider, htmx, urgent, as_user):
    client = as_user(request.getfixturevalue(outsider))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = reverse("meetings:convene", args=[urgent.pk])
    when = timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M")
    before = (Notice.objects.count(), AgendaItem.objects.count())
    assert client.post(url, {"starts_at": when, "place": "x"}, **headers).status_code == 404
    assert not Meeting.objects.exists()
    assert (Notice.objects.count(), AgendaItem.objects.count()) == before


def test_a_plain_member_may_not_convene(manan, urgent, as_user):
    plain = account_for(factories.council_member(manan), "plain")
    client = as_user(plain)
    page = client.get(reverse("issues:detail", args=[urgent.pk]))
    assert page.context["convene_form"] is None
    response = client.post(
        reverse("meetings:convene", args=[urgent.pk]),
        {"starts_at": timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M"), "place": "x"},
    )
    assert response.status_code == 403
    assert not Meeting.objects.exists()
