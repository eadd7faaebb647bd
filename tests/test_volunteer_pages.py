"""The team page stays the same size however large the team and its history: members a
page at a time, the coming and past activities cut before they are counted; adding a
member is a page of its own (the community's residents to choose from are many)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.helpers import volunteers as build
from tests.helpers.clock import local
from volunteers import queries
from volunteers.actions import teams
from volunteers.models import Membership


@pytest.fixture
def fireflies(manan, manan_staff):
    return build.team(manan, manan_staff)


def grow(team, staff, clock, count: int, *, start: int = 0) -> None:
    """``count`` more members, each of whom served at one more past activity."""
    for n in range(start, start + count):
        volunteer = build.volunteer(team, staff, f"队员{n:03d}")
        starts = local(2026, 10, 1, 9) + dt.timedelta(days=n)
        clock.move_to(starts - dt.timedelta(hours=1))
        activity = build.activity(team, staff, starts=starts)
        build.served(
            activity, volunteer, staff, in_at=starts, out_at=starts + dt.timedelta(hours=1)
        )
    clock.move_to(local(2026, 12, 20, 10))


def team_page(client, team, **query) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries_run:
        response = client.get(reverse("volunteers:team", args=[team.pk]), query)
    assert response.status_code == 200
    return response.content.decode(), len(queries_run)


def test_the_team_page_costs_the_same_queries_for_3_and_40_members(
    as_user, clock, manan_staff, fireflies
):
    grow(fireflies, manan_staff, clock, 3)
    few_page, few = team_page(as_user(manan_staff), fireflies)
    grow(fireflies, manan_staff, clock, 37, start=3)
    many_page, many = team_page(as_user(manan_staff), fireflies)
    assert many == few
    assert few_page.count('class="tag"') <= 1 and "队员002" in few_page
    assert "显示更多队员" not in few_page and "显示更多队员" in many_page
    # A page of members at a time, by name.
    assert "队员029" in many_page and "队员030" not in many_page
    # The past activities: the latest ten, each with how many served.
    assert many_page.count("1 名志愿者") == 10


def test_show_more_members_goes_on_where_the_page_ended(as_user, clock, manan_staff, fireflies):
    grow(fireflies, manan_staff, clock, 35)
    client = as_user(manan_staff)
    first = queries.members_page(fireflies)
    assert len(first.members) == queries.MEMBERS_PER_PAGE
    page, _n = team_page(client, fireflies, name=first.next_after[0], after=first.next_after[1])
    shown = [f"队员{n:03d}" for n in range(35) if f"队员{n:03d}" in page]
    assert shown == [f"队员{n:03d}" for n in range(30, 35)]
    assert "显示更多队员" not in page and "回到前面的队员" in page
    # A name shared by two members: neither is lost at the page's edge.
    namesake = factories.resident(fireflies.community, "队员029")
    teams.team_add_member(team=fireflies, resident=namesake, actor=manan_staff)
    every = []
    after = None
    while True:
        part = queries.members_page(fireflies, after=after)
        every += [m.pk for m in part.members]
        if part.next_after is None:
            break
        after = part.next_after
    assert sorted(every) == sorted(
        Membership.objects.filter(team=fireflies, left_on__isnull=True).values_list("pk", flat=True)
    )


def test_adding_a_member_is_a_page_of_its_own(as_user, manan, manan_staff, fireflies):
    newcomer = factories.resident(manan, "钱桂英")
    client = as_user(manan_staff)
    team = client.get(reverse("volunteers:team", args=[fireflies.pk])).content.decode()
    assert "钱桂英" not in team  # no list of every resident on the team page
    add = reverse("volunteers:member_add", args=[fireflies.pk])
    assert add in team
    form = client.get(add)
    assert form.status_code == 200 and "钱桂英" in form.content.decode()
    bad = client.post(add, {"resident": "999999"})
    assert bad.status_code == 422
    done = client.post(add, {"resident": newcomer.pk})
    assert done.status_code == 302
    assert Membership.objects.filter(team=fireflies, volunteer__resident=newcomer).exists()


def test_a_member_who_does_not_manage_may_not_open_the_add_page(as_user, manan_staff, fireflies):
    member = build.volunteer(fireflies, manan_staff, "赵桂兰", account="zhao_volunteer")
    page = as_user(member.user).get(reverse("volunteers:team", args=[fireflies.pk]))
    assert reverse("volunteers:member_add", args=[fireflies.pk]) not in page.content.decode()
    add = as_user(member.user).get(reverse("volunteers:member_add", args=[fireflies.pk]))
    assert add.status_code == 403
