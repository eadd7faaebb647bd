"""``python -m bench.meetings`` works on 20 councils (nothing here asserts a time)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from bench import meetings
from bench.generate import BenchRefused
from deliberation.models import AgendaItem, Meeting, Schedule
from issues.models import Issue
from members.models import Council


@pytest.fixture(autouse=True)
def clock():
    """The real clock: gunicorn's workers read it, and the staff's session expires by it."""
    return None


def quiet(_: str) -> None:
    pass


def rows(text: str) -> list[dict[str, float]]:
    """The call rows of the printed report, in order."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split()[:2] == ["councils", "call"])
    assert lines[start].split() == list(meetings.HEADER)
    found = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        values = line.split()
        found.append(
            {name: float(value) for name, value in zip(meetings.HEADER, values, strict=True)}
        )
    return found


@pytest.mark.django_db(transaction=True)
def test_bench_meetings_generates_and_measures_twice():
    text = meetings.run(councils=20, out=quiet)
    street_councils = Council.objects.filter(community__street__name=meetings.STREET)
    assert street_councils.count() == 20
    assert Schedule.objects.filter(council__in=street_councils, is_active=True).count() == 20
    awaiting = Issue.objects.filter(status=Issue.Status.AWAITING).count()
    assert awaiting

    first, second = rows(text)
    assert (first["councils"], first["call"]) == (20, 1)
    assert (second["councils"], second["call"]) == (20, 2)
    # 2026-11-25 + 42 days: 30 Nov (28th, a Saturday, moved), 8, 18 and 28 Dec.
    assert first["meetings"] == 20 * 4 == Meeting.objects.count()
    # Every awaiting issue joins its council's next meeting, once.
    assert first["items"] == awaiting == AgendaItem.objects.count()
    assert second["meetings"] == second["items"] == 0
    assert first["queries"] > 0 and second["queries"] > 0
    assert first["peak_MB"] > 0
    assert "20 councils, call 1:" in text and "20 councils, call 2:" in text

    # Running again reuses the councils and starts from no meetings.
    again = rows(meetings.run(councils=20, out=quiet))
    assert [(r["meetings"], r["items"]) for r in again] == [(80, awaiting), (0, 0)]


@pytest.mark.django_db(transaction=True)
def test_bench_meetings_grows_the_data_set_size_by_size():
    found = rows(meetings.run(councils=[12, 6], out=quiet))
    assert [(r["councils"], r["call"], r["meetings"]) for r in found] == [
        (6, 1, 24), (6, 2, 0), (12, 1, 48), (12, 2, 0),
    ]  # fmt: skip
    assert Council.objects.filter(community__street__name=meetings.STREET).count() == 12
    assert Issue.objects.filter(status=Issue.Status.AWAITING).count() == AgendaItem.objects.count()
    with pytest.raises(BenchRefused, match="more than 6"):
        meetings.run(councils=6, out=quiet)


@pytest.mark.django_db(transaction=True)
def test_bench_meetings_times_the_meeting_page_under_concurrent_clients():
    text = meetings.run_page(items=7, clients=2, repeat=2, how="in-process", out=quiet)
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split()[:2] == ["items", "clients"])
    assert lines[start].split() == list(meetings.PAGE_HEADER)
    values = dict(zip(meetings.PAGE_HEADER, lines[start + 1].split(), strict=True))
    assert (values["items"], values["clients"], values["requests"]) == ("7", "2", "4")
    assert float(values["p95_ms"]) >= float(values["p50_ms"]) > 0
    assert float(values["cpu_p95_ms"]) > 0
    assert int(values["elements"]) > 0 and int(values["queries"]) > 0
    assert "meeting page server time p95" in text
    meeting = Meeting.objects.get(council__community__name=meetings.PAGE_COMMUNITY)
    assert meeting.agenda_items.count() == 7
    assert meeting.attendances.count() == meetings.PAGE_PRESENT
    # Running again reuses the meeting and grows its agenda.
    meetings.run_page(items=9, clients=1, repeat=1, how="in-process", out=quiet)
    assert Meeting.objects.get(pk=meeting.pk).agenda_items.count() == 9


def processes_with(text: str) -> list[int]:
    """The ids of running processes whose command line holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in command:
            found.append(int(entry.name))
    return found


@pytest.mark.django_db(transaction=True)
def test_bench_meetings_times_the_meeting_page_from_gunicorn_beside_the_floor_view():
    text = meetings.run_page(items=4, clients=1, repeat=3, how="gunicorn", workers=1, out=quiet)
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.split()[:2] == ["url", "requests"]))
    assert lines[start].split() == list(meetings.SERVED_HEADER)
    found = {}
    for line in lines[start + 1 : start + 3]:
        name, *numbers = line.split()
        found[name] = dict(zip(meetings.SERVED_HEADER[1:], map(float, numbers), strict=True))
    assert set(found) == {"meeting_page", "/health/"}
    for row in found.values():
        assert row["requests"] == 3
        assert row["max_ms"] >= row["p95_ms"] >= row["p50_ms"] > 0
    # The staff's session reached the page itself (not the login form) over HTTP.
    assert found["meeting_page"]["KB"] > found["/health/"]["KB"]
    assert "meeting page over HTTP p95" in text and "/health/ p95" in text

    # gunicorn is stopped afterwards: nothing listens on its port, no process is left.
    bind = re.search(r"on (127\.0\.0\.1:(\d+));", text)
    assert bind
    assert processes_with(f"--bind {bind[1]}") == []
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(bind[2])), timeout=2):
        pass
