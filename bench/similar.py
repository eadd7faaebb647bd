"""``python -m bench.similar``: the "is it one of these?" hint as a resident types a report.

Makes one street (基准街道-相似) of ``--communities`` communities and ``--issues`` issues
(default 1,000,000), written by the database itself (``INSERT … SELECT`` over
``generate_series``): titles and places from the benchmark's vocabulary of real community
problems, created evenly over three years up to today, the last 90 days mostly open, older
ones mostly closed, with the search pairs the app stores (``issues.search.document``).

Then serves the public report form's hint (``/r/<token>/?hint=1&title=…``, an htmx request)
from gunicorn to ``--clients`` clients at once, each typing titles of several topics (a
common one, 电梯, and rare ones, 饮水机), beside the bare floor view ``/health/`` in the same
run, and prints p50/p95 of both and the statements one hint runs.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from bench import say, setup_django
from bench.meetings import Served

Out = Callable[[str], None]

STREET = "基准街道-相似"
ISSUES = 1_000_000
COMMUNITIES = 100
CLIENTS = 8
REPEAT = 40
WORKERS = 4
TARGET_P95_MS = 100
BATCH = 200_000
# What a resident has typed when the hint is asked (debounced: a few characters in).
TYPED = ["电梯停运", "小公园饮水机", "楼道堆放杂物", "路灯坏了", "停车位不足", "化粪池堵塞"]


@dataclass(frozen=True)
class Result:
    issues: int
    open_recent: int
    hint: Served  # bench.meetings.Served: requests, p50, p95, max, bytes
    floor: Served
    statements: int
    hinted: list[str]  # what the hint offers for the newest open matter's own title


def _templates() -> list[tuple[str, str, str]]:
    from bench.vocabulary import FACILITY_PLACES, LANES, TOPICS
    from issues import search

    places = [*LANES, *FACILITY_PLACES]
    rows = []
    for weight, _code, titles, _sentences in TOPICS:
        for title in titles:
            for n in range(weight):
                place = places[(len(rows) + n) % len(places)]
                rows.append((title, place, search.document(title, place)))
    return rows


def generate(*, issues: int, communities: int, out: Out = say) -> None:
    """Write the street's issues unless they are there already (the count is the check)."""
    from django.db import connection, transaction

    from issues.categories import seed_categories
    from issues.models import Category, Issue
    from members.models import Community, Street

    street, _ = Street.objects.get_or_create(name=STREET)
    seed_categories(street)
    have = Community.objects.filter(street=street).count()
    for n in range(have, communities):
        Community.objects.create(street=street, name=f"相似{n + 1:03d}社区")
    community_ids = list(
        Community.objects.filter(street=street).order_by("pk").values_list("pk", flat=True)
    )[:communities]
    existing = Issue.objects.filter(community__street=street).count()
    if existing >= issues:
        out(f"{existing:,} issues already there")
        return
    category = Category.objects.get(street=street, code="other").pk
    templates = _templates()
    titles, places, pairs = (list(column) for column in zip(*templates, strict=True))
    table = connection.ops.quote_name(Issue._meta.db_table)
    started = time.perf_counter()
    if connection.vendor != "postgresql":
        _generate_here(existing, issues, community_ids, category, templates)
        from issues import rollup

        rollup.repair_counts(log=False)
        out(f"{issues:>10,} issues   {time.perf_counter() - started:6.0f} s")
        return
    for first in range(existing, issues, BATCH):
        last = min(first + BATCH, issues)
        with transaction.atomic(), connection.cursor() as cursor:
            # Issue n is created n/issues of three years ago: the newest last; the last 90 days
            # mostly open (5 in 6), older ones open 1 in 20, as matters are closed.
            cursor.execute(
                f"""
                WITH t AS (
                    SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])
                    WITH ORDINALITY AS t(title, place, pairs, n)
                ), g AS (
                    SELECT n, now() - make_interval(secs => (1 - n::float / %s) * 3 * 365 * 86400)
                        AS created
                    FROM generate_series(%s::bigint, %s::bigint) AS n
                )
                INSERT INTO {table} (
                    community_id, title, description, category_id, place, is_urgent, channel,
                    status, tier, contact_name, contact_phone, outcome_note, tracking_code,
                    search_bigrams, version, created, updated, supporter_count
                )
                SELECT
                    (%s::bigint[])[1 + (g.n * 7919) %% %s], t.title, '', %s, t.place, false,
                    'patrol',
                    CASE WHEN g.created > now() - interval '90 days'
                         THEN CASE WHEN g.n %% 6 = 0 THEN 'resolved' ELSE 'submitted' END
                         ELSE CASE WHEN g.n %% 20 = 0 THEN 'in_progress' ELSE 'closed' END
                    END,
                    'community', '', '', '', 'S' || lpad(to_hex(g.n), 7, '0'),
                    t.pairs, 1, g.created, g.created, 0
                FROM g JOIN t ON t.n = 1 + (g.n * 104729) %% %s
                """,
                [
                    titles, places, pairs, issues, first, last - 1,
                    community_ids, len(community_ids), category, len(templates),
                ],
            )  # fmt: skip
        out(f"{last:>10,} issues   {time.perf_counter() - started:6.0f} s")
    from issues import rollup

    # Written around the actions: the inbox's counts per community and status from a COUNT.
    rollup.repair_counts(log=False)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")


def _generate_here(existing, issues, community_ids, category, templates) -> None:
    """The same rows written from Python, for the embedded database (small sizes only)."""
    import datetime as dt

    from django.utils import timezone

    from issues.models import Issue

    now = timezone.now()
    rows = []
    for n in range(existing, issues):
        created = now - dt.timedelta(seconds=(1 - n / issues) * 3 * 365 * 86400)
        recent = created > now - dt.timedelta(days=90)
        title, place, pairs = templates[(n * 104729) % len(templates)]
        rows.append(
            Issue(
                community_id=community_ids[(n * 7919) % len(community_ids)],
                title=title,
                category_id=category,
                place=place,
                channel="patrol",
                status=("resolved" if n % 6 == 0 else "submitted")
                if recent
                else ("in_progress" if n % 20 == 0 else "closed"),
                tier="community",
                tracking_code=f"S{n:07x}",
                search_bigrams=pairs,
            )
        )
    made = Issue.objects.bulk_create(rows, batch_size=2000)
    for issue, row in zip(made, range(existing, issues), strict=True):
        created = now - dt.timedelta(seconds=(1 - row / issues) * 3 * 365 * 86400)
        Issue.objects.filter(pk=issue.pk).update(created=created)


def _get(port: int, path: str, htmx: bool) -> tuple[float, int, int]:
    import http.client

    headers = {"X-Forwarded-Proto": "https", "Accept": "text/html"}
    if htmx:
        headers["HX-Request"] = "true"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return (time.perf_counter() - started) * 1000, response.status, len(body)


def _client(port, paths, repeat, warmup, start, into_hints, into_floor) -> None:
    try:
        for number in range(-warmup, repeat):
            if number == 0:
                start.wait(timeout=300)
            path = paths[number % len(paths)]
            for url, htmx, into in ((path, True, into_hints), ("/health/", False, into_floor)):
                took, status, size = _get(port, url, htmx)
                if status != 200:
                    raise RuntimeError(f"{url}: HTTP {status} from gunicorn")
                if number >= 0:
                    into.append((took, size))
    except BaseException:
        start.abort()
        raise


def run(
    *,
    issues: int = ISSUES,
    communities: int = COMMUNITIES,
    clients: int = CLIENTS,
    repeat: int = REPEAT,
    workers: int = WORKERS,
    out: Out = say,
) -> Result:
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.meetings import Gunicorn, _served
    from issues import similar
    from issues.models import Issue
    from members.models import Community
    from public.views import public_form_token

    generate(issues=issues, communities=communities, out=out)
    community = Community.objects.filter(street__name=STREET).order_by("pk").first()
    since = timezone.now() - dt.timedelta(days=similar.RECENT_DAYS)
    open_recent = Issue.objects.filter(
        community=community, status__in=Issue.OPEN_STATUSES, created__gte=since
    ).count()
    with CaptureQueriesContext(connection) as captured:
        found = similar.similar_open(community.pk, title=TYPED[1])
    statements = len(captured)
    titles = [hint.issue.title for hint in found]
    out(f"one community: {open_recent:,} open matters of the last 90 days; "
        f"“{TYPED[1]}” hints {titles} in {statements} statement(s)")  # fmt: skip
    newest = (
        Issue.objects.filter(community=community, status__in=Issue.OPEN_STATUSES)
        .order_by("-created")
        .first()
    )
    hinted = (
        [hint.issue.title for hint in similar.similar_open(community.pk, title=newest.title)]
        if newest
        else []
    )
    token = public_form_token(community)
    paths = [f"/r/{token}/?" + urlencode({"hint": 1, "title": typed}) for typed in TYPED]
    connections.close_all()
    hints: list[tuple[float, int]] = []
    floor: list[tuple[float, int]] = []
    with Gunicorn(workers=workers) as server:
        out(f"gunicorn on {server.bind}, {workers} sync workers; {clients} clients at once, "
            f"{repeat} hints and {repeat} /health/ each …")  # fmt: skip
        start = threading.Barrier(clients)
        with ThreadPoolExecutor(clients) as pool:
            futures = [
                pool.submit(_client, server.port, paths, repeat, 2, start, hints, floor)
                for _ in range(clients)
            ]
        errors = [f.exception() for f in futures if f.exception() is not None]
        errors.sort(key=lambda error: isinstance(error, threading.BrokenBarrierError))
        if errors:
            raise errors[0]
    result = Result(
        issues=Issue.objects.filter(community__street__name=STREET).count(),
        open_recent=open_recent,
        hint=_served("hint", hints),
        floor=_served("/health/", floor),
        statements=statements,
        hinted=hinted,
    )
    verdict = "met" if result.hint.p95 <= TARGET_P95_MS else "MISSED"
    for served in (result.hint, result.floor):
        out(f"{served.name:9} {served.requests:5} requests  p50 {served.p50:7.1f} ms  "
            f"p95 {served.p95:7.1f} ms  max {served.max:7.1f} ms  "
            f"{served.bytes / 1024:.1f} KB")  # fmt: skip
    out(f"hint p95 {result.hint.p95:.1f} ms at {result.issues:,} issues (target <= "
        f"{TARGET_P95_MS} ms: {verdict}); /health/ p95 {result.floor.p95:.1f} ms "
        "beside it")  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.similar", description=__doc__)
    parser.add_argument("--issues", type=int, default=ISSUES)
    parser.add_argument("--communities", type=int, default=COMMUNITIES)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    setup_django(migrate=not args.no_migrate)
    run(
        issues=args.issues,
        communities=args.communities,
        clients=args.clients,
        repeat=args.repeat,
        workers=args.workers,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
