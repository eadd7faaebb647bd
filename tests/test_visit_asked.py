"""Visits residents ask for (应约走访): from the community's public page to the paired team,
a date texted once, and the visit that closes the request."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from members.models import Notice
from public import forms as public_forms
from public import views as public_views
from tests import factories
from tests.helpers import visits as build
from visits.actions import VisitsRefusal, asked
from visits.models import AskedPhoneReveal, AskedVisit, Visit

STAMP = re.compile(r'name="rendered" value="([^"]+)"')
pytestmark = pytest.mark.usefixtures("clear_cache")


@pytest.fixture(autouse=True)
def no_minimum_age(monkeypatch):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)


@pytest.fixture
def leader(db):
    return build.cadre("li_cadre")


@pytest.fixture
def team(nanen, manan, nanen_admin, leader):
    return build.team(nanen, "马南走访队", leader=leader, communities=[manan], admin=nanen_admin)


@pytest.fixture
def ask_url(manan):
    return reverse("public:ask_visit", args=[public_views.public_form_token(manan)])


def ask(client, url, **overrides):
    page = client.get(url)
    assert page.status_code == 200
    data = {"name": "王阿姨", "topic": "想聊聊加装电梯", "preferred_times": "周末上午",
            "phone": "138 1234 5678", "phone_consent": "on", "address": "一巷3栋101",
            "homepage": "", "rendered": STAMP.search(page.text)[1]}  # fmt: skip
    data.update(overrides)
    return client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")


def test_a_request_reaches_the_team_and_the_resident_is_texted_once(
    client, as_user, team, ask_url, leader, manan
):
    report = client.get(reverse("public:report", args=[public_views.public_form_token(manan)]))
    assert ask_url in report.text  # the public page leads there
    response = ask(client, ask_url)
    assert response.status_code == 302
    request = AskedVisit.objects.get()
    assert (request.team, request.phone, request.state) == (team, "13812345678", "requested")
    assert request.phone_consent_at is not None
    page = as_user(leader).get(reverse("visits:team", args=[team.pk]))
    assert "想聊聊加装电梯" in page.text and reverse("visits:asked", args=[request.pk]) in page.text

    url = reverse("visits:asked_schedule", args=[request.pk])
    data = {"when": "2026-11-21T09:30", "submission_key": "s-1"}
    assert as_user(leader).post(url, data).status_code == 302
    assert as_user(leader).post(url, data).status_code == 302  # the same form again
    with translation.override("en"), pytest.raises(VisitsRefusal, match="already has a date"):
        asked.asked_visit_schedule(actor=leader, asked=request,
                                   when=timezone.now() + dt.timedelta(days=5))  # fmt: skip
    texts = Notice.objects.filter(kind="asked_visit_scheduled")
    assert texts.count() == 1
    text = texts.get()
    assert text.phone == "13812345678" and text.context["when"] == "2026-11-21 09:30"
    assert text.recipient_id is None

    wang = factories.resident(manan, "王阿姨", lane="一巷", building="3栋", room="101",
                              phone="13812345678")  # fmt: skip
    page = as_user(leader).get(reverse("visits:asked", args=[request.pk]))
    assert f'value="{wang.pk}"' in page.text  # found by the number she left
    record = as_user(leader).post(
        reverse("visits:asked_visit", args=[request.pk]),
        {
            "resident": wang.pk,
            "visited_on": "2026-11-18",
            "notes": "谈了电梯",
            "submission_key": "v",
        },
    )
    assert record.status_code == 302
    request.refresh_from_db()
    assert request.state == "visited" and request.visit.kind == Visit.Kind.ASKED_FOR
    page = as_user(leader).get(reverse("visits:team", args=[team.pk]))
    assert reverse("visits:asked", args=[request.pk]) not in page.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phone": "", "address": ""}, "Leave a phone number or an address"),
        ({"phone_consent": ""}, "Agree to be contacted at this number"),
        ({"phone": "123"}, "11-digit mobile number"),
        ({"topic": ""}, "what it is about"),
    ],
)
def test_bad_requests_are_refused_with_nothing_written(client, team, ask_url, change, message):
    response = ask(client, ask_url, **change)
    assert response.status_code == 422
    assert message in response.text
    assert "王阿姨" in response.text  # nothing typed is lost
    assert not AskedVisit.objects.exists()


def test_an_address_alone_will_do_and_a_double_tap_asks_once(client, team, ask_url):
    page = client.get(ask_url)
    stamp = STAMP.search(page.text)[1]
    first = ask(client, ask_url, phone="", phone_consent="", rendered=stamp)
    second = ask(client, ask_url, phone="", phone_consent="", rendered=stamp)
    assert first.status_code == second.status_code == 302
    assert AskedVisit.objects.get().address == "一巷3栋101"


def test_a_connection_asks_a_few_times_an_hour(client, team, ask_url):
    for _ in range(3):
        assert ask(client, ask_url).status_code == 302
    refused = ask(client, ask_url)
    assert refused.status_code == 429 and "last hour" in refused.text
    assert AskedVisit.objects.count() == 3


def test_a_community_with_no_team_says_so(client, ask_url, manan):
    page = client.get(ask_url)
    assert "No visiting team" in page.text or "还没有" in page.text
    with translation.override("en"), pytest.raises(VisitsRefusal, match="No visiting team"):
        asked.asked_visit_create(community=manan, name="王", topic="事", address="一巷")


def test_bad_dates_are_refused(as_user, team, leader, manan):
    request = asked.asked_visit_create(community=manan, name="王", topic="事", address="一巷")
    response = as_user(leader).post(
        reverse("visits:asked_schedule", args=[request.pk]),
        {"when": "2026-11-01T09:00", "submission_key": "s"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422 and "still to come" in response.text
    request.refresh_from_db()
    assert request.state == "requested" and not Notice.objects.exists()


@pytest.mark.outsider(
    "visits:asked", "visits:asked_schedule", "visits:asked_visit", "public:ask_visit",
    "public:visit_asked",
)  # fmt: skip
def test_outsiders_get_404(client, as_user, team, manan, xingfu, nanen, other_admin,
                           xingfu_staff, manan_staff):  # fmt: skip
    request = asked.asked_visit_create(community=manan, name="王", topic="事", address="一巷")
    other_team = build.team(nanen, "另一队", leader=build.cadre("another"))
    wang = factories.resident(manan, "王阿姨", building="3栋", room="101")
    for who in [other_admin, xingfu_staff, manan_staff, other_team.leader]:
        member = as_user(who)
        assert member.get(reverse("visits:asked", args=[request.pk])).status_code == 404
        schedule = {"when": "2026-11-21T09:30", "submission_key": "s"}
        assert member.post(reverse("visits:asked_schedule", args=[request.pk]),
                           schedule).status_code == 404  # fmt: skip
        record = {"resident": wang.pk, "visited_on": "2026-11-18", "submission_key": "v"}
        assert member.post(reverse("visits:asked_visit", args=[request.pk]),
                           record).status_code == 404  # fmt: skip
    forged = f"{manan.pk}-0000000000"
    assert client.get(reverse("public:ask_visit", args=[forged])).status_code == 404
    assert client.post(reverse("public:ask_visit", args=[forged]), {}).status_code == 404
    assert client.get(reverse("public:visit_asked", args=[forged])).status_code == 404
    request.refresh_from_db()
    assert request.state == "requested" and not Visit.objects.exists()
    assert not Notice.objects.filter(kind="asked_visit_scheduled").exists()


# --- The number the resident left: masked, each full view recorded; erased in time ---------


@pytest.mark.outsider("visits:asked_phone")
def test_the_number_is_masked_and_each_full_view_is_recorded(
    as_user, team, manan, leader, nanen_admin, other_admin, xingfu_staff, nanen
):
    request = asked.asked_visit_create(community=manan, name="王阿姨", topic="加装电梯",
                                       phone="13812345678", phone_consent=True)  # fmt: skip
    page = as_user(leader).get(reverse("visits:asked", args=[request.pk]))
    assert "138****5678" in page.text and "13812345678" not in page.text
    assert "同意就这次走访接听电话或短信" in page.text  # the consent, dated
    url = reverse("visits:asked_phone", args=[request.pk])
    shown = as_user(leader).post(url)
    assert shown.status_code == 200 and "13812345678" in shown.text
    assert "no-store" in shown["Cache-Control"]
    as_user(leader).post(url)
    assert list(AskedPhoneReveal.objects.values_list("actor", "asked")) == [
        (leader.pk, request.pk), (leader.pk, request.pk),
    ]  # fmt: skip
    # The street's admin reads the request, masked, but does not call from it.
    admin_page = as_user(nanen_admin).get(reverse("visits:asked", args=[request.pk]))
    assert "138****5678" in admin_page.text and url not in admin_page.text
    assert as_user(nanen_admin).post(url).status_code == 403
    other_team = build.team(nanen, "另一队", leader=build.cadre("another"))
    for who in [other_admin, xingfu_staff, other_team.leader]:
        assert as_user(who).post(url).status_code == 404
        assert as_user(who).post(url, HTTP_HX_REQUEST="true").status_code == 404
    assert AskedPhoneReveal.objects.count() == 2
    assert as_user(leader).get(url).status_code == 405  # never shown by a link


def test_the_form_says_when_the_contact_details_go(client, team, ask_url):
    page = client.get(ask_url)
    assert "走访后六个月，或提出申请一年后仍未走访的" in page.text


def test_contact_details_are_erased_as_the_form_promises(team, manan, leader, settings):
    from visits.tasks import erase_asked_contacts

    assert (
        settings.CELERY_BEAT_SCHEDULE["erase-asked-visit-contacts"]["task"]
        == "visits.tasks.erase_asked_contacts"
    )
    now = timezone.now()

    def request(name, *, asked_days_ago, visited_days_ago=None):
        made = asked.asked_visit_create(community=manan, name=name, topic="加装电梯",
                                        phone="13812345678", phone_consent=True,
                                        address="一巷3栋101", preferred_times="周末")  # fmt: skip
        asked.asked_visit_schedule(actor=leader, asked=made, when=now + dt.timedelta(days=1))
        AskedVisit.objects.filter(pk=made.pk).update(
            created=now - dt.timedelta(days=asked_days_ago)
        )
        if visited_days_ago is not None:
            resident = factories.resident(manan, name, building="3栋", room=name)
            visit = asked.asked_visit_record(
                actor=leader,
                asked=made,
                resident=resident,
                visited_on=timezone.localdate(),
                notes="谈了电梯",
            )
            Visit.objects.filter(pk=visit.pk).update(
                created=now - dt.timedelta(days=visited_days_ago)
            )
        return made

    visited_long_ago = request("甲", asked_days_ago=200, visited_days_ago=190)
    visited_lately = request("乙", asked_days_ago=100, visited_days_ago=90)
    never_visited = request("丙", asked_days_ago=400)
    waiting = request("丁", asked_days_ago=300)

    assert erase_asked_contacts.delay().get() == 2
    rows = {row.pk: row for row in AskedVisit.objects.all()}
    for gone in (visited_long_ago, never_visited):
        row = rows[gone.pk]
        assert (row.name, row.phone, row.address, row.preferred_times) == ("", "", "", "")
        assert row.contact_erased_at is not None and row.topic == "加装电梯"
        text = Notice.objects.get(key__startswith=f"asked_visit_scheduled:{gone.pk}:")
        assert text.phone == ""
    for kept in (visited_lately, waiting):
        assert rows[kept.pk].phone == "13812345678" and rows[kept.pk].name in ("乙", "丁")
        assert (
            Notice.objects.get(key__startswith=f"asked_visit_scheduled:{kept.pk}:").phone
            == "13812345678"
        )
    # What the team recorded of the visit stays; a second run erases nothing more.
    assert rows[visited_long_ago.pk].visit.notes == "谈了电梯"
    assert asked.asked_contacts_erase() == 0
    page_rows = AskedVisit.objects.filter(contact_erased_at__isnull=False).count()
    assert page_rows == 2
