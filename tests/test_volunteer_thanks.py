"""The thank-you list on the public transparency page: only volunteers who said yes, by the
name each chose, and only for the month they served (志愿者致谢)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from members import actions as members_actions
from public import views as public_views
from tests.helpers import volunteers as build
from tests.helpers.clock import local
from volunteers.actions import teams
from volunteers.models import Membership

pytestmark = pytest.mark.usefixtures("clear_cache")  # a fresh throttle per test
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def as_user(as_user, settings):
    def signed_in(user):
        client = as_user(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return signed_in


@pytest.fixture
def published(manan, manan_staff):
    return members_actions.community_transparency_set(
        actor=manan_staff, community=manan, public=True
    )


@pytest.fixture
def fireflies(manan, manan_staff):
    return build.team(manan, manan_staff)


@pytest.fixture
def wang(fireflies, manan_staff):
    return build.volunteer(fireflies, manan_staff, "王秀兰", account="wang_volunteer")


@pytest.fixture
def zhao(fireflies, manan_staff):
    return build.volunteer(fireflies, manan_staff, "赵桂兰", account="zhao_volunteer")


def serve(team, staff, volunteer, starts: dt.datetime):
    activity = build.activity(team, staff, starts=starts, hours=2)
    return build.served(activity, volunteer, staff, in_at=starts,
                        out_at=starts + dt.timedelta(hours=1))  # fmt: skip


def public_page(community, **query) -> str:
    url = reverse("public:transparency", args=[public_views.public_form_token(community)])
    return Client().get(url, query, **EN).content.decode()


def membership(volunteer) -> Membership:
    return volunteer.memberships.get(left_on__isnull=True)


def test_only_volunteers_who_said_yes_are_thanked_by_the_name_they_chose(
    as_user, published, manan_staff, fireflies, wang, zhao
):
    serve(fireflies, manan_staff, wang, local(2026, 11, 18, 9, 0))
    serve(fireflies, manan_staff, zhao, local(2026, 11, 18, 9, 0))
    assert "Thank you, volunteers" not in public_page(published)  # nobody said yes yet

    client = as_user(wang.user)
    mine = client.get(reverse("volunteers:mine")).content.decode()
    thanks_url = reverse("volunteers:member_thanks", args=[membership(wang).pk])
    assert thanks_url in mine and "Not thanked by name in public." in mine
    response = client.post(thanks_url, {"thanks_consent": "on", "thanks_name": "王阿姨"})
    assert response.status_code == 302 and response.url == reverse("volunteers:mine")
    assert "Thanked in public as 王阿姨." in client.get(reverse("volunteers:mine")).content.decode()

    page = public_page(published)
    assert "Thank you, volunteers" in page
    assert "王阿姨" in page
    for private in ("王秀兰", "赵桂兰"):
        assert private not in page
    # October's page: 王 served in November only.
    assert "王阿姨" not in public_page(published, month="2026-10")

    # Saying no takes the name off at once, and forgets it.
    client.post(thanks_url, {"thanks_name": "王阿姨"})
    assert (membership(wang).thanks_consent, membership(wang).thanks_name) == (False, "")
    assert "王阿姨" not in public_page(published)


def test_staff_record_the_consent_a_volunteer_gave_in_person(
    as_user, published, manan_staff, fireflies, zhao
):
    serve(fireflies, manan_staff, zhao, local(2026, 11, 18, 9, 0))
    client = as_user(manan_staff)
    team_page = client.get(reverse("volunteers:team", args=[fireflies.pk])).content.decode()
    url = reverse("volunteers:member_thanks", args=[membership(zhao).pk])
    assert url in team_page
    response = client.post(url, {"thanks_consent": "on", "thanks_name": "赵"})
    assert response.status_code == 302
    assert "<bdi>赵</bdi>" in public_page(published)


def test_saying_yes_without_a_name_is_refused_with_what_was_typed_kept(as_user, wang):
    url = reverse("volunteers:member_thanks", args=[membership(wang).pk])
    response = as_user(wang.user).post(url, {"thanks_consent": "on", "thanks_name": "  "})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Say the name to show" in page and "checked" in page
    assert membership(wang).thanks_consent is False


def test_another_member_may_not_answer_for_a_volunteer(as_user, wang, zhao):
    url = reverse("volunteers:member_thanks", args=[membership(wang).pk])
    client = as_user(zhao.user)
    assert client.get(url).status_code == 403
    assert client.post(url, {"thanks_consent": "on", "thanks_name": "王"}).status_code == 403
    assert membership(wang).thanks_consent is False


@pytest.mark.outsider("volunteers:member_thanks")
@pytest.mark.parametrize("htmx", [False, True])
def test_outsiders_get_404_on_a_volunteers_thanks(htmx, as_user, xingfu_staff, other_admin, wang):
    url = reverse("volunteers:member_thanks", args=[membership(wang).pk])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for outsider in (xingfu_staff, other_admin):
        client = as_user(outsider)
        assert client.get(url, **headers).status_code == 404
        data = {"thanks_consent": "on", "thanks_name": "外"}
        assert client.post(url, data, **headers).status_code == 404
    assert membership(wang).thanks_consent is False


@pytest.mark.parametrize("n", [1, 6])
def test_the_thank_you_list_takes_one_query_however_many_are_thanked(
    published, manan_staff, fireflies, n
):
    for i in range(n):
        volunteer = build.volunteer(fireflies, manan_staff, f"志愿者{i}")
        serve(fireflies, manan_staff, volunteer, local(2026, 11, 18, 9, 0))
        teams.membership_thanks_set(membership=membership(volunteer), consent=True,
                                    name=f"阿姨{i}", actor=manan_staff)  # fmt: skip
    url = reverse("public:transparency", args=[public_views.public_form_token(published)])
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(url, **EN)
    assert [len(team.names) for team in response.context["thanked"]] == [n]
    assert len(queries) == 7  # as the transparency page's own pin (test_transparency)
