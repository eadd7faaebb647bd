"""Joint meetings of several councils (联席会议): a community's staff or the street's admin
make a council's meeting joint with other councils; their members are told once, see the
meeting and sign in, count towards one quorum, and their communities' matters go on the
one agenda and are decided there as the host's are."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from deliberation import minutes_text, queries
from deliberation.actions import agenda, guests, joint, notices, parties, running
from deliberation.actions.base import ActionError
from deliberation.models import Attendance, JointCouncil, JointCouncilChange, Meeting
from issues.actions import handling
from issues.models import Event
from members.models import Notice, Role
from tests import factories
from tests.helpers.clock import local
from tests.helpers.meetings import sign_in

STARTS = local(2026, 11, 28, 15)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def as_user(as_user):
    """A logged-in client whose pages come in English."""

    def english_client(user):
        client = as_user(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return english_client


@pytest.fixture
def meeting(manan):
    return factories.meeting(manan, STARTS)


@pytest.fixture
def xingfu_council(xingfu):
    return xingfu.council


@pytest.fixture
def xingfu_term(xingfu):
    return factories.council_member(xingfu, factories.resident(xingfu, "李桂兰"))


@pytest.fixture
def xingfu_member(xingfu_term):
    account = factories.user("xingfu_member", display_name="李桂兰")
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=xingfu_term)
    return account


@pytest.fixture
def beishan_member(beishan):
    term = factories.council_member(beishan, factories.resident(beishan, "赵北山"))
    account = factories.user("beishan_member", display_name="赵北山")
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return account


def joined(meeting, actor, *councils):
    return joint.joined_councils_set(meeting=meeting, actor=actor, councils=councils)


def open_issue(community, actor, title):
    issue = factories.issue(community, actor=actor, title=title)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


# --- Making a meeting joint ----------------------------------------------------------------


def test_street_admin_joins_a_council_of_another_community_and_it_is_logged(
    meeting, xingfu_council, nanen_admin, as_user
):
    response = as_user(nanen_admin).post(
        reverse("meetings:joint_councils", args=[meeting.pk]), {"councils": [xingfu_council.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[meeting.pk])
    assert list(meeting.joined_councils.all()) == [xingfu_council]
    change = JointCouncilChange.objects.get()
    assert (change.council, change.change, change.actor) == (xingfu_council, "joined", nanen_admin)
    page = as_user(nanen_admin).get(reverse("meetings:detail", args=[meeting.pk]))
    assert "幸福村社区居民议事会" in page.content.decode()


def test_staff_of_two_communities_join_their_councils_and_take_one_off(
    meeting, manan, xingfu, xingfu_council, manan_staff
):
    factories.role(manan_staff, Role.Kind.COMMUNITY_STAFF, community=xingfu)
    manan_staff.__dict__.pop("_yishi_scope", None)

    added, removed = joined(meeting, manan_staff, xingfu_council)
    assert (added, removed) == ([xingfu_council], [])
    added, removed = joined(meeting, manan_staff)
    assert (added, removed) == ([], [xingfu_council])

    assert not JointCouncil.objects.exists()
    assert list(JointCouncilChange.objects.values_list("change", flat=True)) == ["joined", "left"]


def test_staff_cannot_join_the_council_of_a_community_they_do_not_serve(
    meeting, xingfu_council, manan_staff, as_user
):
    response = as_user(manan_staff).post(
        reverse("meetings:joint_councils", args=[meeting.pk]), {"councils": [xingfu_council.pk]}
    )

    assert response.status_code == 422
    assert "only the street&#x27;s admin can join councils of several communities" in (
        response.content.decode()
    )
    assert not JointCouncil.objects.exists()


def test_a_council_of_another_street_is_refused_with_the_choice_kept(
    meeting, xingfu_council, beishan, nanen_admin, as_user
):
    url = reverse("meetings:joint_councils", args=[meeting.pk])
    response = as_user(nanen_admin).post(url, {"councils": [xingfu_council.pk, beishan.council.pk]})

    assert response.status_code == 422
    page = response.content.decode()
    assert "A council of another street cannot join" in page
    # What was ticked stays ticked; the other street's council is not offered or named.
    assert f'value="{xingfu_council.pk}" checked' in page or (
        f'value="{xingfu_council.pk}"' in page and "checked" in page
    )
    assert "北山社区" not in page
    assert not JointCouncil.objects.exists()
    assert not JointCouncilChange.objects.exists()


def test_the_refusal_is_translated(meeting, xingfu_council, beishan, nanen_admin, as_user):
    client = as_user(nanen_admin)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    response = client.post(
        reverse("meetings:joint_councils", args=[meeting.pk]), {"councils": [beishan.council.pk]}
    )
    assert response.status_code == 422
    assert "其他街道的议事会不能加入" in response.content.decode()


def test_a_closed_meeting_takes_no_council(meeting, xingfu_council, nanen_admin, manan_staff):
    Meeting.objects.filter(pk=meeting.pk).update(state=Meeting.State.HELD)
    with pytest.raises(ActionError):
        joined(meeting, nanen_admin, xingfu_council)


@pytest.mark.outsider("meetings:joint_councils", "meetings:street_joint_meetings")
def test_outsiders_get_404_on_every_new_page(
    meeting, xingfu_council, nanen, other_admin, beishan_member, as_user
):
    for user in (other_admin, beishan_member):
        client = as_user(user)
        url = reverse("meetings:joint_councils", args=[meeting.pk])
        assert client.get(url).status_code == 404
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
        assert client.post(url, {"councils": [xingfu_council.pk]}).status_code == 404
    street_url = reverse("meetings:street_joint_meetings", args=[nanen.pk])
    assert as_user(other_admin).get(street_url).status_code == 404
    when = {"host": meeting.council.pk, "councils": [xingfu_council.pk]}
    assert as_user(other_admin).post(street_url, when).status_code == 404
    assert not JointCouncil.objects.exists()
    assert Meeting.objects.count() == 1


def test_a_member_may_see_but_not_change_the_councils(meeting, manan_member, as_user):
    url = reverse("meetings:joint_councils", args=[meeting.pk])
    assert as_user(manan_member).get(url).status_code == 403


def test_the_form_loads_as_a_partial_for_htmx(meeting, xingfu_council, nanen_admin, as_user):
    response = as_user(nanen_admin).get(
        reverse("meetings:joint_councils", args=[meeting.pk]), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "幸福村社区居民议事会" in page


# --- The street convenes -----------------------------------------------------------------


def test_street_admin_convenes_a_joint_meeting(
    manan, xingfu_council, nanen, nanen_admin, xingfu_member, as_user
):
    url = reverse("meetings:street_joint_meetings", args=[nanen.pk])
    form = as_user(nanen_admin).get(url)
    assert form.status_code == 200
    response = as_user(nanen_admin).post(
        url,
        {
            "host": manan.council.pk,
            "councils": [xingfu_council.pk],
            "starts_at": "2026-11-25T09:30",
            "place": "街道会议室",
        },
    )

    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[meeting.pk])
    assert meeting.council == manan.council
    assert meeting.convened_by_street == nanen
    assert list(meeting.joined_councils.all()) == [xingfu_council]
    assert "2026-11-25 09:30" in as_user(nanen_admin).get(url).content.decode()
    # The joined council's member sees it among their meetings.
    mine = as_user(xingfu_member).get(reverse("meetings:mine")).content.decode()
    assert reverse("meetings:detail", args=[meeting.pk]) in mine
    # It is called what it is, not an urgent meeting, wherever the meeting is named.
    page = as_user(xingfu_member).get(reverse("meetings:detail", args=[meeting.pk])).text
    for text in (mine, page):  # this member reads English
        assert "joint meeting" in text.lower()
        assert "urgent meeting" not in text.lower()


def test_street_convening_with_another_streets_council_is_refused_and_keeps_the_form(
    manan, beishan, nanen, nanen_admin, as_user
):
    response = as_user(nanen_admin).post(
        reverse("meetings:street_joint_meetings", args=[nanen.pk]),
        {
            "host": manan.council.pk,
            "councils": [beishan.council.pk],
            "starts_at": "2026-11-25T09:30",
            "place": "街道会议室",
        },
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "A council of another street cannot join" in page
    assert 'value="街道会议室"' in page
    assert 'value="2026-11-25T09:30"' in page
    assert not Meeting.objects.exists()


def test_staff_cannot_convene_for_the_street(nanen, manan_staff, as_user):
    url = reverse("meetings:street_joint_meetings", args=[nanen.pk])
    assert as_user(manan_staff).get(url).status_code == 404


# --- Notices -------------------------------------------------------------------------------


def test_every_councils_members_are_told_once_each(
    meeting, manan, manan_member, manan_leader_term, xingfu_council, xingfu_member, nanen_admin
):
    # 王建国 also sits on 幸福村's council, with the same account.
    second = factories.council_member(
        xingfu_council.community, factories.resident(xingfu_council.community, "王建国")
    )
    factories.role(manan_member, Role.Kind.COUNCIL_MEMBER, council_member=second)
    joined(meeting, nanen_admin, xingfu_council)

    notices.meeting_notices_send(now=meeting.notice_due_at + dt.timedelta(minutes=1))
    notices.meeting_notices_send(now=meeting.notice_due_at + dt.timedelta(minutes=2))

    told = Notice.objects.filter(kind="meeting_notice", channel="inapp")
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "manan_member",
        "xingfu_member",
    ]
    assert told.first().context["council"] == "马南社区居民议事会、幸福村社区居民议事会"


def test_a_council_joined_after_the_notice_is_told_then_and_nobody_twice(
    meeting, manan_member, xingfu_council, xingfu_member, nanen_admin
):
    notices.meeting_notices_send(now=meeting.notice_due_at + dt.timedelta(minutes=1))
    Meeting.objects.filter(pk=meeting.pk).update(notice_sent_at=meeting.notice_due_at)
    joined(meeting, nanen_admin, xingfu_council)
    joined(meeting, nanen_admin)
    joined(meeting, nanen_admin, xingfu_council)

    told = Notice.objects.filter(kind="meeting_notice", channel="inapp")
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "manan_member",
        "xingfu_member",
    ]


# --- Who sees it, who signs in -----------------------------------------------------------


def test_a_joined_councils_member_sees_the_meeting_and_signs_in(
    meeting, xingfu_council, xingfu_member, xingfu_term, nanen_admin, as_user
):
    joined(meeting, nanen_admin, xingfu_council)
    client = as_user(xingfu_member)

    assert (
        reverse("meetings:detail", args=[meeting.pk])
        in client.get(reverse("meetings:mine")).content.decode()
    )
    assert client.get(reverse("meetings:detail", args=[meeting.pk])).status_code == 200
    with time_machine.travel(meeting.starts_at, tick=True):
        client = as_user(xingfu_member)  # logged in on the day: a session lasts hours
        response = client.post(reverse("meetings:sign_in", args=[meeting.pk]), follow=True)
    assert response.status_code == 200, response.content.decode()[-3000:]
    assert Attendance.objects.filter(meeting=meeting).count() == 1, response.redirect_chain
    assert Attendance.objects.get(meeting=meeting).member == xingfu_term


@pytest.mark.outsider("meetings:detail")
def test_a_member_of_an_unrelated_council_gets_404(
    meeting, xingfu_council, beishan_member, xingfu_member, nanen_admin, as_user
):
    joined(meeting, nanen_admin, xingfu_council)
    url = reverse("meetings:detail", args=[meeting.pk])
    assert as_user(beishan_member).get(url).status_code == 404
    # Taken off again, the joined council's member no longer sees it either.
    joined(meeting, nanen_admin)
    assert as_user(xingfu_member).get(url).status_code == 404


def test_the_joined_communitys_staff_run_the_meeting(
    meeting, xingfu_council, xingfu_term, xingfu_staff, nanen_admin, as_user
):
    joined(meeting, nanen_admin, xingfu_council)
    client = as_user(xingfu_staff)
    page = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert "Choose the councils" not in page  # the host's staff or the street choose them
    with time_machine.travel(meeting.starts_at, tick=True):
        response = as_user(xingfu_staff).post(
            reverse("meetings:sign_in", args=[meeting.pk]), {"member": xingfu_term.pk}
        )
    assert response.status_code == 302
    assert Attendance.objects.filter(meeting=meeting, member=xingfu_term).exists()


# --- Quorum --------------------------------------------------------------------------------


def test_the_quorum_is_counted_over_every_councils_members(
    meeting, manan, xingfu, xingfu_council, manan_staff, nanen_admin, as_user
):
    hosts = [factories.council_member(manan) for _ in range(3)]
    guests_ = [factories.council_member(xingfu) for _ in range(3)]
    joined(meeting, nanen_admin, xingfu_council)
    # Six active members: more than half is four.
    sign_in(meeting, hosts, manan_staff)
    assert queries.quorum(meeting) == (3, 4, False)
    sign_in(meeting, guests_[:1], manan_staff)
    assert queries.quorum(meeting) == (4, 4, True)

    page = as_user(manan_staff).get(reverse("meetings:detail", args=[meeting.pk]))
    text = page.content.decode()
    assert "Present: 4 / needed: 4" in text
    assert "The quorum counts the active members of all 2 councils" in text


def test_a_member_of_another_council_cannot_sign_in_at_a_meeting_not_joined(
    meeting, xingfu, manan_staff
):
    stranger = factories.council_member(xingfu)
    with time_machine.travel(meeting.starts_at, tick=True), pytest.raises(ActionError):
        running.attendance_sign_in(meeting=meeting, member=stranger, actor=manan_staff, how="staff")


# --- Agenda and decisions --------------------------------------------------------------------


def test_agenda_candidates_come_from_joined_communities_only(
    meeting, manan, xingfu, beishan, xingfu_council, manan_staff, xingfu_staff, nanen_admin
):
    ours = open_issue(manan, manan_staff, "楼道堆物")
    theirs = open_issue(xingfu, xingfu_staff, "健身器材损坏")
    beishan_staff = factories.user("beishan_staff")
    factories.role(beishan_staff, Role.Kind.COMMUNITY_STAFF, community=beishan)
    elsewhere = open_issue(beishan, beishan_staff, "北山的路灯")
    assert {i.pk for i in queries.agenda_candidates(meeting)} == {ours.pk}

    joined(meeting, nanen_admin, xingfu_council)
    meeting = Meeting.objects.get(pk=meeting.pk)

    assert {i.pk for i in queries.agenda_candidates(meeting)} == {ours.pk, theirs.pk}
    item, _ = agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=theirs)
    assert item.issue == theirs
    with pytest.raises(ActionError):
        agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=elsewhere)


def test_a_decision_on_a_joined_communitys_matter_goes_on_its_timeline_and_gives_work(
    meeting, xingfu, xingfu_council, xingfu_staff, manan_staff, nanen_admin
):
    joined(meeting, nanen_admin, xingfu_council)
    theirs = open_issue(xingfu, xingfu_staff, "健身器材损坏")
    meeting = Meeting.objects.get(pk=meeting.pk)
    item, _ = agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=theirs)
    cadre = factories.user("joint_cadre", display_name="下沉干部 钱")
    guest = guests.guest_invite(meeting=meeting, actor=manan_staff, cadre=cadre)
    # One member of each council: two active, both needed for a quorum.
    sign_in(meeting, [factories.council_member(meeting.council.community)], manan_staff)
    sign_in(meeting, [factories.council_member(xingfu)], xingfu_staff)

    with time_machine.travel(meeting.starts_at + dt.timedelta(minutes=5), tick=True):
        # The host's staff record it, as for a matter of their own community.
        decision = running.decision_record(
            item=item, actor=manan_staff, outcome="solve_by_council", notes="两社区共同维修"
        )
        parties.party_assign(decision=decision, guest=guest, work="联系厂家", actor=manan_staff)

    kinds = list(Event.objects.filter(issue=theirs).values_list("kind", flat=True))
    assert kinds == ["created", "status", "deliberated", "status", "party_assigned"]


# --- Minutes and the page's cost -----------------------------------------------------------


def test_the_minutes_name_every_council(meeting, xingfu_council, nanen_admin):
    joined(meeting, nanen_admin, xingfu_council)
    meeting = Meeting.objects.get(pk=meeting.pk)
    title, text = minutes_text.compose(meeting)
    assert "马南社区居民议事会、幸福村社区居民议事会" in title
    assert "Joint meeting of: 马南社区居民议事会 (host), 幸福村社区居民议事会" in text


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_meeting_page_query_count_does_not_grow_per_joined_council(
    meeting, nanen, manan_staff, nanen_admin, as_user
):
    councils = [factories.community(f"联席{n}社区", street_=nanen).council for n in range(4)]
    for council in councils:
        for _ in range(2):
            factories.council_member(council.community)
    client = as_user(manan_staff)
    url = reverse("meetings:detail", args=[meeting.pk])

    joined(meeting, nanen_admin, councils[0])
    one = _queries_for(client, url)
    joined(meeting, nanen_admin, *councils)
    four = _queries_for(client, url)

    # The same as a meeting of one council (test_meetings pins it): the councils at the
    # meeting come in one query, their members in one.
    assert one == four == 13


def test_units_of_a_joined_community_can_be_invited_and_others_not(
    meeting, xingfu, beishan, xingfu_council, manan_staff, nanen_admin, as_user
):
    from members.models import OutsideUnit

    theirs = OutsideUnit.objects.create(
        community=xingfu, name="幸福村小学", contact_name="陈老师", phone="13900003333"
    )
    elsewhere = OutsideUnit.objects.create(
        community=beishan, name="北山供水站", contact_name="何师傅", phone="13900004444"
    )
    url = reverse("meetings:guest_invite", args=[meeting.pk])
    client = as_user(manan_staff)
    assert client.post(url, {"unit": theirs.pk}).status_code == 404

    joined(meeting, nanen_admin, xingfu_council)

    assert client.post(url, {"unit": theirs.pk}).status_code == 302
    assert client.post(url, {"unit": elsewhere.pk}).status_code == 404
    assert list(meeting.guests.values_list("unit__name", flat=True)) == ["幸福村小学"]


def test_cancelling_a_joint_meeting_tells_every_councils_members(
    meeting, manan_member, xingfu_council, xingfu_member, manan_staff, nanen_admin
):
    from deliberation.actions import closing

    joined(meeting, nanen_admin, xingfu_council)
    closing.meeting_cancel(meeting=meeting, actor=manan_staff, reason="台风预警")

    told = Notice.objects.filter(kind="meeting_cancelled", channel="inapp")
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "manan_member",
        "xingfu_member",
    ]


def test_the_add_an_issue_list_of_a_joint_meeting_says_whose_each_matter_is(
    meeting, manan, xingfu, xingfu_council, manan_staff, xingfu_staff, nanen_admin, as_user
):
    open_issue(manan, manan_staff, "楼道堆物")
    open_issue(xingfu, xingfu_staff, "健身器材损坏")
    joined(meeting, nanen_admin, xingfu_council)

    page = (
        as_user(manan_staff)
        .get(reverse("meetings:detail", args=[meeting.pk]), {"add": "issue"})
        .content.decode()
    )

    assert "楼道堆物 · 马南社区" in page
    assert "健身器材损坏 · 幸福村社区" in page


def test_a_joined_communitys_matter_is_given_only_to_its_own_councils_members(
    meeting, manan, xingfu, xingfu_council, manan_staff, xingfu_staff, nanen_admin, as_user
):
    factories.council_member(manan, factories.resident(manan, "马南的张三"))
    li = factories.council_member(xingfu, factories.resident(xingfu, "幸福村的李四"))
    joined(meeting, nanen_admin, xingfu_council)
    theirs = open_issue(xingfu, xingfu_staff, "健身器材损坏")
    meeting = Meeting.objects.get(pk=meeting.pk)
    item, _ = agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=theirs)

    page = (
        as_user(manan_staff)
        .get(reverse("meetings:detail", args=[meeting.pk]), {"open": item.pk})
        .content.decode()
    )
    offered = re.findall(rf'name="item-{item.pk}-members" value="(\d+)"', page)

    assert offered == [str(li.pk)]


def test_a_meeting_the_street_convenes_is_announced_to_every_council(
    manan, manan_member, xingfu_council, xingfu_member, nanen_admin
):
    starts = local(2026, 11, 20, 9, 30)  # sooner than the three days' notice: told at once
    meeting = joint.joint_meeting_convene(
        actor=nanen_admin, host=manan.council, councils=[xingfu_council], starts_at=starts
    )
    assert meeting.notice_due_at <= dt.datetime.now(dt.UTC)

    notices.meeting_notices_send(now=dt.datetime.now(dt.UTC))

    told = Notice.objects.filter(kind="meeting_notice", channel="inapp")
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "manan_member",
        "xingfu_member",
    ]


def test_the_joined_side_sees_the_meeting_but_not_the_host_councils_archive(
    meeting, xingfu, xingfu_council, xingfu_staff, manan_staff, nanen_admin, as_user
):
    from deliberation import permissions
    from members.models import CouncilMember

    leader_term = factories.council_member(xingfu, role=CouncilMember.Role.LEADER)
    leader = factories.user("xingfu_leader")
    factories.role(leader, Role.Kind.COUNCIL_MEMBER, council_member=leader_term)
    joined(meeting, nanen_admin, xingfu_council)
    archive = reverse("minutes:archive", args=[meeting.council.pk])
    url = reverse("meetings:detail", args=[meeting.pk])

    assert archive not in as_user(xingfu_staff).get(url).content.decode()
    assert archive not in as_user(leader).get(url).content.decode()
    assert archive in as_user(manan_staff).get(url).content.decode()
    # A joined council's leader does not approve the host's minutes.
    assert not permissions.can_approve_minutes(leader, meeting)


def test_the_joined_staff_see_the_hosts_matters_on_the_agenda_without_a_link_to_them(
    meeting, manan, xingfu, xingfu_council, manan_staff, xingfu_staff, nanen_admin, as_user
):
    joined(meeting, nanen_admin, xingfu_council)
    meeting = Meeting.objects.get(pk=meeting.pk)
    ours = open_issue(manan, manan_staff, "楼道堆物")
    theirs = open_issue(xingfu, xingfu_staff, "健身器材损坏")
    agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=ours)
    agenda.agenda_issue_add(meeting=meeting, actor=manan_staff, issue=theirs)
    url = reverse("meetings:detail", args=[meeting.pk])

    page = as_user(xingfu_staff).get(url).content.decode()
    assert "楼道堆物" in page
    assert reverse("issues:detail", args=[ours.pk]) not in page
    assert reverse("issues:detail", args=[theirs.pk]) in page
    assert as_user(xingfu_staff).get(reverse("issues:detail", args=[ours.pk])).status_code == 404
    host_page = as_user(manan_staff).get(url).content.decode()
    assert reverse("issues:detail", args=[ours.pk]) in host_page
