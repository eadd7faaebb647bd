"""``python -m bench.http``: the issue pages under concurrent clients, beside a floor.

Serves the production settings (``bench.settings``) from gunicorn with ``--workers`` sync
workers on a free loopback port, with one addition only the benchmark's gunicorn loads
(``bench.http_settings`` / ``bench.http_urls``): the floor view, a bare Django view that
returns the newest 50 issues of the same table (``ORDER BY created DESC, id DESC LIMIT
50``) through a minimal template, in one query. ``--clients`` threads then ask, all at
once, for the inbox's first page, a deep page by cursor, ``q=电梯``, ``q=化粪池``, a filtered
inbox and an issue page, and the frame (a signed-in page of the app with nothing in it,
bench/http_urls.py), in phases: all clients ask for one page (``--repeat`` requests
each), then all for the floor, then the next page, and so on for ``--rounds`` rounds,
after ``--warmup`` untimed requests of every URL. It prints, for every page and the
floor: requests, req/s (requests ÷ seconds of its phases), p50/p95/max, statements per
request, size, and the page's req/s as a share of the floor's and of the frame's in the
same run, with the load average before and after. See bench/README.md.

It measures the data set ``python -m bench`` wrote (run that first).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from bench import say, setup_django

# Django is set up in main(), so nothing here imports the app at module level.
Out = Callable[[str], None]

# The pages, by their keys in bench.measure.targets(), and the share of the floor's req/s
# each is meant to reach (issue 19's targets).
PAGES = {
    "inbox": 0.50,
    "inbox_deep": 0.50,
    "search2": 0.25,
    "search3": 0.25,
    "filtered": 0.25,
    "issue": 0.50,
}
FLOOR = "floor"
FRAME = "frame"
FRAME_LABEL = "frame: a signed-in page with nothing in it (session, user, roles, navigation)"
HEADER = ("page", "requests", "req_s", "p50_ms", "p95_ms", "max_ms", "statements", "KB",
          "of_floor", "of_frame", "target")  # fmt: skip


@dataclass
class Row:
    name: str
    label: str
    requests: int
    req_s: float  # clients ÷ mean seconds per request: the rate the server keeps up
    p50: float
    p95: float
    max: float
    statements: int
    kb: float
    target: float | None = None  # share of the floor's req/s the page should reach


@dataclass
class Report:
    rows: list[Row]
    clients: int
    workers: int
    rounds: int
    repeat: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    seconds: float
    context: list[str]

    @property
    def floor(self) -> Row:
        return next(row for row in self.rows if row.name == FLOOR)

    @property
    def frame(self) -> Row:
        return next(row for row in self.rows if row.name == FRAME)

    def share(self, row: Row) -> float:
        return row.req_s / self.floor.req_s if self.floor.req_s else 0.0

    def frame_share(self, row: Row) -> float:
        return row.req_s / self.frame.req_s if self.frame.req_s else 0.0


def _statements(get) -> int:
    """SQL statements of one request (the second: the first may fill caches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as context:
            response = get()
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} in-process")
        counts.append(len(context.captured_queries))
    return counts[-1]


def pages(out: Out = say) -> tuple[list, dict[str, str], int]:
    """The pages to ask for, each with the session cookie of who reads it and its
    statements per request; their labels; the floor's statements per request."""
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    from bench import measure
    from bench.http_urls import FLOOR_PATH, FRAME_PATH
    from bench.rounds import Page

    found = {target.key: target for target in measure.targets()}
    chosen, labels = [], {}
    for key in PAGES:
        target = found[key]
        client = Client()
        client.force_login(target.user)  # a real session row, as a login writes
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        path = target.url + (f"?{urlencode(target.params)}" if target.params else "")
        out(f"  {key}: counting statements …")
        statements = _statements(lambda t=target, c=client: measure._get(c, t))
        chosen.append(Page(key, path, cookie, statements))
        labels[key] = target.label
    # The frame, as the inbox's reader sees it.
    client = Client()
    client.force_login(found["inbox"].user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    with override_settings(ROOT_URLCONF="bench.http_urls"):
        frame_statements = _statements(lambda: client.get(FRAME_PATH, secure=True))
        floor_statements = _statements(lambda: Client().get(FLOOR_PATH, secure=True))
    chosen.append(Page(FRAME, FRAME_PATH, cookie, frame_statements))
    labels[FRAME] = FRAME_LABEL
    return chosen, labels, floor_statements


@dataclass
class Phase:
    name: str  # a page's key, or FLOOR
    path: str
    cookie: str
    count: int  # requests each client makes in the phase
    timed: bool


def plan(chosen: list, *, rounds: int, repeat: int, warmup: int) -> list[Phase]:
    """Untimed phases first (each URL ``warmup`` times), then ``rounds`` rounds of each page
    followed by the floor: the floor is measured between the pages, under the same load."""
    from bench.http_urls import FLOOR_PATH

    phases = []
    for page in chosen if warmup else []:
        phases.append(Phase(page.name, page.path, page.cookie, warmup, False))
    if warmup:
        phases.append(Phase(FLOOR, FLOOR_PATH, "", warmup, False))
    for _ in range(rounds):
        for page in chosen:
            phases.append(Phase(page.name, page.path, page.cookie, repeat, True))
            phases.append(Phase(FLOOR, FLOOR_PATH, "", repeat, True))
    return phases


def _client(port: int, phases: list[Phase], start) -> list[list[tuple[float, int]]]:
    """One client: at each phase's start (all clients at once), ``count`` requests of that
    URL, each on a new connection. Returns [(ms, bytes)] per phase."""
    from bench.meetings import _get

    seen: list[list[tuple[float, int]]] = []
    try:
        for phase in phases:
            start.wait(timeout=900)
            seen.append([])
            for _ in range(phase.count):
                took, status, size = _get(port, phase.path, phase.cookie)
                if status != 200:
                    raise RuntimeError(f"{phase.path}: HTTP {status} from gunicorn")
                seen[-1].append((took, size))
        start.wait(timeout=900)  # the last phase ends when every client is done
    except BaseException:
        start.abort()  # the other clients stop waiting for this one
        raise
    return seen


def drive(
    chosen: list, *, clients: int, workers: int, rounds: int, repeat: int, warmup: int,
    out: Out = say,
) -> dict[str, tuple[list[tuple[float, int]], float]]:  # fmt: skip
    """Every phase over HTTP from gunicorn, ``clients`` threads at once. Returns, per URL,
    its timed (ms, bytes) and the seconds its timed phases lasted (from the moment all
    clients were released to the moment the last one finished)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from bench.meetings import Gunicorn

    phases = plan(chosen, rounds=rounds, repeat=repeat, warmup=warmup)
    marks: list[float] = []
    start = threading.Barrier(clients, action=lambda: marks.append(time.perf_counter()))
    connections.close_all()
    with Gunicorn(workers=workers, settings_module="bench.http_settings") as server:
        out(f"gunicorn on {server.bind}, {workers} sync workers; {clients} clients at once, "
            f"{len(phases)} phases …")  # fmt: skip
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(_client, server.port, phases, start) for _ in range(clients)]
        errors = [f.exception() for f in futures if f.exception() is not None]
        # The client that failed first, not those it released from the barrier.
        errors.sort(key=lambda error: isinstance(error, threading.BrokenBarrierError))
        if errors:
            raise errors[0]
        runs = [future.result() for future in futures]
    found: dict[str, tuple[list[tuple[float, int]], float]] = {}
    for index, phase in enumerate(phases):
        if not phase.timed:
            continue
        timings, seconds = found.get(phase.name, ([], 0.0))
        timings = timings + [t for run in runs for t in run[index]]
        found[phase.name] = (timings, seconds + marks[index + 1] - marks[index])
    return found


def run(
    *, clients: int = 8, workers: int = 2, rounds: int = 2, repeat: int = 3, warmup: int = 1,
    out: Out = say,
) -> Report:  # fmt: skip
    from bench import measure
    from bench.meetings import _served

    load_before = os.getloadavg()
    context = [*measure.database(), measure.dataset()]
    chosen, labels, floor_statements = pages(out)
    started = time.perf_counter()
    found = drive(chosen, clients=clients, workers=workers, rounds=rounds, repeat=repeat,
                  warmup=warmup, out=out)  # fmt: skip
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()
    statements = {page.name: page.queries for page in chosen} | {FLOOR: floor_statements}
    rows = []
    for name in [page.name for page in chosen] + [FLOOR]:
        timings, busy = found[name]
        figures = _served(name, timings)
        rows.append(
            Row(
                name=name,
                label=labels.get(name, "floor: the 50 newest issues, one query"),
                requests=figures.requests,
                req_s=figures.requests / busy if busy else 0.0,
                p50=figures.p50,
                p95=figures.p95,
                max=figures.max,
                statements=statements[name],
                kb=figures.bytes / 1024,
                target=PAGES.get(name),
            )
        )
    return Report(
        rows=rows, clients=clients, workers=workers, rounds=rounds, repeat=repeat,
        load_before=load_before, load_after=load_after, seconds=seconds, context=context,
    )  # fmt: skip


def report(result: Report) -> str:
    from bench import measure

    cells = []
    for row in result.rows:
        share = result.share(row)
        target = (
            "-"
            if row.target is None
            else f"{row.target:.0%}:{'met' if share >= row.target else 'NOT'}"
        )
        cells.append((
            row.name, str(row.requests), f"{row.req_s:.1f}", f"{row.p50:.1f}", f"{row.p95:.1f}",
            f"{row.max:.1f}", str(row.statements), f"{row.kb:.1f}", f"{share:.1%}",
            "-" if row.name == FLOOR else f"{result.frame_share(row):.1%}", target,
        ))  # fmt: skip
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADER)]

    def line(values) -> str:
        return "  ".join(
            [values[0].ljust(widths[0])]
            + [v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True)]
        )

    lines = [
        f"bench.http: {result.clients} clients, gunicorn {result.workers} sync workers, "
        f"{result.rounds} rounds of {result.repeat} requests per client for each page and "
        f"the floor after it; {result.seconds:.0f} s",
        *result.context,
        "",
        line(HEADER),
        line(["-" * w for w in widths]),
        *(line(c) for c in cells),
        "",
        *(f"{row.name:<{widths[0]}}  {row.label}" for row in result.rows),
        "",
        "req_s = requests ÷ seconds of that URL's phases (all clients asking for it alone, "
        "at once); of_floor = the page's req_s ÷ the floor's, whose phases alternate with "
        "the pages' in this run; of_frame = the page's req_s ÷ the frame's.",
        "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
            *result.load_before, *result.load_after
        ),
        *measure.machine(),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the pages (2)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="requests per client in each phase (3)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed requests per client and URL first (1)")  # fmt: skip
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")
    args = parser.parse_args(argv)
    setup_django(migrate=not args.no_migrate)
    from bench import generate

    if not generate.bench_issue_count():
        print("bench.http: no benchmark data here; run `python -m bench` first", file=sys.stderr)
        return 2
    result = run(clients=args.clients, workers=args.workers, rounds=args.rounds,
                 repeat=args.repeat, warmup=args.warmup)  # fmt: skip
    say(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
