"""``python -m bench.meetings`` works on 20 councils (nothing here asserts a time)."""

from __future__ import annotations

import pytest

from bench import meetings
from deliberation.models import Council, Meeting, Schedule
from issues.models import Issue


def quiet(_: str) -> None:
    pass


def rows(text: str) -> dict[str, dict[str, float]]:
    """The call rows of the printed report, by call number."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split()[:2] == ["call", "councils"])
    assert lines[start].split() == ["call", "councils", "created", "seconds", "queries"]
    found = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        call, councils, created, seconds, queries = line.split()
        found[call] = {
            "councils": int(councils),
            "created": int(created),
            "seconds": float(seconds),
            "queries": int(queries),
        }
    return found


@pytest.mark.django_db(transaction=True)
def test_bench_meetings_generates_and_measures_twice():
    text = meetings.run(councils=20, out=quiet)
    street_councils = Council.objects.filter(community__street__name=meetings.STREET)
    assert street_councils.count() == 20
    assert Schedule.objects.filter(council__in=street_councils, is_active=True).count() == 20
    assert Issue.objects.filter(status=Issue.Status.AWAITING).exists()

    found = rows(text)
    assert set(found) == {"1", "2"}
    assert found["1"]["councils"] == found["2"]["councils"] == 20
    # 2026-11-25 + 42 days: 30 Nov (28th, a Saturday, moved), 8, 18 and 28 Dec.
    assert found["1"]["created"] == 20 * 4 == Meeting.objects.count()
    assert found["2"]["created"] == 0
    assert found["1"]["queries"] > 0 and found["2"]["queries"] > 0
    assert "queries per council (call 1):" in text
    assert "call 1 statements:" in text and "call 2 statements:" in text

    # Running again reuses the councils and starts from no meetings.
    again = rows(meetings.run(councils=20, out=quiet))
    assert again["1"]["created"] == 80 and again["2"]["created"] == 0
