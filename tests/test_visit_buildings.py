"""Rounds where the residents register is thin: the team walks the building itself.

A building's register is thin when it holds fewer households than the building's known
flats, or none; a building paired by name whose flats are not known is thin when the
register holds none of its households.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from tests import factories
from tests.helpers import visits as build
from visits.actions import VisitsRefusal, rounds, teams
from visits.models import Building, Round, Target

ROUND_DAY = dt.date(2026, 10, 1)


@pytest.fixture
def leader(db):
    return build.cadre("li_cadre")


@pytest.fixture
def manan_team(nanen, manan, nanen_admin, leader):
    return build.team(nanen, "马南走访队", leader=leader, communities=[manan], admin=nanen_admin)


@pytest.fixture
def register(manan):
    """马南社区's register: 一巷3栋 has two households (101 with two residents, 102),
    二巷5栋 one (201); 二巷7栋 none."""
    factories.resident(manan, "王阿姨", lane="一巷", building="3栋", room="101")
    factories.resident(manan, "王叔叔", lane="一巷", building="3栋", room="101")
    factories.resident(manan, "李奶奶", lane="一巷", building="3栋", room="102")
    factories.resident(manan, "赵大爷", lane="二巷", building="5栋", room="201")


@pytest.fixture
def known(manan_team, manan, nanen_admin):
    """The housing records: 3栋 has 2 flats (all registered), 5栋 12, 7栋 24."""
    for lane, building, flats in [("一巷", "3栋", 2), ("二巷", "5栋", 12), ("二巷", "7栋", 24)]:
        teams.building_set(actor=nanen_admin, team=manan_team, community=manan, lane=lane,
                           building=building, flats=flats)  # fmt: skip


def test_a_thin_building_is_one_target_beside_its_registered_households(
    manan_team, register, known, nanen, nanen_admin, xingfu
):
    # 幸福村社区's 8栋 is paired by name with another team, and nobody of it is registered.
    other = build.team(nanen, "幸福村队", leader=build.cadre("xf_leader"))
    teams.team_pair(actor=nanen_admin, team=other, community=xingfu, building="8栋")
    round_, created = rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    assert created
    rows = sorted(
        Target.objects.filter(round=round_).values_list(
            "team__name", "lane", "building", "room", "resident__name", "unregistered"
        )
    )
    assert rows == [
        ("幸福村队", "", "8栋", "", None, 0),  # none registered, flats unknown
        ("马南走访队", "一巷", "3栋", "101", "王阿姨", 0),
        ("马南走访队", "一巷", "3栋", "102", "李奶奶", 0),
        # 3栋 has all its 2 flats on the register: not thin, no building target.
        ("马南走访队", "二巷", "5栋", "", None, 11),  # 1 of 12 registered
        ("马南走访队", "二巷", "5栋", "201", "赵大爷", 0),
        ("马南走访队", "二巷", "7栋", "", None, 24),  # none of 24
    ]
    # A second call writes nothing.
    again, created = rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    assert (again, created) == (round_, False)
    assert Target.objects.count() == 6 and Round.objects.count() == 1


def test_a_team_member_marks_a_thin_building_walked(
    manan_team, register, known, nanen, leader, as_user
):
    rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    client = as_user(leader)
    page = client.get(reverse("visits:team", args=[manan_team.pk]))
    assert "0 / 5" in page.text  # three households and two buildings
    assert "11 户未在居民名册上" in page.text and "24 户未在居民名册上" in page.text
    building = Target.objects.get(building="7栋")
    url = reverse("visits:building_visited", args=[manan_team.pk, building.pk])
    assert client.post(url).status_code == 302
    building.refresh_from_db()
    assert building.visited_on is not None
    page = client.get(reverse("visits:team", args=[manan_team.pk]))
    assert "1 / 5" in page.text
    # A household's target is not marked this way.
    household = Target.objects.get(room="201")
    response = client.post(reverse("visits:building_visited", args=[manan_team.pk, household.pk]))
    assert response.status_code == 404
    household.refresh_from_db()
    assert household.visited_on is None


@pytest.mark.outsider("visits:building_visited", "visits:building_set")
def test_outsiders_cannot_mark_a_building_or_record_one(
    manan_team, register, known, nanen, manan, as_user, other_admin, xingfu_staff, nanen_admin
):
    rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    building = Target.objects.get(building="7栋")
    other_team = build.team(nanen, "别的队", leader=build.cadre("other_leader"))
    mark = reverse("visits:building_visited", args=[manan_team.pk, building.pk])
    record = reverse("visits:building_set", args=[manan_team.pk])
    data = {"community": manan.pk, "lane": "二巷", "building": "9栋", "flats": "8"}
    for who in [other_admin, xingfu_staff, other_team.leader]:
        client = as_user(who)
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            assert client.post(mark, **htmx).status_code == 404
            assert client.post(record, data, **htmx).status_code == 404
    # The other team's own URL does not reach this team's building.
    other_url = reverse("visits:building_visited", args=[other_team.pk, building.pk])
    assert as_user(other_team.leader).post(other_url).status_code == 404
    # The street's admin sees the team but does not walk buildings.
    assert as_user(nanen_admin).post(mark).status_code == 403
    building.refresh_from_db()
    assert building.visited_on is None
    assert not Building.objects.filter(building="9栋").exists()


def test_the_street_admin_records_a_buildings_flats(manan_team, manan, xingfu, nanen_admin,
                                                    as_user):  # fmt: skip
    client = as_user(nanen_admin)
    url = reverse("visits:building_set", args=[manan_team.pk])
    done = client.post(url, {"community": manan.pk, "lane": "二巷", "building": "9栋",
                             "flats": "36"})  # fmt: skip
    assert done.status_code == 302
    assert Building.objects.get().flats == 36
    again = client.post(url, {"community": manan.pk, "lane": "二巷", "building": "9栋",
                              "flats": "40"})  # fmt: skip
    assert again.status_code == 302
    assert list(Building.objects.values_list("building", "flats")) == [("9栋", 40)]
    page = client.get(reverse("visits:team_edit", args=[manan_team.pk]))
    assert "9栋" in page.text and "40 户" in page.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lane": "二巷", "building": "9栋", "flats": "0"}, "Ensure this value is greater than"),
        ({"lane": "二巷", "building": "", "flats": "10"}, "This field is required."),
        ({"lane": "二巷", "building": "9栋", "flats": "很多"}, "Enter a whole number."),
    ],
)
def test_bad_flats_are_refused_with_what_was_typed_kept(
    manan_team, manan, nanen_admin, as_user, data, message
):
    response = as_user(nanen_admin).post(
        reverse("visits:building_set", args=[manan_team.pk]),
        {"community": manan.pk, **data},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert message in response.text
    assert 'value="二巷"' in response.text
    assert not Building.objects.exists()


def test_a_building_outside_the_teams_compounds_is_refused(
    manan_team, nanen, nanen_admin, xingfu, as_user
):
    refused = pytest.raises(VisitsRefusal, match="不在本团队结对的小区内")
    with translation.override("zh-hans"), refused:
        teams.building_set(actor=nanen_admin, team=manan_team, community=xingfu, lane="",
                           building="1栋", flats=10)  # fmt: skip
    # The form offers only the team's communities.
    response = as_user(nanen_admin).post(
        reverse("visits:building_set", args=[manan_team.pk]),
        {"community": xingfu.pk, "building": "1栋", "flats": "10"},
    )
    assert response.status_code == 422
    assert not Building.objects.exists()


def test_the_teams_tally_follows_its_targets(manan_team, register, known, nanen, leader, manan):
    from visits.actions import visiting
    from visits.models import Tally

    round_, _ = rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    tally = Tally.objects.get(round=round_, team=manan_team)
    assert (tally.target, tally.visited) == (5, 0)  # three households and two buildings
    wang = manan.residents.get(name="王阿姨")
    husband = manan.residents.get(name="王叔叔")  # the same household, 一巷3栋101
    for resident in (wang, husband):
        visiting.visit_record(actor=leader, team=manan_team, resident=resident,
                              kind="concentrated", visited_on=dt.date(2026, 10, 5), visitors=[],
                              today=dt.date(2026, 10, 6))  # fmt: skip
    building = Target.objects.get(building="7栋")
    for _ in range(2):
        rounds.building_visited(actor=leader, target=building, visited_on=dt.date(2026, 10, 6),
                                today=dt.date(2026, 10, 6))  # fmt: skip
    tally.refresh_from_db()
    assert (tally.target, tally.visited) == (5, 2)
    assert Target.objects.filter(visited_on__isnull=False).count() == 2
    rounds.tallies_recount(round_)  # counted afresh: the same
    assert Tally.objects.get(round=round_, team=manan_team).visited == 2
