"""The benchmark command's parts work on a tiny data set (nothing here asserts a time)."""

from __future__ import annotations

import pytest

from bench import generate, measure
from common import paging
from issues import queries
from issues.models import Event, Issue, Photo
from members.models import Street, User

PAGES = [
    "inbox", "inbox_admin", "inbox_status", "search2", "search3", "filtered",
    "inbox_deep", "inbox_more", "inbox_last", "issue", "report_form",
]  # fmt: skip


def quiet(_: str) -> None:
    pass


def parse(table: str) -> dict[str, dict[str, float]]:
    """The numeric columns of the printed table, by page key."""
    lines = table.splitlines()
    header = lines[0].split()
    assert header[:2] == ["page", "p50"], lines[0]
    rows = {}
    for line in lines[2:]:
        if not line.strip():
            break
        cells = line.split()
        assert len(cells) == 6, line
        rows[cells[0]] = {
            "p50": float(cells[1]),
            "p95": float(cells[2]),
            "queries": int(cells[3]),
            "bytes": int(cells[4]),
            "sql": float(cells[5]),
        }
    return rows


# Every alias: with a replica configured the dashboards measured count the replica's
# statements too (in tests the replica alias mirrors the primary's connection).
@pytest.mark.django_db(databases="__all__")
def test_bench_generates_and_measures_every_page():
    made = generate.generate(issues=60, communities=2, out=quiet)
    assert made.written == 60
    street = Street.objects.get(name=generate.STREET)
    issues = Issue.objects.filter(community__street=street)
    assert issues.count() == 60
    assert issues.values("tracking_code").distinct().count() == 60
    assert not issues.filter(search_bigrams="").exists()
    assert Event.objects.filter(issue__in=issues).count() >= 3 * 60
    assert Photo.objects.filter(issue__in=issues).exists()
    # Running again with the same size reuses the data.
    assert generate.generate(issues=60, communities=2, out=quiet).written == 0

    results = measure.run(repeat=2, warmup=1)
    rows = parse(measure.table(results))

    assert sorted(rows) == sorted(PAGES)
    for key, row in rows.items():
        assert 0 <= row["p50"] <= row["p95"], key
        assert row["queries"] > 0 and row["bytes"] > 0, key
    by_key = {r.key: r for r in results}
    assert by_key["inbox"].rows == 30 and by_key["inbox_deep"].rows == 30
    # Keyset paging: a deep page runs the same SQL statements as the first.
    assert rows["inbox_deep"]["queries"] == rows["inbox"]["queries"]
    assert rows["inbox_last"]["queries"] == rows["inbox"]["queries"]
    assert by_key["inbox_more"].rows == 30


@pytest.mark.django_db
def test_bench_refuses_a_database_with_other_data():
    Street.objects.create(name="南恩街道")
    with pytest.raises(generate.BenchRefused):
        generate.check_database()
    generate.check_database(force=True)


@pytest.mark.django_db
def test_keyset_paging_with_ties_on_created_visits_every_row_once():
    """The bounded keyset condition (a range on created, then the OR) loses and repeats nothing."""
    generate.generate(issues=60, communities=2, out=quiet)
    staff = User.objects.get(username=f"{generate.USER_PREFIX}staff")
    # Ties on created, the case the second key exists for.
    Issue.objects.filter(pk__in=list(Issue.objects.values_list("pk", flat=True)[:20])).update(
        created=Issue.objects.order_by("pk").first().created
    )

    def walk() -> list[int]:
        seen, cursor = [], ""
        while True:
            page = paging.keyset_page(
                queries.inbox(staff, queries.InboxFilters()),
                keys=("-created", "-id"),
                cursor=cursor,
                size=7,
            )
            seen += [issue.pk for issue in page.rows]
            if not page.next_cursor:
                return seen
            cursor = page.next_cursor

    seen = walk()
    assert len(seen) == len(set(seen)) == 60
