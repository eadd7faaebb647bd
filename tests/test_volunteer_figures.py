"""Volunteer figures on the dashboards: hours per team and month, active volunteers,
exchanges (志愿服务统计), counted by hand, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from members.models import ExportRecord
from tests.helpers import volunteers as build
from tests.helpers.clock import local
from volunteers.actions import ledger

AUTUMN = {"period": "custom", "since": "2026-10-01", "until": "2026-11-30"}


@pytest.fixture(autouse=True)
def english():
    """The pages are read in English (the cookie); the language goes back afterwards."""
    with translation.override("en"):
        yield


@pytest.fixture
def as_user(as_user, settings):
    def signed_in(user):
        client = as_user(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return signed_in


NOW = local(2026, 11, 18, 12, 0)


def serve(clock, team, staff, volunteer, starts: dt.datetime, minutes: int):
    """Served ``minutes`` from ``starts``, confirmed that day; the clock comes back to NOW."""
    clock.move_to(starts - dt.timedelta(minutes=30))
    activity = build.activity(team, staff, starts=starts, hours=3)
    served = build.served(activity, volunteer, staff, in_at=starts,
                          out_at=starts + dt.timedelta(minutes=minutes))  # fmt: skip
    clock.move_to(NOW)
    return served


@pytest.fixture
def autumn(clock, manan, xingfu, manan_staff, xingfu_staff):
    """萤火虫: 李 60 + 赵 45 in October, 李 120 in November; 小蜜蜂: 王 90 in November;
    李 also served in July (outside the period, and more than 90 days ago); 幸福村's own
    team served 30 minutes in November. 李 exchanged 40 minutes in November."""
    fireflies = build.team(manan, manan_staff)
    bees = build.team(manan, manan_staff, name="小蜜蜂")
    li = build.volunteer(fireflies, manan_staff, "李秀英")
    zhao = build.volunteer(fireflies, manan_staff, "赵桂兰")
    wang = build.volunteer(bees, manan_staff, "王秀兰")
    serve(clock, fireflies, manan_staff, li, local(2026, 7, 10, 9, 0), 100)
    serve(clock, fireflies, manan_staff, li, local(2026, 10, 12, 9, 0), 60)
    serve(clock, fireflies, manan_staff, zhao, local(2026, 10, 12, 9, 30), 45)
    serve(clock, fireflies, manan_staff, li, local(2026, 11, 18, 8, 0), 120)
    serve(clock, bees, manan_staff, wang, local(2026, 11, 18, 7, 0), 90)
    other = build.team(xingfu, xingfu_staff, name="红色代跑")
    serve(clock, other, xingfu_staff, build.volunteer(other, xingfu_staff, "外社区志愿者"),
          local(2026, 11, 18, 8, 0), 30)  # fmt: skip
    ledger.exchange_make(volunteer=li, rule=build.class_rule(manan, manan_staff),
                         actor=manan_staff)  # fmt: skip
    return fireflies, bees


def rows(html: str) -> list[tuple[str, ...]]:
    table = html.split('class="list compact team-hours"')[1].split("</table>")[0]
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        found.append(tuple(re.sub(r"<[^>]+>", "", cell).strip() for cell in cells))
    return found


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"><span class="figure">([^<]*)</span>', html)
    return found.group(1)


def test_the_community_dashboard_counts_its_volunteers_as_by_hand(
    as_user, manan, manan_staff, autumn
):
    html = (
        as_user(manan_staff)
        .get(reverse("reports:community_dashboard", args=[manan.pk]), AUTUMN)
        .content.decode()
    )
    assert rows(html) == [
        ("2026-10", "萤火虫", "1 h 45 min", "2"),
        ("2026-11", "小蜜蜂", "1 h 30 min", "1"),
        ("2026-11", "萤火虫", "2 h", "1"),
    ]
    assert figure(html, "volunteer_hours") == "5 h 15 min"  # 60 + 45 + 120 + 90
    assert figure(html, "volunteers_active") == "3"  # 李, 赵, 王; not 幸福村's
    assert figure(html, "volunteer_exchanges") == "1"
    assert "exchanges, spending 40 min" in html


def test_active_volunteers_are_those_credited_in_the_last_90_days(
    as_user, clock, manan, manan_staff, autumn
):
    # 27 January 2027: October's credits are more than 90 days old, November's are not.
    clock.move_to(local(2027, 1, 27, 10, 0))
    html = (
        as_user(manan_staff)
        .get(reverse("reports:community_dashboard", args=[manan.pk]), AUTUMN)
        .content.decode()
    )
    assert figure(html, "volunteers_active") == "2"  # 李 and 王; 赵 served only in October


def test_the_street_dashboard_adds_up_its_communities(as_user, nanen, nanen_admin, autumn):
    html = (
        as_user(nanen_admin)
        .get(reverse("reports:street_dashboard", args=[nanen.pk]), AUTUMN)
        .content.decode()
    )
    assert figure(html, "volunteer_hours") == "5 h 45 min"  # 马南 315 + 幸福村 30
    assert figure(html, "volunteers_active") == "4"
    assert ("2026-11", "红色代跑 幸福村社区", "30 min", "1") in rows(html)


def test_the_volunteer_figures_take_as_many_queries_for_many_teams_as_for_one(
    as_user, manan, manan_staff, clock
):
    client = as_user(manan_staff)
    url = reverse("reports:community_dashboard", args=[manan.pk])

    def grow(n: int) -> int:
        for i in range(n):
            team = build.team(manan, manan_staff, name=f"服务队{n}-{i}")
            volunteer = build.volunteer(team, manan_staff, f"志愿者{n}-{i}")
            serve(clock, team, manan_staff, volunteer, local(2026, 11, 18, 7, 0), 30 + i)
            serve(clock, team, manan_staff, volunteer, local(2026, 10, 5, 7, 0), 30 + i)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, AUTUMN).status_code == 200
        return len(captured)

    assert grow(1) == grow(8)


# --- The ledger as a workbook -----------------------------------------------------------------


def workbook(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_the_ledger_exports_to_xlsx_row_by_row_as_counted_by_hand(as_user, manan, manan_staff,
                                                                    autumn):  # fmt: skip
    response = as_user(manan_staff).get(reverse("volunteers:ledger_xlsx", args=[manan.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    book = workbook(response)
    ledger_sheet, balances = (list(s.iter_rows(values_only=True)) for s in book.worksheets)
    assert ledger_sheet[0][:4] == ("Recorded at", "Volunteer", "Kind", "Minutes")
    assert [row[1:6] for row in ledger_sheet[1:]] == [
        ("李秀英", "service credited", 100, "萤火虫", "夜间巡逻"),
        ("李秀英", "service credited", 60, "萤火虫", "夜间巡逻"),
        ("赵桂兰", "service credited", 45, "萤火虫", "夜间巡逻"),
        ("王秀兰", "service credited", 90, "小蜜蜂", "夜间巡逻"),
        ("李秀英", "service credited", 120, "萤火虫", "夜间巡逻"),
        ("李秀英", "exchanged", -40, None, "老年学校课程 1.5 小时"),
    ]
    assert balances[1:] == [("李秀英", 240), ("王秀兰", 90), ("赵桂兰", 45)]
    record = ExportRecord.objects.get()
    assert (record.actor, record.kind, record.rows) == (manan_staff, "volunteer_ledger", 9)


def test_the_ledger_export_reads_as_many_queries_for_many_rows_as_for_few(
    as_user, manan, manan_staff, clock
):
    client = as_user(manan_staff)
    url = reverse("volunteers:ledger_xlsx", args=[manan.pk])
    team = build.team(manan, manan_staff)

    def grow(n: int) -> int:
        for i in range(n):
            volunteer = build.volunteer(team, manan_staff, f"志愿者{n}-{i}")
            serve(clock, team, manan_staff, volunteer, local(2026, 11, 18, 7, 0), 30)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert grow(1) == grow(6)


@pytest.mark.outsider("volunteers:ledger_xlsx")
def test_only_the_communitys_own_staff_export_its_ledger(
    as_user, manan, xingfu_staff, other_admin, nanen_admin, manan_member, autumn
):
    url = reverse("volunteers:ledger_xlsx", args=[manan.pk])
    for outsider in (xingfu_staff, other_admin):
        assert as_user(outsider).get(url).status_code == 404
        assert as_user(outsider).get(url, HTTP_HX_REQUEST="true").status_code == 404
    # The street's admin sees the community, the council member its council: not its ledger.
    assert as_user(nanen_admin).get(url).status_code == 403
    assert as_user(manan_member).get(url).status_code == 403
    assert not ExportRecord.objects.exists()
