"""Outside parties at a meeting (联建联动): units based in the area and cadres sent down are
invited and told once, sign in, attend without a vote unless given one, and appear so in
the minutes; a cadre sees only the meetings and matters they were invited to."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from deliberation import minutes_text, queries
from deliberation.actions import guests, running
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Decision, MeetingGuest, Vote
from issues.actions import handling
from issues.models import Event, Issue
from members.models import Notice, OutsideUnit, PhoneReveal
from tests import factories
from tests.helpers.clock import local
from tests.helpers.meetings import quorum_present, sign_in

STARTS = local(2026, 11, 28, 15)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def meeting(manan):
    return factories.meeting(manan, STARTS)


@pytest.fixture
def seven_members(manan, manan_leader_term) -> list:
    """The leader and six more: seven active members, four of them make a quorum."""
    return [manan_leader_term] + [factories.council_member(manan) for _ in range(6)]


@pytest.fixture
def unit(manan) -> OutsideUnit:
    return OutsideUnit.objects.create(
        community=manan, name="区供电所", contact_name="周师傅", phone="13900001111"
    )


@pytest.fixture
def cadre():
    return factories.user("manan_cadre", display_name="下沉干部 孙", phone="13700002222")


@pytest.fixture
def item(meeting, manan, manan_staff) -> AgendaItem:
    issue = factories.issue(manan, actor=manan_staff, title="路灯不亮")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    return AgendaItem.objects.create(meeting=meeting, issue=issue, position=0)


def invite(meeting, staff, **kwargs) -> MeetingGuest:
    return guests.guest_invite(meeting=meeting, actor=staff, **kwargs)


def guest_sign_in(guest, staff):
    with time_machine.travel(guest.meeting.starts_at, tick=True):
        return guests.guest_sign_in(guest=guest, actor=staff, how="staff")


def written() -> tuple:
    return (
        Decision.objects.count(),
        Vote.objects.count(),
        Event.objects.count(),
        list(Issue.objects.values_list("pk", "status", "version")),
    )


# --- Notices ------------------------------------------------------------------------------


def test_a_unit_and_a_cadre_are_told_of_the_meeting_once(
    meeting, unit, cadre, manan_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        unit_guest = invite(meeting, manan_staff, unit=unit)
        cadre_guest = invite(meeting, manan_staff, cadre=cadre)
    texts = Notice.objects.filter(kind="meeting_guest_unit")
    assert list(texts.values_list("phone", flat=True)) == ["13900001111"]
    assert "区供电所" in texts.get().context["unit"]
    assert Notice.objects.filter(kind="meeting_guest_invited", recipient=cadre).count() == 1
    # Told once: inviting again is refused, and the notices' keys send nothing twice.
    with pytest.raises(ActionError, match="already invited"):
        invite(meeting, manan_staff, unit=unit)
    guests._notify(unit_guest, meeting)
    guests._notify(cadre_guest, meeting)
    assert Notice.objects.filter(kind__startswith="meeting_guest").count() == 2


def test_a_unit_of_another_community_or_an_account_with_a_role_cannot_be_invited(
    meeting, xingfu, manan_staff, manan_member
):
    other = OutsideUnit.objects.create(
        community=xingfu, name="幸福小学", contact_name="李老师", phone="13900003333"
    )
    with pytest.raises(ActionError, match="Only units based in this community"):
        invite(meeting, manan_staff, unit=other)
    with pytest.raises(ActionError, match="role of their own"):
        invite(meeting, manan_staff, cadre=manan_member)
    assert not MeetingGuest.objects.exists()


# --- Votes and quorum ---------------------------------------------------------------------


def test_a_guest_without_a_vote_who_votes_is_refused_and_nothing_is_written(
    meeting, item, unit, manan_staff, manan, seven_members
):
    guest = invite(meeting, manan_staff, unit=unit)
    quorum_present(meeting, manan_staff)
    guest_sign_in(guest, manan_staff)
    before = written()
    with pytest.raises(ActionError, match="attends without a vote"):
        running.decision_record(
            item=item,
            actor=manan_staff,
            outcome=Decision.Outcome.REFER_TO_COMMUNITY,
            notes="",
            guest_votes={guest.pk: "for"},
        )
    assert written() == before


def test_the_decision_page_refuses_a_guests_vote_with_a_message(
    meeting, item, unit, manan_staff, seven_members, as_user
):
    guest = invite(meeting, manan_staff, unit=unit)
    quorum_present(meeting, manan_staff)
    guest_sign_in(guest, manan_staff)
    before = written()
    prefix = f"item-{item.pk}"
    with time_machine.travel(STARTS, tick=True):
        response = as_user(manan_staff).post(
            reverse("meetings:decide", args=[meeting.pk, item.pk]),
            {
                f"{prefix}-outcome": Decision.Outcome.REFER_TO_COMMUNITY,
                f"{prefix}-notes": "交社区协调",
                f"{prefix}-guest_vote_{guest.pk}": "for",
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 422
    assert "区供电所 attends without a vote" in response.content.decode()
    assert "交社区协调" in response.content.decode()  # what was typed stays
    assert written() == before


def test_a_guest_cannot_record_a_decision(meeting, item, cadre, manan_staff, as_user):
    invite(meeting, manan_staff, cadre=cadre)
    before = written()
    response = as_user(cadre).post(
        reverse("meetings:decide", args=[meeting.pk, item.pk]),
        {f"item-{item.pk}-outcome": Decision.Outcome.NOT_ACTIONABLE},
    )
    assert response.status_code == 403
    assert written() == before


def test_guests_never_count_towards_the_quorum(meeting, unit, cadre, manan_staff, seven_members):
    unit_guest = invite(meeting, manan_staff, unit=unit, may_vote=True)
    cadre_guest = invite(meeting, manan_staff, cadre=cadre)
    sign_in(meeting, seven_members[:3], manan_staff)  # 3 of 7: four make a quorum
    guest_sign_in(unit_guest, manan_staff)
    guest_sign_in(cadre_guest, manan_staff)
    assert queries.quorum(meeting) == (3, 4, False)


def test_a_guest_given_a_vote_votes_with_the_members(
    meeting, item, unit, cadre, manan_staff, seven_members
):
    voting = invite(meeting, manan_staff, unit=unit, may_vote=True)
    silent = invite(meeting, manan_staff, cadre=cadre)
    present = quorum_present(meeting, manan_staff)
    guest_sign_in(voting, manan_staff)
    guest_sign_in(silent, manan_staff)
    with time_machine.travel(STARTS, tick=True):
        # Four members and one voting guest: five votes at most, the silent guest not one.
        with pytest.raises(ActionError, match="only 5 members are present"):
            running.decision_record(
                item=item,
                actor=manan_staff,
                outcome=Decision.Outcome.REFER_TO_COMMUNITY,
                notes="",
                tally=running.Tally(6, 0, 0),
            )
        decision = running.decision_record(
            item=item,
            actor=manan_staff,
            outcome=Decision.Outcome.REFER_TO_COMMUNITY,
            notes="",
            votes={term.pk: "for" for term in present},
            guest_votes={voting.pk: "against"},
        )
    assert (decision.votes_for, decision.votes_against, decision.votes_abstain) == (4, 1, 0)


def test_a_vote_is_given_only_before_the_meeting_begins(meeting, unit, manan_staff):
    guest = invite(meeting, manan_staff, unit=unit)
    guests.guest_vote_set(guest=guest, actor=manan_staff, may_vote=True)
    assert MeetingGuest.objects.get().may_vote
    with (
        time_machine.travel(STARTS, tick=True),
        pytest.raises(ActionError, match="before the meeting begins"),
    ):
        guests.guest_vote_set(guest=guest, actor=manan_staff, may_vote=False)
    assert MeetingGuest.objects.get().may_vote


# --- Signing in ---------------------------------------------------------------------------


def test_a_cadre_signs_in_on_their_phone_once(meeting, cadre, manan_staff, as_user):
    invite(meeting, manan_staff, cadre=cadre)
    url = reverse("meetings:guest_sign_in", args=[meeting.pk])
    with time_machine.travel(STARTS, tick=True):
        client = as_user(cadre)
        assert client.post(url).status_code == 302
        again = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        assert "already signed in" in again.content.decode()
        page = client.get(reverse("meetings:detail", args=[meeting.pk]), HTTP_ACCEPT_LANGUAGE="en")
    guest = MeetingGuest.objects.get()
    assert guest.how == "self" and guest.signed_in_by == cadre
    assert "You are signed in." in page.content.decode()


def test_signing_in_before_the_window_is_refused(meeting, unit, manan_staff):
    guest = invite(meeting, manan_staff, unit=unit)
    with pytest.raises(ActionError, match="Signing in opens at"):
        guests.guest_sign_in(guest=guest, actor=manan_staff, how="staff")
    assert MeetingGuest.objects.get().signed_in_at is None


# --- Minutes ------------------------------------------------------------------------------


def test_the_minutes_list_guests_as_attending_without_a_vote(meeting, unit, cadre, manan_staff):
    guest_unit = invite(meeting, manan_staff, unit=unit)
    invite(meeting, manan_staff, cadre=cadre, may_vote=True)
    guest_sign_in(guest_unit, manan_staff)
    with translation.override("zh-hans"):
        _title, text = minutes_text.compose(meeting)
    assert "区供电所（联系人：周师傅）" in text
    assert "列席（无表决权）" in text
    assert "下沉干部 孙" in text and "有表决权" in text


# --- A cadre's scope ----------------------------------------------------------------------


@pytest.mark.outsider("meetings:detail", "issues:detail")
def test_a_cadre_sees_only_the_meetings_and_matters_they_were_invited_to(
    meeting, item, cadre, manan, manan_staff, as_user
):
    other_meeting = factories.meeting(manan, local(2026, 12, 8, 15))
    other_issue = factories.issue(manan, actor=manan_staff, title="别的事")
    invite(meeting, manan_staff, cadre=cadre)
    client = as_user(cadre)
    assert client.get(reverse("meetings:detail", args=[meeting.pk])).status_code == 200
    assert client.get(reverse("issues:detail", args=[item.issue_id])).status_code == 200
    assert client.get(reverse("meetings:detail", args=[other_meeting.pk])).status_code == 404
    assert client.get(reverse("issues:detail", args=[other_issue.pk])).status_code == 404
    assert client.get(reverse("home")).url == reverse("meetings:list")
    # The meeting's page offers no link to the council's pages the cadre cannot open.
    page = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert reverse("minutes:archive", args=[meeting.council_id]) not in page
    listed = client.get(reverse("meetings:list")).content.decode()
    assert reverse("meetings:detail", args=[meeting.pk]) in listed
    assert reverse("meetings:detail", args=[other_meeting.pk]) not in listed


@pytest.mark.outsider("meetings:guest_invite", "meetings:guest_vote", "meetings:guest_sign_in")
def test_staff_of_another_community_cannot_touch_a_meetings_guests(
    meeting, unit, cadre, manan_staff, xingfu_staff, as_user
):
    guest = invite(meeting, manan_staff, unit=unit)
    client = as_user(xingfu_staff)
    answers = [
        client.post(
            reverse("meetings:guest_invite", args=[meeting.pk]), {"username": cadre.username}
        ),
        client.post(
            reverse("meetings:guest_vote", args=[meeting.pk, guest.pk]), {"may_vote": "on"}
        ),
        client.post(reverse("meetings:guest_sign_in", args=[meeting.pk]), {"guest": guest.pk}),
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    guest.refresh_from_db()
    assert MeetingGuest.objects.count() == 1 and not guest.may_vote and guest.signed_in_at is None


@pytest.mark.outsider("meetings:guest_sign_in")
def test_a_cadre_invited_elsewhere_cannot_sign_in_here(meeting, manan, cadre, manan_staff, as_user):
    elsewhere = factories.meeting(manan, local(2026, 12, 8, 15))
    invite(elsewhere, manan_staff, cadre=cadre)
    with time_machine.travel(STARTS, tick=True):
        response = as_user(cadre).post(reverse("meetings:guest_sign_in", args=[meeting.pk]))
    assert response.status_code == 404
    assert MeetingGuest.objects.filter(signed_in_at__isnull=False).count() == 0


# --- Units based in the area --------------------------------------------------------------


def test_staff_add_a_unit_whose_phone_shows_masked(manan, manan_staff, as_user):
    client = as_user(manan_staff)
    url = reverse("members:units", args=[manan.pk])
    response = client.post(
        url, {"name": "马南小学", "contact_name": "王老师", "phone": "139-0000-4444"}
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "马南小学" in page and "13900004444" not in page and "139****4444" in page
    bad = client.post(url, {"name": "马南小学", "contact_name": "王老师", "phone": "13900004444"})
    assert bad.status_code == 422 and "马南小学 已在名单中" in bad.content.decode()
    assert OutsideUnit.objects.count() == 1


@pytest.mark.outsider("members:units", "members:unit_phone")
def test_a_units_phone_is_revealed_on_the_record_and_only_to_its_staff(
    unit, manan, manan_staff, xingfu_staff, as_user
):
    url = reverse("members:unit_phone", args=[manan.pk, unit.pk])
    assert as_user(xingfu_staff).get(reverse("members:units", args=[manan.pk])).status_code == 404
    assert as_user(xingfu_staff).post(url).status_code == 404
    assert not PhoneReveal.objects.exists()
    response = as_user(manan_staff).post(url)
    assert "13900001111" in response.content.decode()
    reveal = PhoneReveal.objects.get()
    assert (reveal.actor, reveal.unit, reveal.resident) == (manan_staff, unit, None)


def test_staff_invite_a_unit_and_a_cadre_from_the_meeting_page(
    meeting, unit, cadre, manan_staff, as_user
):
    client = as_user(manan_staff)
    url = reverse("meetings:guest_invite", args=[meeting.pk])
    client.post(url, {"unit": unit.pk})
    client.post(url, {"username": "manan_cadre", "may_vote": "on"})
    missing = client.post(url, {"username": "nobody"}, follow=True)
    assert "没有名为“nobody”的下沉干部账号" in missing.content.decode()
    assert set(MeetingGuest.objects.values_list("unit_id", "user_id", "may_vote")) == {
        (unit.pk, None, False),
        (None, cadre.pk, True),
    }
