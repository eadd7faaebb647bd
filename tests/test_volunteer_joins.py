"""A resident asks to join a volunteer team from the community's public page; staff or the
team's leader accept (the resident joins) or decline."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from members.models import Resident
from public import forms as public_forms
from public import views as public_views
from tests.helpers import volunteers as build
from volunteers.actions import joins
from volunteers.models import JoinRequest, Membership
from volunteers.refusals import VolunteerRefusal

pytestmark = pytest.mark.usefixtures("clear_cache")  # a fresh throttle per test

STAMP = re.compile(r'name="rendered" value="([^"]+)"')
DEAD_REDIS = "redis://127.0.0.1:6390/0"


@pytest.fixture(autouse=True)
def no_minimum_age(monkeypatch):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)


@pytest.fixture
def bees(manan, manan_staff):
    return build.team(manan, manan_staff, name="小蜜蜂")


@pytest.fixture
def join_url(manan):
    return reverse("public:join", args=[public_views.public_form_token(manan)])


def draw(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return STAMP.search(response.content.decode())[1]


def send(client, url: str, chosen, **overrides):
    data = {
        "team": chosen.pk,
        "name": "王阿姨",
        "phone": "138 1234 5678",
        "phone_consent": "on",
        "homepage": "",
        "rendered": draw(client, url),
    }
    data.update(overrides)
    return client.post(url, data)


def test_a_resident_asks_to_join_and_the_staff_accept(client, as_user, manan_staff, bees, join_url):
    response = send(client, join_url, bees)
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    join = JoinRequest.objects.get()
    assert (join.team, join.name, join.phone) == (bees, "王阿姨", "13812345678")
    assert join.status == JoinRequest.Status.PENDING

    staff = as_user(manan_staff)
    page = staff.get(reverse("volunteers:team", args=[bees.pk])).content.decode()
    assert reverse("volunteers:join_accept", args=[join.pk]) in page
    assert "王阿姨" in page and "138****5678" in page and "13812345678" not in page
    answered = staff.post(reverse("volunteers:join_accept", args=[join.pk]))
    assert answered.status_code == 302
    join.refresh_from_db()
    assert join.status == JoinRequest.Status.ACCEPTED and join.decided_by == manan_staff
    resident = Resident.objects.get(community=bees.community, phone="13812345678")
    assert join.resident == resident and resident.name == "王阿姨"
    assert Membership.objects.filter(team=bees, volunteer__resident=resident).count() == 1
    # Answered once: the request is no longer on the page, and a second answer is refused.
    page = staff.get(reverse("volunteers:team", args=[bees.pk])).content.decode()
    assert reverse("volunteers:join_accept", args=[join.pk]) not in page
    with pytest.raises(VolunteerRefusal):
        joins.join_request_decline(join=join, actor=manan_staff)


def test_accepting_finds_the_resident_by_phone_in_the_community(manan, xingfu, manan_staff, bees):
    known = Resident.objects.create(community=manan, name="王秀兰", phone="13812345678")
    Resident.objects.create(community=xingfu, name="别社区", phone="13812345678")
    join = joins.join_request_send(community=manan, team=bees, name="王阿姨",
                                   phone="13812345678", phone_consent=True)  # fmt: skip
    joins.join_request_accept(join=join, actor=manan_staff)
    assert Resident.objects.filter(community=manan, phone="13812345678").count() == 1
    assert Membership.objects.get(team=bees).volunteer.resident == known


def test_the_leader_declines_and_no_one_joins(as_user, manan, manan_staff, bees):
    leader = build.volunteer(bees, manan_staff, "李秀英", account="bee_leader", leader=True)
    join = joins.join_request_send(community=manan, team=bees, name="王阿姨",
                                   phone="13812345678", phone_consent=True)  # fmt: skip
    client = as_user(leader.user)
    assert client.post(reverse("volunteers:join_decline", args=[join.pk])).status_code == 302
    join.refresh_from_db()
    assert join.status == JoinRequest.Status.DECLINED and join.resident is None
    assert Membership.objects.filter(team=bees).count() == 1  # the leader alone


def test_a_member_who_does_not_lead_may_not_answer(as_user, manan, manan_staff, bees):
    member = build.volunteer(bees, manan_staff, "赵桂兰", account="bee_member")
    join = joins.join_request_send(community=manan, team=bees, name="王阿姨",
                                   phone="13812345678", phone_consent=True)  # fmt: skip
    client = as_user(member.user)
    assert client.post(reverse("volunteers:join_accept", args=[join.pk])).status_code == 403
    assert JoinRequest.objects.get().status == JoinRequest.Status.PENDING


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"phone_consent": ""}, "您同意保留电话号码后，服务队才能给您回电"),
        ({"phone": "12345"}, "11 位手机号码"),
        ({"name": ""}, "请填写您的称呼"),
        ({"team": "999999"}, "请从列表中选择一个服务队"),
    ],
    ids=["no-consent", "bad-phone", "no-name", "unknown-team"],
)
def test_bad_input_is_refused_with_a_message_and_what_was_typed_kept(
    client, bees, join_url, overrides, message
):
    response = send(client, join_url, bees, **overrides)
    assert response.status_code == 422
    page = response.content.decode()
    assert message in page
    if overrides.get("name") != "":
        assert 'value="王阿姨"' in page
    assert not JoinRequest.objects.exists()


def test_another_communitys_team_cannot_be_chosen(client, xingfu, xingfu_staff, bees, join_url):
    theirs = build.team(xingfu, xingfu_staff, name="向日葵")
    assert send(client, join_url, bees, team=theirs.pk).status_code == 422
    assert not JoinRequest.objects.exists()


def test_a_double_tap_sends_one_request(client, bees, join_url):
    stamp = draw(client, join_url)
    first = send(client, join_url, bees, rendered=stamp)
    second = send(client, join_url, bees, rendered=stamp)
    assert first.status_code == second.status_code == 302
    assert JoinRequest.objects.count() == 1


def test_requests_from_one_connection_are_limited(client, bees, join_url):
    for _ in range(public_views.JOINS_PER_HOUR):
        assert send(client, join_url, bees).status_code == 302
    refused = send(client, join_url, bees)
    assert refused.status_code == 429
    assert "请一小时后再试" in refused.content.decode()
    assert JoinRequest.objects.count() == public_views.JOINS_PER_HOUR


def test_a_request_sent_while_redis_is_down_is_kept_once(client, bees, join_url):
    dead = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": DEAD_REDIS}}  # fmt: skip
    with override_settings(CACHES=dead):
        stamp = draw(client, join_url)
        assert send(client, join_url, bees, rendered=stamp).status_code == 302
        assert send(client, join_url, bees, rendered=stamp).status_code == 302
    assert JoinRequest.objects.count() == 1


def test_the_report_page_leads_to_the_join_form_only_where_there_are_teams(
    client, manan, xingfu, bees, join_url
):
    report = client.get(reverse("public:report", args=[public_views.public_form_token(manan)]))
    assert join_url in report.content.decode()
    other = public_views.public_form_token(xingfu)
    assert "/join/" not in client.get(reverse("public:report", args=[other])).content.decode()
    assert client.get(reverse("public:join", args=[other])).status_code == 404


@pytest.mark.outsider("public:join", "public:joined")
def test_a_forged_token_is_404_and_writes_nothing(client, manan, bees):
    forged = f"{manan.pk}-0000000000"
    assert client.get(reverse("public:join", args=[forged])).status_code == 404
    assert client.post(reverse("public:join", args=[forged]), {"team": bees.pk}).status_code == 404
    assert client.get(reverse("public:joined", args=[forged])).status_code == 404
    assert not JoinRequest.objects.exists()


@pytest.mark.outsider("volunteers:join_accept", "volunteers:join_decline")
def test_outsiders_cannot_answer_a_request(as_user, manan, bees, xingfu_staff, other_admin):
    join = joins.join_request_send(community=manan, team=bees, name="王阿姨",
                                   phone="13812345678", phone_consent=True)  # fmt: skip
    for outsider in (xingfu_staff, other_admin):
        client = as_user(outsider)
        for name in ("volunteers:join_accept", "volunteers:join_decline"):
            assert client.post(reverse(name, args=[join.pk])).status_code == 404
    assert JoinRequest.objects.get().status == JoinRequest.Status.PENDING
    assert not Membership.objects.filter(team=bees).exists()


def test_the_team_page_runs_as_many_queries_with_many_requests_as_with_one(
    as_user, manan, manan_staff, bees, django_assert_max_num_queries
):
    client = as_user(manan_staff)
    url = reverse("volunteers:team", args=[bees.pk])
    joins.join_request_send(community=manan, team=bees, name="甲", phone="13800000000",
                            phone_consent=True)  # fmt: skip
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(1, 8):
        joins.join_request_send(community=manan, team=bees, name=f"乙{n}",
                                phone=f"1380000000{n}", phone_consent=True)  # fmt: skip
    with django_assert_max_num_queries(len(one)):
        assert "乙7" in client.get(url).content.decode()


JOIN_REJECTED_ZH = "您的申请这次没有发出"


@pytest.mark.parametrize(
    "overrides",
    [{"homepage": "http://spam.example"}, {"rendered": "forged"}],
    ids=["honeypot", "bad-stamp"],
)
def test_the_spam_checks_refuse_calmly_keeping_what_was_typed(client, bees, join_url, overrides):
    response = send(client, join_url, bees, **overrides)
    assert response.status_code == 422
    page = response.content.decode()
    assert JOIN_REJECTED_ZH in page and "社区办公室" in page
    # Not the report form's wording, and nothing that calls the resident a bot or spam.
    assert "暂时无法受理这次反映" not in page
    assert 'value="王阿姨"' in page and 'value="138 1234 5678"' in page
    assert not JoinRequest.objects.exists()


def test_a_form_sent_too_soon_is_refused_then_goes_through_with_the_new_stamp(
    client, monkeypatch, bees, join_url
):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 3600)
    response = send(client, join_url, bees)
    assert response.status_code == 422 and JOIN_REJECTED_ZH in response.content.decode()
    assert not JoinRequest.objects.exists()
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    again = STAMP.search(response.content.decode())[1]
    assert send(client, join_url, bees, rendered=again).status_code == 302
    assert JoinRequest.objects.count() == 1


def test_the_refusal_is_in_english_for_an_english_browser(client, bees, join_url):
    client.cookies["django_language"] = "en"
    response = send(client, join_url, bees, homepage="x")
    page = response.content.decode()
    assert "Your request did not go through this time" in page
