from __future__ import annotations

import re

import pytest
from django.urls import reverse

from members import actions
from members.models import PhoneReveal, Resident
from tests import factories


def test_staff_add_a_resident_with_a_normalised_phone(manan, manan_staff, as_user):
    response = as_user(manan_staff).post(
        reverse("members:resident_create", args=[manan.pk]),
        {"name": " 赵桂兰 ", "phone": "+86 138-1234-5678", "building": "7栋", "room": "302"},
    )
    assert response.status_code == 302
    resident = Resident.objects.get(name="赵桂兰")
    assert resident.community == manan
    assert resident.phone == "13812345678"
    assert resident.building == "7栋"


def test_bad_phone_is_refused_with_a_message_and_the_typing_kept(manan, manan_staff, as_user):
    response = as_user(manan_staff).post(
        reverse("members:resident_create", args=[manan.pk]),
        {"name": "赵桂兰", "phone": "12345", "building": "7栋", "note": "腿脚不便"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "11-digit mobile number" in page or "11 位手机号码" in page
    assert 'value="赵桂兰"' in page and 'value="7栋"' in page and "腿脚不便" in page
    assert not Resident.objects.filter(name="赵桂兰").exists()


def test_phone_form_says_why_the_number_is_collected(manan, manan_staff, as_user):
    page = as_user(manan_staff).get(reverse("members:resident_create", args=[manan.pk]))
    form = page.context["form"]
    assert "deleted" in str(form.fields["phone"].help_text) or "删除" in str(
        form.fields["phone"].help_text
    )


def test_edit_keeps_the_resident_and_changes_fields(manan, manan_staff, as_user):
    resident = factories.resident(manan, "周海燕", building="1栋")
    response = as_user(manan_staff).post(
        reverse("members:resident_edit", args=[manan.pk, resident.pk]),
        {
            "name": "周海燕",
            "phone": "",
            "building": "2栋",
            "lane": "和平巷",
            "room": "",
            "note": "",
        },
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert (resident.building, resident.lane) == ("2栋", "和平巷")


def test_deactivate_hides_from_list_and_reactivate_restores(manan, manan_staff, as_user):
    client = as_user(manan_staff)
    resident = factories.resident(manan, "孙振华", phone="13812345678")
    response = client.post(
        reverse("members:resident_deactivate", args=[manan.pk, resident.pk]), {"reason": "搬走了"}
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert (
        not resident.is_active
        and resident.deactivated_at
        and resident.deactivation_reason == "搬走了"
    )
    assert resident.phone == ""  # kept only while they live here
    listing = client.get(reverse("members:residents", args=[manan.pk]))
    assert resident not in listing.context["page"].rows
    with_inactive = client.get(reverse("members:residents", args=[manan.pk]) + "?inactive=1")
    assert resident in with_inactive.context["page"].rows
    client.post(reverse("members:resident_reactivate", args=[manan.pk, resident.pk]))
    resident.refresh_from_db()
    assert resident.is_active and resident.deactivated_at is None


def test_a_serving_council_member_cannot_be_deactivated(manan, manan_staff, as_user):
    member = factories.council_member(manan, factories.resident(manan, "马文明"))
    response = as_user(manan_staff).post(
        reverse("members:resident_deactivate", args=[manan.pk, member.resident.pk]), {"reason": ""}
    )
    assert response.status_code == 422
    assert "council" in response.content.decode() or "议事会" in response.content.decode()
    member.resident.refresh_from_db()
    assert member.resident.is_active


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("李", {"李秀英"}),
        ("5678", {"李秀英"}),
        ("3栋", {"张国华"}),
        ("和平", {"张国华"}),
        ("9999", set()),
    ],
)
def test_search_by_name_phone_tail_and_building(manan, manan_staff, as_user, search, found):
    factories.resident(manan, "李秀英", phone="13812345678", building="5栋")
    factories.resident(manan, "张国华", phone="13900001111", building="3栋", lane="和平巷")
    response = as_user(manan_staff).get(
        reverse("members:residents", args=[manan.pk]), {"q": search}
    )
    names = {r.name for r in response.context["page"].rows}
    assert names == found


def test_htmx_search_renders_only_the_results_partial(manan, manan_staff, as_user):
    factories.resident(manan, "李秀英")
    response = as_user(manan_staff).get(
        reverse("members:residents", args=[manan.pk]), {"q": "李"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="results"')
    assert "<html" not in page and "李秀英" in page


def test_list_pages_by_key_and_show_more_returns_rows_only(manan, manan_staff, as_user):
    Resident.objects.bulk_create(Resident(community=manan, name=f"居民{i:03d}") for i in range(120))
    client = as_user(manan_staff)
    url = reverse("members:residents", args=[manan.pk])
    first = client.get(url)
    seen = [r.name for r in first.context["page"].rows]
    cursor = first.context["page"].next_cursor
    while cursor:
        more = client.get(
            url, {"after": cursor}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="more-rows"
        )
        html = more.content.decode()
        assert "<table" not in html and html.lstrip().startswith("<tr")
        seen += re.findall(r"居民\d{3}", html)
        found = re.search(r'hx-get="\?after=([\w-]+)"', html)
        cursor = found and found.group(1)
    assert seen == sorted(f"居民{i:03d}" for i in range(120))


def test_tampered_cursor_falls_back_to_first_page(manan, manan_staff, as_user):
    factories.resident(manan, "李秀英")
    response = as_user(manan_staff).get(
        reverse("members:residents", args=[manan.pk]), {"after": "not-a-cursor!!"}
    )
    assert response.status_code == 200
    assert [r.name for r in response.context["page"].rows] == ["李秀英"]


# --- Phone masking and the reveal log -------------------------------------------------


def test_list_shows_phones_masked(manan, manan_staff, as_user):
    factories.resident(manan, "李秀英", phone="13812345678")
    page = as_user(manan_staff).get(reverse("members:residents", args=[manan.pk])).content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page


def test_revealing_a_phone_is_recorded(manan, manan_staff, as_user):
    resident = factories.resident(manan, "李秀英", phone="13812345678")
    response = as_user(manan_staff).post(
        reverse("members:resident_phone", args=[manan.pk, resident.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    reveal = PhoneReveal.objects.get()
    assert (reveal.actor, reveal.resident) == (manan_staff, resident)
    assert reveal.created is not None


def test_revealing_needs_a_post(manan, manan_staff, as_user):
    resident = factories.resident(manan, "李秀英", phone="13812345678")
    response = as_user(manan_staff).get(
        reverse("members:resident_phone", args=[manan.pk, resident.pk])
    )
    assert response.status_code == 405
    assert PhoneReveal.objects.count() == 0


def test_phone_never_appears_in_the_url_of_the_reveal(manan, manan_staff, as_user):
    resident = factories.resident(manan, "李秀英", phone="13812345678")
    url = reverse("members:resident_phone", args=[manan.pk, resident.pk])
    assert "1381" not in url


def test_actions_refuse_double_deactivation(manan, manan_staff):
    resident = factories.resident(manan, "李秀英")
    actions.resident_deactivate(actor=manan_staff, resident=resident)
    with pytest.raises(actions.ActionError):
        actions.resident_deactivate(actor=manan_staff, resident=resident)


def test_edit_form_never_shows_the_stored_number(manan, manan_staff, as_user):
    resident = factories.resident(manan, "周海燕", phone="13812345678")
    url = reverse("members:resident_edit", args=[manan.pk, resident.pk])
    client = as_user(manan_staff)
    html = client.get(url).content.decode()
    assert "13812345678" not in html and "138****5678" in html
    fields = {"name": "周海燕", "phone": "", "building": "2栋", "lane": "", "room": "", "note": ""}
    client.post(url, fields)
    resident.refresh_from_db()
    assert resident.phone == "13812345678" and resident.building == "2栋"
    client.post(url, {**fields, "phone": "139 0000 1111"})
    resident.refresh_from_db()
    assert resident.phone == "13900001111"
    client.post(url, {**fields, "clear_phone": "on"})
    resident.refresh_from_db()
    assert resident.phone == ""
    assert PhoneReveal.objects.count() == 0
