"""``python -m bench.dashboards`` measures both dashboards and the CSV export on a tiny data set.

The export is read by a process of its own on the test database
(``tests.processes.database_url``), so the test data must be committed: ``transaction=True``.
Nothing here asserts a time.
"""

from __future__ import annotations

import math

import pytest

from bench import dashboards, generate
from bench.generate import BenchRefused
from issues.models import Issue
from members.models import ExportRecord, User
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)

PERIODS = ("month", "year", "last_year", "3_years")
PAGES = [f"{dashboard}_{period}" for period in PERIODS for dashboard in ("community", "street")]


def quiet(_: str) -> None:
    pass


def grow(*, copies: int) -> None:
    """``copies`` more of every issue there, each with a tracking code of its own."""
    fields = [f.attname for f in Issue._meta.concrete_fields if not f.primary_key]
    rows = list(Issue.objects.order_by("pk").values("pk", *fields))
    Issue.objects.bulk_create(
        Issue(**{**{name: row[name] for name in fields}, "tracking_code": f"X{n}{row['pk']:08d}"})
        for n in range(1, copies + 1)
        for row in rows
    )


def parse(table: str) -> dict[str, dict[str, float]]:
    """The numeric columns of the printed table, by page key."""
    lines = table.splitlines()
    header = lines[0].split()
    assert header[:3] == ["page", "days", "issues"], lines[0]
    names = [
        "days",
        "issues",
        "resolved",
        "p50",
        "p95",
        "max",
        "queries",
        "sql",
        "slowest",
        "bytes",
    ]
    rows = {}
    for line in lines[2:]:
        if not line.strip():
            break
        cells = line.split()
        assert len(cells) == len(names) + 1, line
        rows[cells[0]] = {
            name: float(cell.replace(",", "")) for name, cell in zip(names, cells[1:], strict=True)
        }
    return rows


def test_every_dashboard_and_period_is_measured_with_the_same_statements():
    generate.generate(issues=60, communities=2, out=quiet)

    results = dashboards.run_dashboards(repeat=2, warmup=1)
    text = dashboards.table(results)
    rows = parse(text)

    assert list(rows) == PAGES
    for key, row in rows.items():
        assert 0 <= row["p50"] <= row["p95"] <= row["max"], key
        assert row["queries"] > 0 and row["bytes"] > 0, key
        assert 0 <= row["slowest"] <= row["sql"], key
    # Three years up to today hold every issue of the data set.
    assert rows["street_3_years"]["issues"] == 60
    assert rows["street_3_years"]["days"] in (1096, 1097)
    assert rows["community_3_years"]["issues"] <= 60
    assert rows["street_month"]["days"] <= 31
    # One number of statements per dashboard, whatever the period …
    statements = dashboards.same_statements(results)
    assert sorted(statements) == ["community", "street"]
    assert all(len(counts) == 1 for counts in statements.values()), statements
    assert "the same for every period" in text and "DIFFERENT" not in text
    assert "target p95 ≤ 200 ms" in text

    # … and whatever the size of the data set.
    grow(copies=2)
    again = dashboards.run_dashboards(repeat=1, warmup=1)
    assert {r.page.key: r.queries for r in again} == {r.page.key: r.queries for r in results}
    assert parse(dashboards.table(again))["street_3_years"]["issues"] == 180


def test_the_export_streams_every_issue_in_a_fresh_process():
    generate.generate(issues=60, communities=2, out=quiet)

    # Chunks of 7 rows: 60 issues take 9 reads, so the first row can come before the last.
    export = dashboards.run_export(database_url=database_url(), chunk=7)

    assert export.streaming
    assert export.rows == export.visible == 60 and export.lines == 62  # header, end line
    assert export.complete
    assert export.chunk_size == 7
    # The bounded count that keeps a large export out of the request, then the chunks.
    assert export.reads == 1 + math.ceil(60 / 7)
    assert export.reads_first_row == 2
    assert export.streams
    assert export.statements_first_row < export.statements
    assert 0 < export.first_byte_s <= export.first_row_s <= export.total_s
    assert export.peak_rss_mb > 0 and export.bytes > 0
    admin = User.objects.get(username=f"{generate.USER_PREFIX}{dashboards.EXPORT_USER}")
    record = ExportRecord.objects.get(actor=admin)
    assert (record.kind, record.format, record.rows) == ("inbox", "csv", 60)

    text = dashboards.export_report(export)
    assert "streams           yes" in text
    assert "complete" in text and "rows/s" in text and "ru_maxrss" in text


def test_a_filtered_export_and_the_whole_report():
    generate.generate(issues=60, communities=2, out=quiet)
    community = User.objects.get(username=f"{generate.USER_PREFIX}s01_1").roles.get().community

    done = dashboards.run(
        repeat=1, warmup=1, database_url=database_url(), export_query=f"community={community.pk}",
        out=quiet,
    )  # fmt: skip

    assert 0 < done.export.rows == done.export.visible < 60
    assert done.export.complete
    assert [r.page.key for r in done.results] == PAGES
    assert f"/issues/export.csv?community={community.pk}" in done.text
    assert "statements, street dashboard" in done.text and "peak RSS" in done.text
    # The generator wrote around the actions: the roll-up is rebuilt first, and timed.
    assert "roll-up   rebuilt from every issue and escalation" in done.text
    assert "recomputed, as an action does" in done.text


def test_a_database_without_the_benchmark_data_is_refused():
    with pytest.raises(BenchRefused, match="python -m bench"):
        dashboards.run(export=False, out=quiet)
