"""Meetings and council roster exports: what the files hold, the log, tenancy, ranges."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from deliberation import exports
from deliberation.actions import running
from deliberation.models import AgendaItem, Meeting
from issues.actions import handling
from members import exports as roster_exports
from members.models import CouncilMember, ExportRecord
from tests import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")
RANGE = {"since": "2026-03-01", "until": "2026-03-31"}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def in_english(client):
    client.cookies["django_language"] = "en"
    return client


def csv_url(community, name="meetings:export_csv"):
    return reverse(name, args=[community.pk])


def xlsx_url(community):
    return reverse("meetings:export_xlsx", args=[community.pk])


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    # The last line says the file is whole, and how many rows it holds.
    *rows, marker = rows
    assert len(marker) == 1 and marker[0].startswith("# "), marker
    assert f" {len(rows) - 1} " in marker[0], marker
    return rows


def read_xlsx(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def sheet_rows(workbook, index: int) -> list[tuple]:
    return list(workbook.worksheets[index].iter_rows(values_only=True))


def at(day: int, hour: int = 15) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture
def record(manan, manan_staff):
    """Two meetings in March 2026 of 马南社区 and one in April; one of 幸福村社区."""
    terms = [
        factories.council_member(manan, factories.resident(manan, name, phone="13812345678"))
        for name in ("张三", "李四", "王五")
    ]
    first = factories.meeting(manan, at(8))
    for term in terms[:2]:
        running.attendance_sign_in(meeting=first, member=term, actor=manan_staff, how="staff")
    issue = factories.issue(manan, actor=manan_staff, title="楼道堆物")
    handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    on_issue = AgendaItem.objects.create(meeting=first, issue=issue, position=0)
    topic = AgendaItem.objects.create(
        meeting=first, kind=AgendaItem.Kind.TOPIC, topic="=晾衣场地", position=1
    )
    open_item = AgendaItem.objects.create(
        meeting=first, kind=AgendaItem.Kind.TOPIC, topic="饮水机", position=2
    )
    AgendaItem.objects.create(
        meeting=first,
        kind=AgendaItem.Kind.TOPIC,
        topic="已撤下",
        position=3,
        removed_at=timezone.now(),
        removed_by=manan_staff,
    )
    running.decision_record(
        item=on_issue, actor=manan_staff, outcome="solve_by_council", notes="成员清理"
    )
    running.decision_record(
        item=topic,
        actor=manan_staff,
        outcome="refer_to_community",
        notes="",
        votes={terms[0].pk: "for", terms[1].pk: "against"},
    )
    second = factories.meeting(manan, at(18), kind=Meeting.Kind.URGENT, place="3栋门口")
    second.state = Meeting.State.CANCELLED
    second.save(update_fields=["state"])
    factories.meeting(manan, dt.datetime(2026, 4, 8, 15, tzinfo=SHANGHAI))
    xingfu = factories.community("幸福村社区")
    factories.meeting(xingfu, at(8))
    return {"first": first, "second": second, "issue": issue, "open": open_item}


# --- What the files hold -------------------------------------------------------------------


def test_csv_has_one_row_per_agenda_item(record, manan, manan_staff, as_user):
    rows = read_csv(in_english(as_user(manan_staff)).get(csv_url(manan), RANGE))
    assert rows[0] == [
        "Date and time", "Type", "State", "Place", "Present", "Active members",
        "Quorum reached", "Members present", "Agenda items", "Item", "Tracking code",
        "Item type", "Decision", "Notes", "Votes for", "Votes against", "Abstentions",
    ]  # fmt: skip
    meeting = ["2026-03-08 15:00", "regular meeting", "scheduled", "社区居民议事点"]
    meeting += ["2", "3", "yes", "张三, 李四", "3"]
    code = record["issue"].tracking_code
    assert rows[1:] == [
        [*meeting, "楼道堆物", code, "issue", "the council solves it", "成员清理", "0", "0", "0"],
        # A cell a spreadsheet would run as a formula is defused.
        [*meeting, "'=晾衣场地", "", "topic", "refer to the community", "", "1", "1", "0"],
        [*meeting, "饮水机", "", "topic", "", "", "", "", ""],
        # A meeting without items has a row of its own; a cancelled one has no quorum.
        ["2026-03-18 15:00", "urgent meeting", "cancelled", "3栋门口", "0", "3", "", "", "0"]
        + [""] * 8,
    ]


def test_xlsx_has_a_meetings_and_a_decisions_sheet(record, manan, manan_staff, as_user):
    workbook = read_xlsx(in_english(as_user(manan_staff)).get(xlsx_url(manan), RANGE))
    assert workbook.sheetnames == ["Meetings", "Decisions"]
    meetings = sheet_rows(workbook, 0)
    assert meetings[0][:3] == ("Date and time", "Type", "State")
    assert meetings[1:] == [
        (dt.datetime(2026, 3, 8, 15), "regular meeting", "scheduled", "社区居民议事点",
         2, 3, "yes", "张三, 李四", 3),
        (dt.datetime(2026, 3, 18, 15), "urgent meeting", "cancelled", "3栋门口",
         0, 3, None, None, 0),
    ]  # fmt: skip
    decisions = sheet_rows(workbook, 1)
    assert decisions[0] == (
        "Date and time", "Item", "Tracking code", "Item type", "Decision", "Notes",
        "Votes for", "Votes against", "Abstentions",
    )  # fmt: skip
    when = dt.datetime(2026, 3, 8, 15)
    code = record["issue"].tracking_code
    assert decisions[1:] == [
        (when, "楼道堆物", code, "issue", "the council solves it", "成员清理", 0, 0, 0),
        # Stored as text, never as a formula.
        (when, "=晾衣场地", None, "topic", "refer to the community", None, 1, 1, 0),
        (when, "饮水机", None, "topic", None, None, None, None, None),
    ]
    assert workbook.worksheets[1]["B3"].data_type == "s"


def test_headers_in_chinese_by_default(record, manan, manan_staff, as_user):
    client = as_user(manan_staff)
    client.cookies["django_language"] = "zh-hans"
    rows = read_csv(client.get(csv_url(manan), RANGE))
    with translation.override("zh-hans"):
        assert rows[0] == exports.flat_headers()


def test_present_counts_members_active_on_the_meeting_day(manan, manan_staff, as_user):
    early = factories.council_member(manan, joined_on=dt.date(2024, 1, 8))
    factories.council_member(manan, joined_on=dt.date(2026, 3, 10))  # joined after
    gone = factories.council_member(manan, joined_on=dt.date(2024, 1, 8))
    meeting = factories.meeting(manan, at(8))
    running.attendance_sign_in(meeting=meeting, member=early, actor=manan_staff, how="staff")
    running.attendance_sign_in(meeting=meeting, member=gone, actor=manan_staff, how="staff")
    CouncilMember.objects.filter(pk=gone.pk).update(left_on=dt.date(2026, 3, 20))
    rows = read_csv(in_english(as_user(manan_staff)).get(csv_url(manan), RANGE))
    # Both were members on the 8th; the third joined on the 10th.
    assert rows[1][4:7] == ["2", "2", "yes"]


def test_default_range_is_this_year(manan, manan_staff, as_user):
    year = timezone.localdate().year
    factories.meeting(manan, dt.datetime(year, 1, 1, 0, 30, tzinfo=SHANGHAI), place="年初")
    factories.meeting(manan, dt.datetime(year, 12, 31, 23, 30, tzinfo=SHANGHAI), place="年末")
    factories.meeting(manan, dt.datetime(year - 1, 12, 31, 23, 30, tzinfo=SHANGHAI), place="去年")
    factories.meeting(manan, dt.datetime(year + 1, 1, 1, 0, 30, tzinfo=SHANGHAI), place="明年")
    rows = read_csv(as_user(manan_staff).get(csv_url(manan)))
    assert [row[3] for row in rows[1:]] == ["年初", "年末"]
    assert rows[1][0] == f"{year}-01-01 00:30"  # Asia/Shanghai wall-clock time
    assert ExportRecord.objects.get().filters == {
        "community": manan.pk,
        "since": f"{year}-01-01",
        "until": f"{year}-12-31",
    }


def test_no_meetings_gives_a_header_only_file(manan, manan_staff, as_user):
    client = in_english(as_user(manan_staff))
    rows = read_csv(client.get(csv_url(manan), RANGE))
    assert rows == [exports.flat_headers()]
    workbook = read_xlsx(client.get(xlsx_url(manan), RANGE))
    assert sheet_rows(workbook, 0) == [tuple(exports.meeting_headers())]
    assert sheet_rows(workbook, 1) == [tuple(exports.decision_headers())]
    assert list(ExportRecord.objects.values_list("rows", flat=True)) == [0, 0]


# --- Bad ranges ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-03-31", "until": "2026-03-01"}, "The end date is before the start date."),
        (
            {"since": "2000-01-01", "until": "2020-01-02"},
            "A range of more than 20 years cannot be exported.",
        ),
        ({"since": "2026-13-01"}, "“2026-13-01” is not a date; use the form 2026-01-31."),
        ({"until": "yesterday"}, "“yesterday” is not a date; use the form 2026-01-31."),
    ],
)
@pytest.mark.parametrize("name", ["meetings:export_csv", "meetings:export_xlsx"])
def test_bad_range_is_refused_with_a_message(manan, manan_staff, as_user, params, message, name):
    response = in_english(as_user(manan_staff)).get(reverse(name, args=[manan.pk]), params)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ExportRecord.objects.exists()


def test_a_range_of_exactly_20_years_is_allowed(manan, manan_staff, as_user):
    response = as_user(manan_staff).get(
        csv_url(manan), {"since": "2006-01-01", "until": "2026-01-01"}
    )
    assert len(read_csv(response)) == 1


# --- The export log ------------------------------------------------------------------------


def test_each_export_is_logged(record, manan, manan_staff, as_user):
    client = as_user(manan_staff)
    read_csv(client.get(csv_url(manan), RANGE))
    read_xlsx(client.get(xlsx_url(manan), RANGE))
    logged = list(
        ExportRecord.objects.order_by("id").values_list(
            "actor", "kind", "format", "filters", "rows", "full_phones"
        )
    )
    filters = {"community": manan.pk, **RANGE}
    assert logged == [
        (manan_staff.pk, "meetings", "csv", filters, 4, False),
        (manan_staff.pk, "meetings", "xlsx", filters, 2 + 3, False),
    ]


# --- Tenancy -------------------------------------------------------------------------------


@pytest.mark.outsider("meetings:export_csv", "meetings:export_xlsx")
@pytest.mark.parametrize("who", ["xingfu_staff", "other_admin"])
def test_outsiders_get_404(record, manan, as_user, request, who):
    client = as_user(request.getfixturevalue(who))
    for name in ("meetings:export_csv", "meetings:export_xlsx"):
        assert client.get(reverse(name, args=[manan.pk]), RANGE).status_code == 404
        assert client.get(reverse(name, args=[manan.pk]), {"until": "x"}).status_code == 404
    assert not ExportRecord.objects.exists()


def test_street_admin_and_council_member_may_export_meetings(
    record, manan, nanen_admin, manan_member, as_user
):
    for user in (nanen_admin, manan_member):
        rows = read_csv(as_user(user).get(csv_url(manan), RANGE))
        assert len(rows) == 5


# --- Query counts --------------------------------------------------------------------------


def count_queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
        assert response.status_code == 200
        b"".join(response.streaming_content)
    return len(captured)


def test_meetings_export_query_count_is_pinned_for_3_and_30(manan, manan_staff, as_user):
    terms = [factories.council_member(manan) for _ in range(3)]
    client = as_user(manan_staff)

    def grow(count: int) -> None:
        for day in range(Meeting.objects.count(), count):
            start = dt.datetime(2026, 1, 1, 9, tzinfo=SHANGHAI) + dt.timedelta(days=day)
            meeting = factories.meeting(manan, start)
            for term in (terms[day % 3], terms[(day + 1) % 3]):  # 2 of 3: a quorum
                running.attendance_sign_in(
                    meeting=meeting, member=term, actor=manan_staff, how="staff"
                )
            item = AgendaItem.objects.create(
                meeting=meeting, kind=AgendaItem.Kind.TOPIC, topic=f"议题{day}"
            )
            running.decision_record(
                item=item, actor=manan_staff, outcome="solve_by_council", notes=""
            )

    params = {"since": "2026-01-01", "until": "2026-12-31"}
    for url in (csv_url(manan), xlsx_url(manan)):
        Meeting.objects.all().delete()
        grow(3)
        few = count_queries(client, url, params)
        grow(30)
        many = count_queries(client, url, params)
        # session, user, roles; community; council; the export log (3: in a savepoint on
        # the test's transaction); meetings; their agenda items (issues, decisions, votes
        # counted); attendance (members, residents); the council's terms; the log's row
        # count (3, in a savepoint).
        assert few == many == 15


# --- Roster --------------------------------------------------------------------------------


def roster_url(community, extension="csv"):
    return reverse(f"members:council_export_{extension}", args=[community.pk])


@pytest.fixture
def roster(manan, manan_leader_term):
    lane = factories.resident(manan, "赵巷长", phone="13900001111", lane="东巷", building="5栋")
    lane_leader = factories.council_member(
        manan,
        lane,
        category=CouncilMember.Category.RETIRED_CADRE,
        is_lane_leader=True,
        covers_lane="东巷",
        joined_on=dt.date(2025, 3, 8),
    )
    former = factories.council_member(
        manan,
        factories.resident(manan, "钱老师", phone="0662-3312345"),
        joined_on=dt.date(2023, 1, 1),
    )
    CouncilMember.objects.filter(pk=former.pk).update(left_on=dt.date(2025, 6, 30))
    return {"leader": manan_leader_term, "lane": lane_leader, "former": former}


def test_roster_csv_masks_phones(roster, manan, manan_staff, as_user):
    rows = read_csv(in_english(as_user(manan_staff)).get(roster_url(manan)))
    assert rows == [
        ["Name", "Role", "Category", "Lane", "Building", "Lane covered", "Building covered",
         "Phone (masked)", "Joined on", "Left on"],
        ["王建国", "leader", roster["leader"].get_category_display(), "", "3栋", "", "",
         "138****5678", "2024-01-08", ""],
        ["赵巷长", "member", "retired cadre", "东巷", "5栋", "东巷", "", "139****1111",
         "2025-03-08", ""],
    ]  # fmt: skip
    body = "".join(",".join(row) for row in rows)
    assert "13812345678" not in body and "13900001111" not in body


def test_roster_xlsx_with_former_members(roster, manan, nanen_admin, as_user):
    workbook = read_xlsx(
        in_english(as_user(nanen_admin)).get(roster_url(manan, "xlsx"), {"former": "1"})
    )
    rows = sheet_rows(workbook, 0)
    assert workbook.sheetnames == ["Council members"]
    assert [row[0] for row in rows[1:]] == ["王建国", "赵巷长", "钱老师"]
    assert rows[3][7:] == ("066****2345", dt.datetime(2023, 1, 1), dt.datetime(2025, 6, 30))
    assert workbook.worksheets[0]["I2"].number_format == "yyyy-mm-dd"


def test_roster_exports_are_logged(roster, manan, manan_staff, as_user):
    client = as_user(manan_staff)
    read_csv(client.get(roster_url(manan)))
    read_xlsx(client.get(roster_url(manan, "xlsx"), {"former": "1"}))
    assert list(
        ExportRecord.objects.order_by("id").values_list("kind", "format", "filters", "rows")
    ) == [
        ("roster", "csv", {"community": manan.pk}, 2),
        ("roster", "xlsx", {"community": manan.pk, "former": True}, 3),
    ]
    assert not ExportRecord.objects.filter(full_phones=True).exists()


def test_roster_with_no_members_is_header_only(manan, manan_staff, as_user):
    rows = read_csv(as_user(manan_staff).get(roster_url(manan)))
    with translation.override("zh-hans"):
        assert rows == [roster_exports.headers()]


@pytest.mark.outsider("members:council_export_csv", "members:council_export_xlsx")
@pytest.mark.parametrize("who", ["xingfu_staff", "other_admin"])
def test_roster_outsiders_get_404(roster, manan, as_user, request, who):
    client = as_user(request.getfixturevalue(who))
    for name in ("members:council_export_csv", "members:council_export_xlsx"):
        assert client.get(reverse(name, args=[manan.pk])).status_code == 404
    assert not ExportRecord.objects.exists()


def test_a_council_member_may_not_export_the_roster(roster, manan, manan_member, as_user):
    assert as_user(manan_member).get(roster_url(manan)).status_code == 403
    assert not ExportRecord.objects.exists()


def test_roster_query_count_is_pinned_for_3_and_30(manan, manan_staff, as_user):
    client = as_user(manan_staff)
    for _ in range(3):
        factories.council_member(manan)
    few = count_queries(client, roster_url(manan), {"former": "1"})
    for _ in range(27):
        factories.council_member(manan)
    many = count_queries(client, roster_url(manan), {"former": "1"})
    # session, user, roles; community; council; the export log (3: in a savepoint);
    # members with residents; the log's row count (3, in a savepoint).
    assert few == many == 12


# --- Links ---------------------------------------------------------------------------------


def test_meeting_list_and_council_page_link_to_the_exports(manan, manan_staff, as_user):
    client = as_user(manan_staff)
    page = client.get(reverse("meetings:list")).content.decode()
    assert reverse("meetings:export_csv", args=[manan.pk]) in page
    assert reverse("meetings:export_xlsx", args=[manan.pk]) in page
    council = client.get(reverse("members:council", args=[manan.pk]), {"former": "1"})
    assert f"{roster_url(manan)}?former=1" in council.content.decode()
    assert roster_url(manan, "xlsx") in council.content.decode()


def test_council_member_sees_no_roster_export_link(manan, manan_member, as_user):
    page = as_user(manan_member).get(reverse("members:council", args=[manan.pk]))
    assert roster_url(manan) not in page.content.decode()
