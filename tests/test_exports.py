"""Inbox exports: what the files hold, who gets full numbers, the export log, tenancy."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from issues import exports
from issues.actions import handling
from issues.models import Issue
from members.models import ExportRecord
from tests import factories

CSV_URL = reverse("issues:export_csv")
XLSX_URL = reverse("issues:export_xlsx")
PHONE = "13812345678"
MASKED = "138****5678"


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    rows = list(csv.reader(io.StringIO(text[1:])))
    # The last line says the file is whole, and how many rows it holds.
    *rows, marker = rows
    assert len(marker) == 1 and marker[0].startswith("# "), marker
    assert f" {len(rows) - 1} " in marker[0], marker
    return rows


def read_xlsx(response) -> list[tuple]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(workbook.active.iter_rows(values_only=True))


def column(rows, header: str) -> list:
    with translation.override("en"):
        index = exports.headers().index(header)
    return [row[index] for row in rows[1:]]


@pytest.fixture
def matters(manan, xingfu, manan_staff):
    """Two matters in 马南社区 (one with a resident's phone), one in 幸福村社区."""
    caller = factories.resident(manan, "李阿姨", phone=PHONE)
    lift = factories.issue(
        manan, actor=manan_staff, title="电梯异响", code="facilities", channel="hotline",
        reporter=caller, place="3栋",
    )  # fmt: skip
    noise = factories.issue(manan, actor=manan_staff, title="夜间噪音", is_urgent=True)
    handling.issue_transition(issue=noise, actor=manan_staff, name="accept")
    parking = factories.issue(xingfu, title="停车难", contact_phone="13900001111")
    return {"lift": lift, "noise": noise, "parking": parking}


# --- What the files hold -------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [{}, {"status": "awaiting"}, {"q": "电梯"}, {"channel": "hotline"}]
)
def test_csv_holds_what_the_inbox_lists(matters, manan_staff, as_user, params):
    client = as_user(manan_staff)
    listed = client.get(reverse("issues:inbox"), params).context["page"].rows
    rows = read_csv(client.get(CSV_URL, params))
    with translation.override("zh-hans"):
        assert rows[0] == exports.headers()
        assert column(rows, "Tracking code") == [issue.tracking_code for issue in listed]
    assert all(len(row) == len(exports.HEADERS) for row in rows)


def test_csv_row_values_in_english(matters, manan_staff, as_user):
    client = as_user(manan_staff)
    client.cookies["django_language"] = "en"
    rows = read_csv(client.get(CSV_URL, {"q": "电梯"}))
    assert rows[0][:3] == ["Tracking code", "Title", "Community"]
    lift = matters["lift"]
    local = timezone.localtime(lift.created, timezone.get_default_timezone())
    assert rows[1][:9] == [
        lift.tracking_code, "电梯异响", "马南社区", lift.category.label, "city hotline",
        "submitted", "council", "no", local.strftime("%Y-%m-%d %H:%M"),
    ]  # fmt: skip
    assert rows[1][11:14] == ["3栋", "李阿姨", MASKED]


def test_xlsx_holds_the_same_rows_as_csv(matters, manan_staff, as_user):
    client = as_user(manan_staff)
    csv_rows = read_csv(client.get(CSV_URL))
    sheet = read_xlsx(client.get(XLSX_URL))
    assert list(sheet[0]) == csv_rows[0]
    assert column(sheet, "Tracking code") == column(csv_rows, "Tracking code")
    reported = column(sheet, "Reported at")
    # Real dates in the workbook (Excel sorts and filters them), local wall-clock time.
    assert all(isinstance(value, dt.datetime) for value in reported)
    assert [v.strftime("%Y-%m-%d %H:%M") for v in reported] == column(csv_rows, "Reported at")
    assert MASKED in column(sheet, "Reporter's phone")


def test_file_names_have_an_ascii_fallback(manan_staff, as_user):
    response = as_user(manan_staff).get(XLSX_URL)
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="issues-')
    assert "filename*=UTF-8''" in disposition and disposition.endswith(".xlsx")
    assert response["Cache-Control"] == "private, no-store"


def test_no_rows_gives_the_header_alone(matters, manan_staff, as_user):
    client = as_user(manan_staff)
    assert read_csv(client.get(CSV_URL, {"q": "没有这个词"})) == [exports.headers()]
    assert [list(row) for row in read_xlsx(client.get(XLSX_URL, {"q": "没有这个词"}))] == [
        exports.headers()
    ]
    assert list(ExportRecord.objects.values_list("rows", flat=True)) == [0, 0]


def test_formula_injection_is_neutralised(manan, manan_staff, as_user):
    factories.issue(
        manan, actor=manan_staff, title='=HYPERLINK("http://evil.example","点我")',
        place="+1 楼", contact_name="@SUM(A1)", contact_phone="",
    )  # fmt: skip
    client = as_user(manan_staff)
    row = read_csv(client.get(CSV_URL))[1]
    assert row[1] == '\'=HYPERLINK("http://evil.example","点我")'
    assert row[11] == "'+1 楼" and row[12] == "'@SUM(A1)"
    response = client.get(XLSX_URL)
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    title = workbook.active.cell(row=2, column=2)
    # Stored as text, exactly as typed: a spreadsheet shows it and never runs it.
    assert title.data_type == "s" and title.value.startswith("=HYPERLINK")


def test_long_exports_are_read_in_chunks_without_losing_or_repeating_rows(
    manan, manan_staff, as_user, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    for i in range(7):
        factories.issue(manan, actor=manan_staff, title=f"事项{i}")
    # Equal timestamps: the id decides the order inside them, and the keyset must too.
    Issue.objects.filter(title__in=["事项2", "事项3", "事项4"]).update(
        created=timezone.now() - dt.timedelta(hours=1)
    )
    client = as_user(manan_staff)
    listed = [issue.title for issue in client.get(reverse("issues:inbox")).context["page"].rows]
    assert column(read_csv(client.get(CSV_URL)), "Title") == listed
    assert sorted(listed) == [f"事项{i}" for i in range(7)]


# --- Phone numbers and the export log ------------------------------------------------------


def test_numbers_are_masked_unless_staff_ask_for_them(matters, manan_staff, as_user):
    client = as_user(manan_staff)
    assert column(read_csv(client.get(CSV_URL)), "Reporter's phone") == ["", MASKED]
    full = read_csv(client.get(CSV_URL, {"phones": "full", "status": "submitted"}))
    assert column(full, "Reporter's phone") == [PHONE]
    sheet = read_xlsx(client.get(XLSX_URL, {"phones": "full"}))
    assert PHONE in column(sheet, "Reporter's phone")
    records = list(ExportRecord.objects.order_by("id"))
    assert [(r.format, r.full_phones) for r in records] == [
        ("csv", False), ("csv", True), ("xlsx", True),
    ]  # fmt: skip


def test_a_street_admin_asking_for_full_numbers_gets_them_masked(matters, nanen_admin, as_user):
    rows = read_csv(as_user(nanen_admin).get(CSV_URL, {"phones": "full"}))
    phones = column(rows, "Reporter's phone")
    assert MASKED in phones and "139****1111" in phones
    assert PHONE not in phones and "13900001111" not in phones
    assert ExportRecord.objects.get().full_phones is False


def test_staff_of_one_community_get_full_numbers_of_theirs_only(
    matters, manan, xingfu_staff, as_user
):
    from members.models import Role

    # Staff of 幸福村 who also admin the street: full numbers would reach 马南 too, so none.
    factories.role(xingfu_staff, Role.Kind.STREET_ADMIN, street=manan.street)
    client = as_user(xingfu_staff)
    phones = column(read_csv(client.get(CSV_URL, {"phones": "full"})), "Reporter's phone")
    assert PHONE not in phones and "13900001111" not in phones
    # Narrowed to their own community, they may.
    own = read_csv(
        client.get(CSV_URL, {"phones": "full", "community": matters["parking"].community_id})
    )
    assert column(own, "Reporter's phone") == ["13900001111"]


def test_every_export_is_logged(matters, manan_staff, nanen, as_user):
    client = as_user(manan_staff)
    category = factories.category(nanen, "facilities")
    read_csv(client.get(CSV_URL, {"q": "电梯", "category": category.pk, "since": "2020-01-01"}))
    record = ExportRecord.objects.get()
    assert record.actor == manan_staff
    assert (record.kind, record.format, record.rows, record.full_phones) == (
        "inbox", "csv", 1, False,
    )  # fmt: skip
    assert record.filters == {"q": "电梯", "category": category.pk, "since": "2020-01-01"}
    assert record.created is not None


# --- Who may export what -------------------------------------------------------------------


@pytest.mark.outsider("issues:export_csv", "issues:export_xlsx")
def test_an_outsider_never_gets_another_communitys_rows(matters, manan, xingfu_staff, as_user):
    client = as_user(xingfu_staff)
    rows = read_csv(client.get(CSV_URL))
    assert column(rows, "Community") == ["幸福村社区"]
    assert "马南社区" not in str(read_xlsx(client.get(XLSX_URL)))
    for url in (CSV_URL, XLSX_URL):
        assert client.get(url, {"community": manan.pk}).status_code == 404
        assert client.get(url, {"community": manan.pk}, HTTP_HX_REQUEST="true").status_code == 404
    assert ExportRecord.objects.count() == 2


def test_a_community_of_another_street_is_404(manan, beishan, nanen_admin, other_admin, as_user):
    assert as_user(other_admin).get(CSV_URL, {"community": manan.pk}).status_code == 404
    assert as_user(nanen_admin).get(XLSX_URL, {"community": beishan.pk}).status_code == 404
    assert as_user(nanen_admin).get(CSV_URL, {"community": "abc"}).status_code == 404
    assert not ExportRecord.objects.exists()


def test_invalid_filters_get_the_inbox_with_its_message(manan_staff, as_user):
    response = as_user(manan_staff).get(CSV_URL, {"since": "2026-05-01", "until": "2026-04-01"})
    assert response.status_code == 422
    assert response.context["form"].errors["until"]
    assert not ExportRecord.objects.exists()


@pytest.mark.parametrize("person", ["manan_member", "city_handler"])
def test_those_without_an_inbox_cannot_export(request, person, as_user):
    client = as_user(request.getfixturevalue(person))
    assert client.get(CSV_URL).status_code == 403
    assert client.get(XLSX_URL).status_code == 403


def test_export_needs_a_login(client):
    assert client.get(CSV_URL).status_code == 302


def test_the_inbox_links_carry_its_filters(matters, manan_staff, nanen_admin, as_user):
    html = as_user(manan_staff).get(reverse("issues:inbox"), {"status": "awaiting"}).content
    html = html.decode()
    assert f'href="{CSV_URL}?status=awaiting"' in html
    assert f'href="{XLSX_URL}?status=awaiting&amp;phones=full"' in html
    admin = as_user(nanen_admin).get(reverse("issues:inbox")).content.decode()
    assert f'href="{CSV_URL}"' in admin and "phones=full" not in admin


# --- Query counts --------------------------------------------------------------------------


def grow(manan, reporter, count: int) -> None:
    """Matters with a reporter, an assigned staff member and council members."""
    from members.models import CouncilMember

    start = Issue.objects.count()
    Issue.objects.bulk_create(
        Issue(
            community=manan, title=f"批量{start + i}", category=factories.category(manan.street),
            channel="patrol", reporter=reporter, tracking_code=f"T{start + i:07d}",
        )
        for i in range(count)
    )  # fmt: skip
    members = [factories.council_member(manan) for _ in range(2)]
    through = Issue.assigned_members.through
    through.objects.bulk_create(
        through(issue_id=issue.pk, councilmember_id=member.pk)
        for issue in Issue.objects.filter(assigned_members__isnull=True)
        for member in members
    )
    assert CouncilMember.objects.count() >= 2


# session, user, roles; street ids of the filter form; the bounded count that keeps a
# large export out of the request; the export log's row (savepoint, insert, release); the
# chunk of issues and its assigned members; the row count (savepoint, update, release).
@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_export_query_count_does_not_grow(
    manan, manan_staff, as_user, django_assert_num_queries, url
):
    client = as_user(manan_staff)
    reporter = factories.resident(manan, "张三", phone=PHONE)
    grow(manan, reporter, 3)
    with django_assert_num_queries(13):
        rows = b"".join(client.get(url).streaming_content)
    assert rows
    grow(manan, reporter, 297)
    with django_assert_num_queries(13):
        rows = b"".join(client.get(url).streaming_content)
    assert ExportRecord.objects.order_by("-id").first().rows == 300
