"""The bad input issue 17 lists, each where a user meets it, in Chinese (the default) and in
English: a clear message, what was typed kept, nothing half-written.

A visit to a household outside the team's compounds, a visit dated in the future, a round
created twice, an asked-for visit with no phone and no address, a team with no leader.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import translation

from issues.models import Issue
from public import forms as public_forms
from public import views as public_views
from tests import factories
from tests.helpers import visits as build
from visits.actions import VisitsRefusal, rounds
from visits.models import AskedVisit, Round, Target, Team, TeamMember, Visit

LANGUAGES = [("zh-hans", "zh"), ("en", "en")]
STAMP = re.compile(r'name="rendered" value="([^"]+)"')


@pytest.fixture
def leader(db):
    return build.cadre("li_cadre")


@pytest.fixture
def team(nanen, manan, nanen_admin, leader):
    return build.team(nanen, "马南走访队", leader=leader, communities=[manan], admin=nanen_admin)


@pytest.fixture
def wang(manan):
    return factories.resident(manan, "王阿姨", building="3栋", room="101")


def visit_data(resident, category, **fields) -> dict:
    data = {
        "resident": resident.pk, "kind": "thematic", "visited_on": "2026-11-10",
        "notes": "谈了加装电梯", "submission_key": "k-1",
        "concern-TOTAL_FORMS": "1", "concern-INITIAL_FORMS": "0",
        "concern-MIN_NUM_FORMS": "0", "concern-MAX_NUM_FORMS": "6",
        "concern-0-title": "楼道堆物", "concern-0-category": category.pk,
        "concern-0-description": "",
    }  # fmt: skip
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "该住户不在本团队结对的小区内。"), ("en", "This household is not in the team")],
)
def test_a_visit_to_a_household_outside_the_teams_compounds(
    as_user, team, leader, nanen, xingfu, language, message
):
    outside = factories.resident(xingfu, "幸福甲", building="1栋", room="101")
    data = visit_data(outside, factories.category(nanen, "other"))
    response = as_user(leader).post(
        reverse("visits:visit_new", args=[team.pk]), data, follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    )  # fmt: skip
    assert response.status_code == 200
    assert message in response.text
    assert not Visit.objects.exists() and not Issue.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "走访日期不能晚于今天。"), ("en", "A visit cannot be dated in the future.")],
)
def test_a_visit_dated_in_the_future(as_user, team, leader, wang, nanen, language, message):
    data = visit_data(wang, factories.category(nanen, "other"), visited_on="2026-11-19")
    response = as_user(leader).post(
        reverse("visits:visit_new", args=[team.pk]), data, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 422
    assert message in response.text
    assert "谈了加装电梯" in response.text and "楼道堆物" in response.text  # kept
    assert not Visit.objects.exists() and not Issue.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "一年只有四个季度。"), ("en", "A year has four quarters.")],
)
def test_a_round_created_twice_writes_nothing_more(team, wang, nanen, language, message):
    first, created = rounds.round_open(
        street=nanen, year=2026, quarter=4, today=dt.date(2026, 10, 1)
    )
    again, created_again = rounds.round_open(
        street=nanen, year=2026, quarter=4, today=dt.date(2026, 10, 2)
    )
    assert (created, created_again, again) == (True, False, first)
    assert Round.objects.count() == 1 and Target.objects.count() == 1
    with translation.override(language), pytest.raises(VisitsRefusal, match=message):
        rounds.round_open(street=nanen, year=2026, quarter=5, today=dt.date(2026, 10, 2))
    assert Round.objects.count() == 1 and Target.objects.count() == 1


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-hans", "请留下电话号码或住址，方便走访团队联系您。"),
        ("en", "Leave a phone number or an address, so that the team can reach you."),
    ],
)
def test_an_asked_for_visit_with_no_phone_and_no_address(
    client, team, manan, monkeypatch, clear_cache, language, message
):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    url = reverse("public:ask_visit", args=[public_views.public_form_token(manan)])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    data = {"name": "王阿姨", "topic": "想聊聊加装电梯", "preferred_times": "周末上午",
            "phone": "", "address": "", "homepage": "",
            "rendered": STAMP.search(page.text)[1]}  # fmt: skip
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 422
    assert message in response.text
    assert "想聊聊加装电梯" in response.text and "周末上午" in response.text
    assert not AskedVisit.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "工作团队必须有一名队长。"), ("en", "A team needs a leader.")],
)
def test_a_team_with_no_leader(as_user, nanen, manan, nanen_admin, language, message):
    walker = build.cadre("zhou_walker")
    response = as_user(nanen_admin).post(
        reverse("visits:team_new", args=[nanen.pk]),
        {"name": "无队长", "members": [walker.pk], "communities": [manan.pk],
         "submission_key": "t-1"},
        HTTP_ACCEPT_LANGUAGE=language,
    )  # fmt: skip
    assert response.status_code == 422
    assert message in response.text
    assert 'value="无队长"' in response.text
    assert not Team.objects.exists() and not TeamMember.objects.exists()
