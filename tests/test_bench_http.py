"""``python -m bench.http`` serves the issue pages and the floor view from gunicorn to
concurrent clients on a tiny data set (nothing here asserts a time)."""

from __future__ import annotations

import re
import socket

import pytest

from bench import generate
from bench import http as bench_http
from bench.http_urls import FLOOR_PATH, FRAME_PATH
from issues.models import Issue


@pytest.fixture(autouse=True)
def clock():
    """The real clock: gunicorn's workers read it, and the sessions expire by it."""
    return None


def quiet(_: str) -> None:
    pass


def table(text: str) -> dict[str, dict[str, str]]:
    """The printed table's rows, by page, as text cells keyed by the header."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split()[:2] == ["page", "requests"])
    assert lines[start].split() == list(bench_http.HEADER)
    assert set(lines[start + 1]) <= {"-", " "}
    rows = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = dict(zip(bench_http.HEADER, cells, strict=True))
    return rows


@pytest.mark.django_db(transaction=True)
def test_bench_http_serves_every_page_and_the_floor_to_concurrent_clients():
    generate.generate(issues=60, communities=2, out=quiet)
    assert Issue.objects.count() == 60

    lines: list[str] = []
    result = bench_http.run(clients=2, workers=2, rounds=1, repeat=2, warmup=1, out=lines.append)
    text = bench_http.report(result)
    rows = table(text)

    assert list(rows) == [*bench_http.PAGES, bench_http.FRAME, bench_http.FLOOR]
    pages = len(bench_http.PAGES) + 1  # and the frame
    for name, row in rows.items():
        # Every request answered 200 (run() stops on any other status): 2 clients asked
        # twice for every page, and twice for the floor after each page.
        expected = 2 * 2 * (pages if name == bench_http.FLOOR else 1)
        assert int(row["requests"]) == expected, name
        assert float(row["req_s"]) > 0, name
        assert 0 < float(row["p50_ms"]) <= float(row["p95_ms"]) <= float(row["max_ms"]), name
        assert int(row["statements"]) > 0 and float(row["KB"]) > 0, name
        assert row["of_floor"].endswith("%"), name
    # The floor is one query; a page, with session, user and roles, runs more.
    assert rows[bench_http.FLOOR]["statements"] == "1"
    assert rows[bench_http.FLOOR]["of_floor"] == "100.0%"
    assert all(int(rows[key]["statements"]) > 1 for key in bench_http.PAGES)
    # The frame reads the session, the user with its unread count and the roles, and is
    # the measure of what a page's own content costs.
    assert rows[bench_http.FRAME]["statements"] == "3"
    assert (
        rows[bench_http.FRAME]["of_frame"] == "100.0%" and rows[bench_http.FRAME]["target"] == "-"
    )
    assert rows[bench_http.FLOOR]["of_frame"] == "-"
    assert float(rows["inbox"]["KB"]) > float(rows[bench_http.FRAME]["KB"])
    # The sessions reached the pages themselves, not the login form: an inbox page is larger.
    assert float(rows["inbox"]["KB"]) > float(rows[bench_http.FLOOR]["KB"])
    assert rows["inbox"]["target"] in ("50%:met", "50%:NOT")
    assert re.search(r"load average before [\d.]+ [\d.]+ [\d.]+, after [\d.]+", text)

    # gunicorn is stopped afterwards: nothing listens on its port.
    bind = next(re.search(r"127\.0\.0\.1:(\d+)", line) for line in lines if "gunicorn on" in line)
    assert bind
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(bind[1])), timeout=2):
        pass


def test_the_floor_and_frame_views_are_not_in_the_apps_urls(client):
    assert client.get(FLOOR_PATH, secure=True).status_code == 404
    assert client.get(FRAME_PATH, secure=True).status_code == 404


def test_the_command_starts_from_a_shell():
    """The module sets Django up itself: nothing imports the app before main() does."""
    import subprocess
    import sys

    ran = subprocess.run(
        [sys.executable, "-m", "bench.http", "--help"], capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert "--clients" in ran.stdout
