"""Two people edit the same record in two tabs: the second save is refused, nothing is lost.

Each edit form carries the version it was drawn from. The first save goes through and
bumps the version; the second, drawn from the old version, is refused (422) with a message,
shows what was saved meanwhile beside what this person typed, and overwrites nothing.
"""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from common.versions import StaleEdit
from deliberation.models import Schedule
from issues.models import Category
from members import actions
from members.models import CouncilMember, Resident
from tests import factories
from tests.helpers.forms import form_with

STALE = "Someone else changed this while you were working on it."

pytestmark = pytest.mark.django_db


def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def two_tabs(client, url: str, **match: str) -> tuple[dict, dict]:
    """The same edit form loaded twice, as two tabs would."""
    return form_with(client.get(url).text, **match), form_with(client.get(url).text, **match)


def assert_refused(response, *, typed: str, saved: str) -> None:
    assert response.status_code == 422
    assert STALE in response.text
    assert typed in response.text  # what this person typed is kept in the form
    shown = dict(response.context["stale_values"])
    assert saved in shown.values()  # beside what the other person saved


def test_two_tabs_of_a_residents_form(manan, manan_staff, as_user):
    resident = factories.resident(manan, "周海燕", building="1栋", phone="13812345678")
    client = in_english(as_user(manan_staff))
    url = reverse("members:resident_edit", args=[manan.pk, resident.pk])
    first, second = two_tabs(client, url)
    assert first["version"] == "1"

    assert client.post(url, {**first, "building": "3栋"}).status_code == 302
    refused = client.post(url, {**second, "building": "5栋", "note": "新写的备注"})

    assert_refused(refused, typed="新写的备注", saved="3栋")
    assert "13812345678" not in refused.text  # the number stays masked beside the form
    resident.refresh_from_db()
    assert (resident.building, resident.note, resident.version) == ("3栋", "", 2)
    assert resident.phone == "13812345678"

    # The refused form carries the current version: sending it again, on purpose, saves.
    again = form_with(refused.text)
    assert again["building"] == "5栋" and again["version"] == "2"
    assert client.post(url, again).status_code == 302
    resident.refresh_from_db()
    assert (resident.building, resident.version) == ("5栋", 3)


def test_two_tabs_of_a_council_members_form(manan, manan_staff, as_user):
    member = factories.council_member(manan, factories.resident(manan, "郭美玲"))
    client = in_english(as_user(manan_staff))
    url = reverse("members:council_member_edit", args=[manan.pk, member.pk])
    first, second = two_tabs(client, url)

    assert client.post(url, {**first, "role": "leader"}).status_code == 302
    refused = client.post(
        url, {**second, "is_lane_leader": "on", "covers_lane": "和平一巷", "role": "deputy"}
    )

    assert_refused(refused, typed="和平一巷", saved="leader")
    member.refresh_from_db()
    assert (member.role, member.is_lane_leader, member.covers_lane) == ("leader", False, "")
    assert member.version == 2


def test_two_tabs_of_a_schedules_form(manan, manan_staff, as_user):
    schedule = factories.schedule(manan)
    client = in_english(as_user(manan_staff))
    url = reverse("schedules:edit", args=[manan.pk, schedule.pk])
    first, second = two_tabs(client, url)

    assert client.post(url, {**first, "place": "三楼活动室"}).status_code == 302
    refused = client.post(url, {**second, "place": "一楼会议室", "start_time": "09:30"})

    assert_refused(refused, typed="一楼会议室", saved="三楼活动室")
    schedule.refresh_from_db()
    assert (schedule.place, f"{schedule.start_time:%H:%M}") == ("三楼活动室", "15:00")
    assert schedule.version == 2


def test_two_tabs_of_a_category_row(nanen, nanen_admin, as_user):
    lift = factories.category(nanen, "facilities")
    client = in_english(as_user(nanen_admin))
    url = reverse("issues:categories", args=[nanen.pk])
    first, second = two_tabs(client, url, category=str(lift.pk))
    assert first["version"] == "1"

    assert client.post(url, {**first, "name_en": "Lifts"}).status_code == 302
    refused = client.post(url, {**second, "name_en": "Public facilities", "position": "7"})

    assert_refused(refused, typed="Public facilities", saved="Lifts")
    lift.refresh_from_db()
    assert (lift.name_en, lift.version) == ("Lifts", 2)
    assert lift.position != 7


def test_a_normal_save_bumps_each_version(manan, nanen, manan_staff, nanen_admin, as_user):
    resident = factories.resident(manan, "孙振华")
    member = factories.council_member(manan)
    schedule = factories.schedule(manan)
    lift = factories.category(nanen, "facilities")
    staff, admin = as_user(manan_staff), as_user(nanen_admin)
    pages = [
        (staff, reverse("members:resident_edit", args=[manan.pk, resident.pk]), {}),
        (staff, reverse("members:council_member_edit", args=[manan.pk, member.pk]), {}),
        (staff, reverse("schedules:edit", args=[manan.pk, schedule.pk]), {}),
        (admin, reverse("issues:categories", args=[nanen.pk]), {"category": str(lift.pk)}),
    ]
    for client, url, match in pages:
        for _time in range(2):
            form = form_with(client.get(url).text, **match)
            assert client.post(url, form).status_code == 302
    assert Resident.objects.get(pk=resident.pk).version == 3
    assert CouncilMember.objects.get(pk=member.pk).version == 3
    assert Schedule.objects.get(pk=schedule.pk).version == 3
    assert Category.objects.get(pk=lift.pk).version == 3


def test_a_save_and_a_stale_save_run_a_fixed_number_of_queries(
    manan, nanen, manan_staff, nanen_admin, as_user, django_assert_num_queries
):
    resident = factories.resident(manan, "孙振华")
    lift = factories.category(nanen, "facilities")
    resident_url = reverse("members:resident_edit", args=[manan.pk, resident.pk])
    categories_url = reverse("issues:categories", args=[nanen.pk])
    staff, admin = as_user(manan_staff), as_user(nanen_admin)
    resident_tabs = two_tabs(staff, resident_url)
    category_tabs = two_tabs(admin, categories_url, category=str(lift.pk))
    with django_assert_num_queries(QUERIES["resident saved"]):
        assert staff.post(resident_url, resident_tabs[0]).status_code == 302
    with django_assert_num_queries(QUERIES["resident refused"]):
        assert staff.post(resident_url, resident_tabs[1]).status_code == 422
    with django_assert_num_queries(QUERIES["category saved"]):
        assert admin.post(categories_url, category_tabs[0]).status_code == 302
    with django_assert_num_queries(QUERIES["category refused"]):
        assert admin.post(categories_url, category_tabs[1]).status_code == 422


# The refusal reads the record under its lock and draws the page again; nothing is written.
QUERIES = {
    "resident saved": 13,
    "resident refused": 9,
    "category saved": 11,
    "category refused": 9,
}


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_once_from_the_same_version_keep_one_and_refuse_the_other(manan, manan_staff):
    """Two requests racing on their own connections: the row lock lets one through."""
    resident = factories.resident(manan, "周海燕", building="1栋")
    barrier = threading.Barrier(2)
    saved, refused, errors = [], [], []

    def save(building: str) -> None:
        try:
            barrier.wait(timeout=10)
            fields = {name: getattr(resident, name) for name in actions.RESIDENT_FIELDS}
            actions.resident_update(
                actor=manan_staff,
                resident=resident,
                expected_version=1,
                **{**fields, "building": building},
            )
            saved.append(building)
        except StaleEdit:
            refused.append(building)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(b,)) for b in ("3栋", "5栋")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert len(saved) == 1 and len(refused) == 1
    resident.refresh_from_db()
    assert (resident.building, resident.version) == (saved[0], 2)
