"""``python -m bench.volunteers`` generates a community's service hours once and times the
balance, statement and team pages (nothing here asserts a time)."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from bench import volunteers as bench
from volunteers.models import Activity, Balance, HoursEntry, Volunteer


def quiet(_: str) -> None:
    pass


def table(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split()[:1] == ["page"])
    assert tuple(lines[start].split()) == bench.HEADER
    return [dict(zip(bench.HEADER, line.split(), strict=True)) for line in lines[start + 1 :]]


@pytest.mark.usefixtures("clear_cache")
def test_the_volunteer_benchmark_writes_the_ledger_and_measures_four_pages(db):
    days = 70
    text = bench.run(volunteers=18, days=days, repeat=2, warmup=1, out=quiet)
    assert Volunteer.objects.count() == 18
    assert Activity.objects.count() == days * len(bench.TEAMS)
    # Every volunteer serves four days in nine; each balance is the sum of its ledger.
    credits = HoursEntry.objects.filter(kind=HoursEntry.Kind.CREDIT).count()
    assert credits == sum(bench._serves(i, d) for i in range(18) for d in range(days))
    for balance in Balance.objects.all():
        total = HoursEntry.objects.filter(volunteer_id=balance.pk).aggregate(t=Sum("minutes"))
        assert balance.minutes == total["t"] >= 0
    assert HoursEntry.objects.filter(kind=HoursEntry.Kind.DEBIT).exists()

    rows = table(text)
    assert [row["page"] for row in rows] == [
        "balance", "balance", "statement", "statement", "certificate", "certificate", "team",
    ]  # fmt: skip
    for row in rows:
        assert float(row["p95_ms"]) >= float(row["p50_ms"]) > 0 and int(row["queries"]) > 0
    # The longest and the shortest history cost the same number of queries.
    assert int(rows[0]["volunteer_rows"]) > int(rows[1]["volunteer_rows"])
    assert rows[0]["queries"] == rows[1]["queries"]
    assert rows[2]["queries"] == rows[3]["queries"]
    assert rows[4]["queries"] == rows[5]["queries"]
    # The PDFs are made once before the requests, and timed apart.
    assert "PDFs made once" in text and "certificate of" in text

    # A second run measures the same data and writes nothing.
    before = HoursEntry.objects.count()
    bench.run(volunteers=18, days=days, repeat=1, warmup=1, out=quiet)
    assert HoursEntry.objects.count() == before
