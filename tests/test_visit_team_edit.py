"""The street admin changes a team's members and pairings; every change keeps history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests import factories
from tests.helpers import visits as build
from visits.models import Pairing, TeamMember


@pytest.fixture
def leader(db):
    return build.cadre("li_cadre")


@pytest.fixture
def walker(db):
    return build.cadre("zhou_walker")


@pytest.fixture
def team(nanen, manan, nanen_admin, leader, walker):
    return build.team(nanen, "马南走访队", leader=leader, members=[walker], communities=[manan],
                      admin=nanen_admin, today=dt.date(2026, 9, 1))  # fmt: skip


def test_the_admin_adds_and_removes_members_and_history_stays(as_user, team, nanen_admin,
                                                              walker, leader):  # fmt: skip
    admin = as_user(nanen_admin)
    page = admin.get(reverse("visits:team", args=[team.pk]))
    assert reverse("visits:team_edit", args=[team.pk]) in page.text
    newcomer = build.cadre("wu_newcomer")
    url = reverse("visits:member_add", args=[team.pk])
    data = {"user": newcomer.pk, "kind": "sent_down", "department": "", "submission_key": "m1"}
    assert admin.post(url, data).status_code == 302
    assert admin.post(url, data).status_code == 302  # the same form again: one term
    assert TeamMember.objects.filter(team=team, user=newcomer).count() == 1

    term = TeamMember.objects.get(team=team, user=walker)
    response = admin.post(reverse("visits:member_leave", args=[team.pk, term.pk]))
    assert response.status_code == 302
    term.refresh_from_db()
    assert term.left_on == dt.date(2026, 11, 18)
    # The leader cannot leave: a clear message, nothing changed.
    lead = TeamMember.objects.get(team=team, user=leader)
    refused = admin.post(reverse("visits:member_leave", args=[team.pk, lead.pk]), follow=True,
                         HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert "Choose another leader" in refused.text
    lead.refresh_from_db()
    assert lead.left_on is None
    listed = admin.get(reverse("visits:team_edit", args=[team.pk])).text.split("<h3>")[0]
    assert "wu_newcomer" in listed and "zhou_walker" not in listed


def test_the_admin_pairs_and_unpairs_compounds(as_user, team, nanen, manan, xingfu, nanen_admin):
    admin = as_user(nanen_admin)
    url = reverse("visits:pairing_add", args=[team.pk])
    other = build.team(nanen, "第二队", leader=build.cadre("other_leader"))
    # Already paired with another team: a clear message, what was typed kept.
    response = admin.post(
        reverse("visits:pairing_add", args=[other.pk]),
        {"community": manan.pk, "lane": "一巷", "building": "3栋", "submission_key": "p0"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert "already paired with a team" in response.text and 'value="3栋"' in response.text
    assert not Pairing.objects.filter(team=other).exists()

    data = {"community": xingfu.pk, "lane": "", "building": "1栋", "submission_key": "p1"}
    assert admin.post(url, data).status_code == 302
    assert admin.post(url, data).status_code == 302
    pairing = Pairing.objects.get(team=team, community=xingfu)
    assert pairing.building == "1栋"
    whole = Pairing.objects.get(team=team, community=manan)
    assert admin.post(reverse("visits:pairing_end", args=[team.pk, whole.pk])).status_code == 302
    whole.refresh_from_db()
    assert whole.ended_on == dt.date(2026, 11, 18)
    page = admin.get(reverse("visits:team_edit", args=[team.pk]))
    assert "2026-09-01 – 2026-11-18" in page.text  # the earlier pairing stays in history
    # Now the other team may take 马南.
    second = {"community": manan.pk, "lane": "", "building": "", "submission_key": "p2"}
    assert admin.post(reverse("visits:pairing_add", args=[other.pk]), second).status_code == 302


@pytest.mark.outsider(
    "visits:team_edit", "visits:member_add", "visits:member_leave", "visits:pairing_add",
    "visits:pairing_end",
)  # fmt: skip
def test_outsiders_get_404(as_user, team, nanen, manan, walker, other_admin, xingfu_staff,
                           manan_staff, nanen_admin):  # fmt: skip
    other_team = build.team(nanen, "另一队", leader=build.cadre("another"))
    term = TeamMember.objects.get(team=team, user=walker)
    pairing = Pairing.objects.get(team=team)
    newcomer = factories.user("newcomer")
    urls = {
        reverse("visits:team_edit", args=[team.pk]): None,
        reverse("visits:member_add", args=[team.pk]): {"user": newcomer.pk, "kind": "street_staff"},
        reverse("visits:member_leave", args=[team.pk, term.pk]): {},
        reverse("visits:pairing_add", args=[team.pk]): {"community": manan.pk},
        reverse("visits:pairing_end", args=[team.pk, pairing.pk]): {},
    }
    for who in [other_admin, xingfu_staff, manan_staff, other_team.leader]:
        client = as_user(who)
        for url, data in urls.items():
            answer = client.get(url) if data is None else client.post(url, data)
            assert answer.status_code == 404, (who, url)
    # A membership or pairing of another team, through this team's address: 404 too.
    their_term = TeamMember.objects.get(team=other_team)
    admin = as_user(nanen_admin)
    assert (
        admin.post(reverse("visits:member_leave", args=[team.pk, their_term.pk])).status_code == 404
    )
    term.refresh_from_db()
    pairing.refresh_from_db()
    assert term.left_on is None and pairing.ended_on is None
    assert not TeamMember.objects.filter(user=newcomer).exists()


def test_a_team_member_sees_the_team_but_may_not_change_it(as_user, team, walker):
    assert as_user(walker).get(reverse("visits:team_edit", args=[team.pk])).status_code == 403


@pytest.mark.parametrize("count", [1, 15])
def test_the_edit_page_runs_a_fixed_number_of_queries(as_user, team, nanen, nanen_admin, count,
                                                      django_assert_num_queries):  # fmt: skip
    from members.models import Community
    from visits.actions import teams

    for i in range(count):
        community = Community.objects.create(street=nanen, name=f"社区{i}")
        teams.team_pair(actor=nanen_admin, team=team, community=community)
        teams.team_member_add(actor=nanen_admin, team=team, user=build.cadre(f"c{i}"))
        teams.building_set(actor=nanen_admin, team=team, community=community, lane="",
                           building=f"{i}栋", flats=10 + i)  # fmt: skip
    admin = as_user(nanen_admin)
    # session, user with its unread count, roles; memberships; the team; members, pairings, history;
    # the candidates and the departments of the member form; the communities; the known
    # buildings and the building form's communities.
    with django_assert_num_queries(13):
        assert admin.get(reverse("visits:team_edit", args=[team.pk])).status_code == 200
