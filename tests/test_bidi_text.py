"""Bidirectional control characters: taken out of what is typed, kept apart where shown.

A right-to-left override (U+202E) in a name turns the masked phone shown after it around;
in a title, "\u202eevil" reads "live". Forms drop such characters as they clean what was
typed, pages show names inside <bdi>, and exports drop them from rows stored before.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from common.downloads import csv_cell
from common.text import strip_bidi
from deliberation.models import Meeting, Minutes
from issues.models import Event, Issue
from members.models import Resident
from public import forms as public_forms
from public import views as public_views
from tests import factories

RLO = "\u202e"
CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
PHONE = "13812345678"
MASKED = "138****5678"


def has_controls(text: str) -> bool:
    return any(char in text for char in CONTROLS)


def test_strip_bidi_takes_out_every_control_and_nothing_else():
    assert strip_bidi(f"王🙂{CONTROLS}五 abc") == "王🙂五 abc"


def test_staff_adding_a_resident_store_the_name_without_controls(manan, manan_staff, as_user):
    client = as_user(manan_staff)
    response = client.post(
        reverse("members:resident_create", args=[manan.pk]),
        {"name": f"王🙂{RLO}五", "phone": PHONE, "building": "\u20677栋\u2069", "room": ""},
    )
    assert response.status_code == 302
    resident = Resident.objects.get(community=manan)
    assert (resident.name, resident.building) == ("王🙂五", "7栋")
    page = client.get(reverse("members:residents", args=[manan.pk])).content.decode()
    assert "<bdi>王🙂五</bdi>" in page and MASKED in page


def test_a_name_of_controls_alone_is_an_empty_name(manan, manan_staff, as_user):
    response = as_user(manan_staff).post(
        reverse("members:resident_create", args=[manan.pk]),
        {"name": f"{RLO}\u200f ", "phone": PHONE, "building": "", "room": ""},
    )
    assert response.status_code == 422
    assert not Resident.objects.exists()


def test_a_comment_is_stored_without_controls(manan, manan_staff, as_user):
    issue = factories.issue(manan, actor=manan_staff, title="电梯异响")
    response = as_user(manan_staff).post(
        reverse("issues:comment", args=[issue.pk]), {"text": f"已联系{RLO}物业"}
    )
    assert response.status_code in (200, 302)
    assert issue.events.get(kind=Event.Kind.COMMENT).note == "已联系物业"


def test_minutes_are_saved_without_controls(manan, manan_staff, as_user):
    starts = dt.datetime(2026, 3, 18, 15, 0, tzinfo=timezone.get_default_timezone())
    meeting = Meeting.objects.create(
        council=manan.council, starts_at=starts, notice_due_at=starts - dt.timedelta(days=3),
        place="社区居民议事点",
    )  # fmt: skip
    client = as_user(manan_staff)
    client.post(reverse("minutes:draft", args=[meeting.pk]))
    minutes = Minutes.objects.get()
    stamp = client.get(reverse("minutes:edit", args=[minutes.pk])).context["form"]["stamp"].value()
    saved = client.post(
        reverse("minutes:edit", args=[minutes.pk]),
        {"title": f"{RLO}会议纪要", "text": "一、出席情况\u2066（七人）\u2069", "stamp": stamp},
    )
    assert saved.status_code == 302
    minutes.refresh_from_db()
    assert (minutes.title, minutes.text) == ("会议纪要", "一、出席情况（七人）")


@pytest.mark.usefixtures("clear_cache")
def test_the_public_report_form_stores_title_and_name_without_controls(client, manan, monkeypatch):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    url = reverse("public:report", args=[public_views.public_form_token(manan)])
    page = client.get(url).content.decode()
    rendered = page.split('name="rendered" value="')[1].split('"')[0]
    response = client.post(
        url,
        {
            "title": f"{RLO}evil",
            "category": factories.category(manan.street, "environment").pk,
            "description": "楼道\u2066堆满\u2069纸箱",
            "place": "3栋",
            "contact_name": f"王{RLO}五",
            "contact_phone": "",
            "homepage": "",
            "rendered": rendered,
        },
    )
    assert response.status_code == 302
    issue = Issue.objects.get()
    assert (issue.title, issue.contact_name) == ("evil", "王五")
    assert issue.description == "楼道堆满纸箱"


def test_every_project_text_field_drops_controls():
    """Forms to come are covered too: the cleaning sits in Django's own text field."""

    class Any(forms.Form):
        name = forms.CharField()
        mail = forms.EmailField()
        note = forms.CharField(required=False, strip=False)

    form = Any({"name": f" 王{RLO}五 ", "mail": f"a{RLO}@example.com", "note": f"{RLO}"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"name": "王五", "mail": "a@example.com", "note": ""}


def test_a_name_stored_before_is_shown_isolated_beside_its_masked_phone(
    manan, manan_staff, as_user
):
    # Stored before forms dropped controls: the page keeps it from reversing the phone.
    reporter = factories.resident(manan, f"王🙂{RLO}五", phone=PHONE)
    issue = factories.issue(manan, actor=manan_staff, title="电梯异响", reporter=reporter)
    page = as_user(manan_staff).get(reverse("issues:detail", args=[issue.pk])).content.decode()
    assert f"<bdi>王🙂{RLO}五</bdi> · {MASKED}" in page
    residents = as_user(manan_staff).get(reverse("members:residents", args=[manan.pk]))
    assert f"<bdi>王🙂{RLO}五</bdi>" in residents.content.decode()


def test_exports_of_rows_stored_before_carry_no_controls(manan, manan_staff, as_user):
    reporter = factories.resident(manan, f"王{RLO}五", phone=PHONE)
    factories.issue(
        manan, actor=manan_staff, title=f"{RLO}evil", place="\u20663栋\u2069",
        reporter=reporter, contact_name=f"李{RLO}阿姨",
    )  # fmt: skip
    client = as_user(manan_staff)
    response = client.get(reverse("issues:export_csv"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert "evil" in text and "3栋" in text
    assert not has_controls(text)
    assert [row[1] for row in list(csv.reader(io.StringIO(text[1:])))[1:-1]] == ["evil"]

    response = client.get(reverse("issues:export_xlsx"))
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [str(v) for row in workbook.active.iter_rows(values_only=True) for v in row if v]
    assert "evil" in cells
    assert not any(has_controls(cell) for cell in cells)


def test_a_control_cannot_hide_a_formula_from_the_csv_defence():
    assert csv_cell(f"{RLO}=HYPERLINK(1)") == "'=HYPERLINK(1)"
