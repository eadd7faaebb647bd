"""Staff intake: "Raised by" asks only for what its answer needs, the resident is found
by a search of this community's register, and the channel starts at the one last used."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from issues.models import Issue
from members.models import Resident
from tests import factories


@pytest.fixture
def facilities(nanen):
    return factories.category(nanen, "facilities")


def intake(category, **fields) -> dict:
    return {
        "channel": "hotline",
        "reporter_mode": "existing",
        "title": "3号楼电梯停了",
        "category": category.pk,
        "description": "",
        "place": "",
        **fields,
    }


def test_the_form_draws_no_list_of_every_resident(as_user, manan, manan_staff):
    for i in range(30):
        factories.resident(manan, f"登记居民{i:02d}", building="5栋")

    page = as_user(manan_staff).get(reverse("issues:report", args=[manan.pk])).text

    assert "登记居民" not in page
    assert 'name="reporter_q"' in page
    assert reverse("issues:resident_picker", args=[manan.pk]) in page
    # Each answer's fields in its own group, which the page shows only for that answer.
    assert 'data-reporter-for="existing"' in page
    assert 'data-reporter-for="new"' in page
    assert 'data-reporter-for="new anonymous"' in page


def test_the_search_finds_this_communitys_residents_only(as_user, manan, xingfu, manan_staff):
    wang = factories.resident(manan, "王秀英", building="3栋", phone="13812345678")
    factories.resident(manan, "李建国", building="4栋")
    factories.resident(xingfu, "王大妈", building="1栋")
    url = reverse("issues:resident_picker", args=[manan.pk])

    found = as_user(manan_staff).get(url, {"reporter_q": "王"}, HTTP_HX_REQUEST="true")

    assert found.status_code == 200
    assert f'value="{wang.pk}"' in found.text and "王秀英" in found.text
    assert "王大妈" not in found.text and "李建国" not in found.text
    assert "13812345678" not in found.text  # phones masked
    by_phone = as_user(manan_staff).get(url, {"reporter_q": "5678"}, HTTP_HX_REQUEST="true")
    assert "王秀英" in by_phone.text
    nothing = as_user(manan_staff).get(url, {"reporter_q": "赵"}, HTTP_HX_REQUEST="true")
    assert 'name="reporter"' not in nothing.text and "赵" in nothing.text


def test_the_search_says_when_more_match_than_it_lists(as_user, manan, manan_staff):
    for i in range(25):
        factories.resident(manan, f"陈{i:02d}")
    url = reverse("issues:resident_picker", args=[manan.pk])
    found = as_user(manan_staff).get(url, {"reporter_q": "陈"}, HTTP_HX_REQUEST="true")
    assert found.text.count('name="reporter"') == 20
    assert "type more of the name" in found.text or "多输入几个字" in found.text


@pytest.mark.outsider("issues:resident_picker")
def test_another_communitys_staff_cannot_search_its_residents(as_user, manan, xingfu_staff):
    factories.resident(manan, "王秀英")
    url = reverse("issues:resident_picker", args=[manan.pk])
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = as_user(xingfu_staff).get(url, {"reporter_q": "王"}, **headers)
        assert response.status_code == 404
        assert "王秀英" not in response.content.decode()


def test_a_council_member_gets_no_resident_search(as_user, manan, manan_member):
    factories.resident(manan, "王秀英")
    url = reverse("issues:resident_picker", args=[manan.pk])
    response = as_user(manan_member).get(url, {"reporter_q": "王"})
    assert response.status_code == 403
    assert "王秀英" not in response.content.decode()


@pytest.mark.outsider("issues:report")
def test_another_communitys_resident_is_refused_and_not_shown(
    as_user, manan, xingfu, manan_staff, xingfu_staff, facilities
):
    stranger = factories.resident(xingfu, "王大妈", building="1栋", phone="13900001111")
    client = as_user(manan_staff)

    response = client.post(
        reverse("issues:report", args=[manan.pk]), intake(facilities, reporter=stranger.pk)
    )

    assert response.status_code == 422
    assert "请从搜索结果中选择本社区的居民" in response.text
    assert "王大妈" not in response.text
    assert not Issue.objects.exists()
    outsider = as_user(xingfu_staff).get(reverse("issues:report", args=[manan.pk]))
    assert outsider.status_code == 404


def test_the_chosen_resident_is_recorded(as_user, manan, manan_staff, facilities):
    wang = factories.resident(manan, "王秀英", building="3栋")
    response = as_user(manan_staff).post(
        reverse("issues:report", args=[manan.pk]), intake(facilities, reporter=wang.pk)
    )
    assert response.status_code == 302
    assert Issue.objects.get().reporter == wang


def test_fields_of_other_answers_are_not_judged(as_user, manan, manan_staff, facilities):
    client = as_user(manan_staff)
    url = reverse("issues:report", args=[manan.pk])
    wang = factories.resident(manan, "王秀英")
    # A name left in the (hidden) new-resident fields does not make a new resident.
    client.post(url, intake(facilities, reporter=wang.pk, new_name="张三", new_building="9栋"))
    assert Issue.objects.get().reporter == wang
    assert not Resident.objects.filter(name="张三").exists()
    # Anonymous: a stale resident search or choice is not an error, and nobody is recorded.
    done = client.post(
        url,
        intake(facilities, reporter_mode="anonymous", reporter_q="王", reporter="999999"),
    )
    assert done.status_code == 302
    assert Issue.objects.order_by("-pk").first().reporter is None


def test_a_refused_form_keeps_what_was_typed_in_every_group(
    as_user, manan, manan_staff, facilities
):
    wang = factories.resident(manan, "王秀英", building="3栋")
    response = as_user(manan_staff).post(
        reverse("issues:report", args=[manan.pk]),
        intake(
            facilities,
            title="",
            reporter=wang.pk,
            reporter_q="王",
            new_name="张三",
            new_building="9栋",
        ),
    )
    assert response.status_code == 422
    text = response.text
    assert f'value="{wang.pk}" checked' in text
    assert 'value="张三"' in text and 'value="9栋"' in text and 'value="王"' in text
    assert re.search(r'<input type="radio" name="reporter_mode" value="existing"[^>]*checked', text)


def test_the_search_button_works_without_javascript(as_user, manan, manan_staff, facilities):
    factories.resident(manan, "王秀英", building="3栋")
    response = as_user(manan_staff).post(
        reverse("issues:report", args=[manan.pk]),
        intake(facilities, title="楼道灯坏了", reporter_q="王", find_resident="1"),
    )
    assert response.status_code == 200
    assert "王秀英" in response.text
    assert 'value="楼道灯坏了"' in response.text  # what was typed is kept
    assert 'class="error"' not in response.text  # nothing judged yet
    assert not Issue.objects.exists()


def test_the_channel_starts_at_the_one_last_used(as_user, manan, manan_staff, facilities):
    client = as_user(manan_staff)
    url = reverse("issues:report", args=[manan.pk])
    first = client.get(url).text
    assert 'value="home_visit" selected' not in first

    client.post(url, intake(facilities, channel="home_visit", reporter_mode="anonymous"))

    assert 'value="home_visit" selected' in client.get(url).text


def test_report_page_and_search_query_counts(
    as_user, manan, manan_staff, facilities, django_assert_num_queries
):
    client = as_user(manan_staff)
    url = reverse("issues:report", args=[manan.pk])
    search = reverse("issues:resident_picker", args=[manan.pk])
    for i in range(3):
        factories.resident(manan, f"王{i}")
    # session, user with its unread count, roles; community, categories, the channel last used
    with django_assert_num_queries(6):
        client.get(url)
    # session, user with its unread count, roles; community; residents matching
    with django_assert_num_queries(5):
        client.get(search, {"reporter_q": "王"}, HTTP_HX_REQUEST="true")
    for i in range(40):
        factories.resident(manan, f"王{i + 3}")
    with django_assert_num_queries(6):
        client.get(url)
    with django_assert_num_queries(5):
        client.get(search, {"reporter_q": "王"}, HTTP_HX_REQUEST="true")
