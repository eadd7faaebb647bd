"""The quarter's review of the visiting teams and the year's figures (走访考评)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db.models import F
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from deliberation.actions import review_items
from issues.actions import handling
from issues.models import Issue
from members.models import ExportRecord
from reports import period_reports
from reports.models import PeriodReport
from tests import factories
from tests.helpers import reviews as review_build
from tests.helpers import visits as build
from visits import figures
from visits.actions import rounds, visiting
from visits.models import ReviewThresholds, VisitConcern

ROUND_DAY = dt.date(2026, 10, 1)
VISIT_DAY = dt.date(2026, 10, 5)
TODAY = dt.date(2026, 11, 18)
Q4 = figures.Span(2026, 4)


def visit(team, leader, resident, concerns=(), *, category):
    return visiting.visit_record(
        actor=leader, team=team, resident=resident, kind="concentrated", visited_on=VISIT_DAY,
        visitors=[], today=TODAY,
        concerns=[{"title": title, "category": category, "description": ""} for title in concerns],
    )  # fmt: skip


def resolve(issue: Issue, staff, *, days: int) -> Issue:
    """Resolved ``days`` after the matter was taken in."""
    handling.issue_transition(issue=issue, actor=staff, name="start")
    handling.issue_transition(issue=issue, actor=staff, name="resolve")
    Issue.objects.filter(pk=issue.pk).update(created=F("resolved_at") - dt.timedelta(days=days))
    return Issue.objects.get(pk=issue.pk)


def rate(issue: Issue, satisfaction: int) -> None:
    review = issue.reviews.get()
    review_items.reviews_sweep(now=review.due_at)
    review.refresh_from_db()
    review_build.rate(
        review, satisfaction, after_days=(review.due_at - review.resolved_at).days + 1
    )


@pytest.fixture
def quarter(nanen, manan, xingfu, nanen_admin, manan_staff, xingfu_staff):
    """马南队 (five households in 马南社区): four visited, three concerns, two resolved in
    4 and 2 days, rated 5 and 3; one household left past the due date.
    幸福村队 (two households): both visited, one concern resolved in 6 days, rated 4."""
    r = {
        "wang": factories.resident(manan, "王阿姨", building="3栋", room="101"),
        "wang2": factories.resident(manan, "王叔叔", building="3栋", room="101"),
        "li": factories.resident(manan, "李奶奶", building="3栋", room="102"),
        "zhao": factories.resident(manan, "赵大爷", building="5栋", room="201"),
        "chen": factories.resident(manan, "陈伯", building="6栋", room="301"),
        "he": factories.resident(manan, "何姐", building="6栋", room="302"),
        "xf1": factories.resident(xingfu, "幸福甲", building="1栋", room="101"),
        "xf2": factories.resident(xingfu, "幸福乙", building="1栋", room="102"),
    }
    a_leader, b_leader = build.cadre("a_leader"), build.cadre("b_leader")
    a = build.team(nanen, "马南走访队", leader=a_leader, communities=[manan], admin=nanen_admin)
    b = build.team(nanen, "幸福村走访队", leader=b_leader, communities=[xingfu],
                   admin=nanen_admin)  # fmt: skip
    rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    category = factories.category(nanen, "other")
    wang = visit(a, a_leader, r["wang"], ["楼道堆物", "路灯不亮"], category=category)
    visit(a, a_leader, r["li"], ["漏水"], category=category)
    visit(a, a_leader, r["zhao"], category=category)
    visit(a, a_leader, r["chen"], category=category)
    first, second = (c.issue for c in wang.concerns.order_by("id"))
    rate(resolve(first, manan_staff, days=4), 5)
    rate(resolve(second, manan_staff, days=2), 3)
    b_visit = visit(b, b_leader, r["xf1"], ["垃圾分类"], category=category)
    visit(b, b_leader, r["xf2"], category=category)
    rate(resolve(b_visit.concerns.get().issue, xingfu_staff, days=6), 4)
    return a, b


def by_name(rows):
    return {row.team.name: row for row in rows}


def test_the_quarters_figures_are_the_hand_counts(quarter, nanen):
    rows = by_name(figures.team_figures(nanen, Q4, today=TODAY))
    a, b = rows["马南走访队"], rows["幸福村走访队"]
    assert (a.target, a.visited, a.overdue_left) == (5, 4, 1)
    assert (a.raised, a.resolved, a.median_days) == (3, 2, 3.0)
    assert (a.rated, a.satisfied, a.satisfied_share.percent) == (2, 1, 50)
    assert (b.target, b.visited, b.overdue_left) == (2, 2, 0)
    assert (b.raised, b.resolved, b.median_days) == (1, 1, 6.0)
    assert (b.rated, b.satisfied, b.satisfied_share.percent) == (1, 1, 100)
    assert VisitConcern.objects.count() == 4
    # Nothing of the quarter before.
    empty = by_name(figures.team_figures(nanen, figures.Span(2026, 3), today=TODAY))
    assert empty["马南走访队"].target == empty["马南走访队"].raised == 0


def test_teams_below_the_streets_thresholds_are_flagged(quarter, nanen, as_user, nanen_admin):
    rows = by_name(figures.team_figures(nanen, Q4, today=TODAY))
    assert len(rows["马南走访队"].flags) == 3  # visited 80 %, satisfied 50 %, overdue
    assert rows["幸福村走访队"].flags == []
    page = as_user(nanen_admin).get(reverse("visits:review", args=[nanen.pk]))
    assert page.status_code == 200
    text = page.text
    agenda = text.split("季度例会议题")[1]
    assert "马南走访队" in agenda and "幸福村走访队" not in agenda
    assert "已走访住户 80%" in agenda and "满意评价 50%" in agenda

    # The street lowers its bar: the street admin's form.
    url = reverse("visits:review_thresholds", args=[nanen.pk])
    bad = as_user(nanen_admin).post(url, {"visited_percent": "120", "satisfied_percent": "40"})
    assert bad.status_code == 422 and not ReviewThresholds.objects.exists()
    done = as_user(nanen_admin).post(url, {"visited_percent": "75", "satisfied_percent": "40"})
    assert done.status_code == 302
    rows = by_name(figures.team_figures(nanen, Q4, today=TODAY))
    assert len(rows["马南走访队"].flags) == 1  # only overdue now


def test_the_review_pdf_has_the_chinese_text(quarter, nanen, as_user, nanen_admin):
    url = reverse("visits:review_pdf", args=[nanen.pk])
    response = as_user(nanen_admin).get(url, {"year": 2026, "quarter": 4})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "team-review-2026-q4.pdf" in response["Content-Disposition"]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "南恩街道" in text and "马南走访队" in text and "季度例会议题" in text


def test_the_year_export_has_a_row_per_team_and_quarter(quarter, nanen, as_user, nanen_admin):
    client = as_user(nanen_admin)
    page = client.get(reverse("visits:review_year", args=[nanen.pk]), {"year": 2026})
    assert page.status_code == 200 and "马南走访队" in page.text
    response = client.get(reverse("visits:review_year_xlsx", args=[nanen.pk]), {"year": 2026})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert len(rows) == 1 + 2 * 5  # header, then four quarters and the year of two teams
    mine = {row[2]: row for row in rows[1:] if row[0] == "马南走访队"}
    assert mine["2026 Q4"][3:12] == [5, 4, 80, 3, 2, 3.0, 2, 1, 50]
    assert mine["2026"][3:5] == [5, 4] and mine["2026 Q1"][3:5] == [0, 0]
    record = ExportRecord.objects.get()
    assert (record.kind, record.rows, record.actor) == ("visit_teams_year", 10, nanen_admin)
    csv = client.get(reverse("visits:review_year_csv", args=[nanen.pk]), {"year": 2026})
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 10 + 1  # header, rows, the end marker


@pytest.mark.outsider(
    "visits:review", "visits:review_pdf", "visits:review_thresholds", "visits:review_year",
    "visits:review_year_csv", "visits:review_year_xlsx",
)  # fmt: skip
def test_outsiders_get_404_and_members_403(quarter, nanen, as_user, other_admin, manan_staff):
    names = ["visits:review", "visits:review_pdf", "visits:review_thresholds",
             "visits:review_year", "visits:review_year_csv", "visits:review_year_xlsx"]  # fmt: skip
    a, _b = quarter
    for who in [other_admin, manan_staff, a.leader]:
        client = as_user(who)
        for name in names:
            assert client.get(reverse(name, args=[nanen.pk])).status_code == 404, (who, name)
        post = reverse("visits:review_thresholds", args=[nanen.pk])
        assert (
            client.post(post, {"visited_percent": "1", "satisfied_percent": "1"}).status_code == 404
        )
    assert not ReviewThresholds.objects.exists() and not ExportRecord.objects.exists()


@pytest.mark.parametrize("count", [3, 30])
def test_the_review_runs_the_same_queries_for_3_and_30_teams(
    count, nanen, nanen_admin, as_user, django_assert_num_queries
):
    for index in range(count):
        build.team(nanen, f"队{index:02d}", leader=build.cadre(f"lead{index}"), admin=nanen_admin)
    client = as_user(nanen_admin)
    # session, user with its unread count, roles; the street; the thresholds; the rounds; the teams
    # with their figures; the days to resolution.
    with django_assert_num_queries(8):
        assert client.get(reverse("visits:review", args=[nanen.pk])).status_code == 200
    # Four quarters and the year, each: rounds, teams, days; the thresholds once.
    with django_assert_num_queries(4 + 1 + 5 * 3):
        assert client.get(reverse("visits:review_year", args=[nanen.pk])).status_code == 200


def _street_report(nanen, nanen_admin, kind: str, since: dt.date, until: dt.date):
    return PeriodReport.objects.create(
        street=nanen, scope_key=f"street:{nanen.pk}", kind=kind, since=since, until=until,
        language="zh-hans", requested_by=nanen_admin,
    )  # fmt: skip


def test_the_streets_year_report_gives_each_teams_visits_and_satisfaction(
    quarter, nanen, manan, nanen_admin, manan_staff
):
    report = _street_report(nanen, nanen_admin, "year", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    rows = by_name(period_reports.visiting_teams(report))
    a, b = rows["马南走访队"], rows["幸福村走访队"]
    # The hand counts of the fixture: the year holds only the fourth quarter's round.
    assert (a.visited, a.target, a.raised, a.resolved, a.median_days) == (4, 5, 3, 2, 3.0)
    assert (a.satisfied, a.rated, a.overdue_left) == (1, 2, 1)
    assert (b.visited, b.target, b.raised, b.resolved, b.satisfied, b.rated) == (2, 2, 1, 1, 1, 1)

    text = "\n".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(period_reports.render_pdf(report))).pages
    )
    assert "走访工作团队" in text
    line = next(line for line in text.splitlines() if line.startswith("马南走访队"))
    cells = ["4", "/", "5", "(80%)", "3", "2", "3.0", "1", "/", "2", "(50%)", "1"]
    assert line.split()[1:] == cells

    # A quarter before the round has no visits; a community's report has no teams.
    q3 = _street_report(nanen, nanen_admin, "quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert [(r.target, r.raised) for r in period_reports.visiting_teams(q3)] == [(0, 0), (0, 0)]

    mine = PeriodReport.objects.create(
        community=manan, scope_key=f"community:{manan.pk}", kind="year",
        since=dt.date(2026, 1, 1), until=dt.date(2026, 12, 31), requested_by=manan_staff,
    )  # fmt: skip
    assert period_reports.visiting_teams(mine) == []
    assert "走访工作团队" not in period_reports.render_html(mine)


def test_the_street_dashboard_offers_the_teams_year_export_to_its_admins(
    quarter, nanen, nanen_admin, as_user
):
    url = reverse("reports:street_dashboard", args=[nanen.pk])
    page = as_user(nanen_admin).get(url, {"since": "2026-01-01", "until": "2026-12-31"})
    assert page.status_code == 200
    export = reverse("visits:review_year_xlsx", args=[nanen.pk]) + "?year=2026"
    assert export in page.text
    response = as_user(nanen_admin).get(export)
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 1 + 2 * 5
