"""Server time of the pages people wait for, measured in-process.

Each page is requested with ``django.test.Client`` (the whole middleware stack,
view and template; no network, no browser), first a few times to warm caches,
then ``repeat`` times with ``time.perf_counter`` around ``client.get``. SQL is
counted on the warm-up requests with ``CaptureQueriesContext``, so the timed
requests carry no query log.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import django
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.generate import STREET, USER_PREFIX
from common.paging import encode_cursor
from issues import queries
from issues.inbox_views import PAGE_SIZE
from issues.models import Category, Event, Issue, Photo
from members.models import Community, Street, User

DEEP_PAGES = 200
ISSUE_LINK = re.compile(r'href="[^"]*/issues/\d+/"')
TWO_CHARS = "电梯"
THREE_CHARS = "化粪池"


@dataclass
class Target:
    key: str  # stable name, one word
    label: str  # what it is, for people
    user: User
    url: str
    params: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


@dataclass
class Result:
    key: str
    label: str
    url: str
    p50: float  # ms
    p95: float  # ms
    queries: int
    bytes: int
    sql_ms: float  # median total SQL time of the warm-up requests
    rows: int | None = None  # issues on an inbox page
    captured: list[dict] = field(default_factory=list)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _cursor_after(user: User, position: int) -> str:
    """The cursor the inbox would show at the end of the page holding row ``position`` (0-based)."""
    row = (
        queries.inbox(user, queries.InboxFilters())
        .values_list("created", "id")[position : position + 1]
        .first()
    )
    return encode_cursor(list(row))


def targets() -> list[Target]:
    """The pages to measure, on the benchmark street's data."""
    from bench.generate import store_placeholders

    store_placeholders()  # the issue page shows only the photos the storage holds
    street = Street.objects.get(name=STREET)
    staff = User.objects.get(username=f"{USER_PREFIX}staff")
    admin = User.objects.get(username=f"{USER_PREFIX}admin")
    member = User.objects.get(username=f"{USER_PREFIX}m01_1")
    first_community = Community.objects.filter(street=street).order_by("pk").first()
    facilities = Category.objects.get(street=street, code="facilities")
    visible = queries.inbox(staff, queries.InboxFilters())
    total = visible.count()
    inbox = reverse("issues:inbox")
    # 200 pages deep (or as deep as the data goes), and the very end of the list.
    depth = max(1, min(DEEP_PAGES, (total - 1) // PAGE_SIZE))
    deep = _cursor_after(staff, depth * PAGE_SIZE - 1)
    oldest = visible.order_by("created", "id").values_list("created", "id")[
        min(PAGE_SIZE // 2, total - 1)
    ]
    last = encode_cursor(list(oldest))
    issue = representative_issue(street)
    return [
        Target("inbox", "inbox, first page", staff, inbox),
        Target("inbox_admin", "inbox, first page, street admin", admin, inbox),
        Target("inbox_status", "inbox, status=in_progress", staff, inbox,
               {"status": Issue.Status.IN_PROGRESS}),
        Target("search2", f"inbox, q={TWO_CHARS} (2 characters)", staff, inbox,
               {"q": TWO_CHARS}),
        Target("search3", f"inbox, q={THREE_CHARS} (3 characters)", staff, inbox,
               {"q": THREE_CHARS}),
        Target("filtered", f"inbox, in_progress + 公共设施 + q={TWO_CHARS}", staff, inbox,
               {"status": Issue.Status.IN_PROGRESS, "category": facilities.pk, "q": TWO_CHARS}),
        Target("inbox_deep", f"inbox, page {depth + 1} (keyset cursor)", staff, inbox,
               {"after": deep}),
        Target("inbox_more", f"'Show more' (htmx rows only), page {depth + 1}", staff, inbox,
               {"after": deep}, {"HX-Request": "true", "HX-Target": "more-issues"}),
        Target("inbox_last", "inbox, last page (keyset cursor)", staff, inbox, {"after": last}),
        Target("issue", f"issue page (#{issue.pk}, {issue.events.count()} events, "
               f"{issue.photos.count()} photos)", staff, reverse("issues:detail", args=[issue.pk])),
        Target("report_form", "phone report form, council member", member,
               reverse("issues:report", args=[first_community.pk])),
    ]  # fmt: skip


def representative_issue(street: Street) -> Issue:
    """An open issue from the middle of the data with a full page: many events, photos."""
    ids = Issue.objects.filter(community__street=street)
    middle = ids.order_by("-pk").values_list("pk", flat=True).first() or 0
    middle = (middle + (ids.order_by("pk").values_list("pk", flat=True).first() or 0)) // 2
    candidates = list(
        ids.filter(pk__gte=middle, status__in=Issue.OPEN_STATUSES).order_by("pk")[:50]
    ) or list(ids.order_by("pk")[:50])

    def fullness(issue: Issue) -> tuple[bool, int, int, int]:
        photos = issue.photos.count()
        return (photos > 0, issue.events.count(), photos, issue.assigned_members.count())

    return max(candidates, key=fullness)


class SqlTimer:
    """Times each statement precisely (the query log rounds to milliseconds)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    @property
    def total(self) -> float:
        return sum(self.times)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.append(time.perf_counter() - started)


def _get(client: Client, target: Target):
    response = client.get(target.url, target.params, secure=True, headers=target.headers)
    if response.status_code != 200:
        raise RuntimeError(f"{target.key}: HTTP {response.status_code} for {target.url}")
    return response


@dataclass
class WarmUp:
    queries: int  # SQL statements per request, the same for every warm-up request
    sql_ms: float  # median total SQL time
    captured: list[dict]  # the statements of the last request, with their times (s)
    response: object


def warm_up(get: Callable[[], object], key: str, warmup: int) -> WarmUp:
    """Untimed requests with the query log: statements, SQL time, the last one's SQL."""
    counts, sql_times = [], []
    captured: list[dict] = []
    for _ in range(max(1, warmup)):
        # Every database the page reads: the primary, and the read replica when there is one.
        watched = []
        with contextlib.ExitStack() as stack:
            for database in connections.all():
                timer = SqlTimer()
                context = stack.enter_context(CaptureQueriesContext(database))
                stack.enter_context(database.execute_wrapper(timer))
                watched.append((context, timer))
            response = get()
        counts.append(sum(len(context.captured_queries) for context, _ in watched))
        sql_times.append(sum(timer.total for _, timer in watched) * 1000)
        captured = [
            {"sql": q["sql"], "time": seconds}
            for context, timer in watched
            for q, seconds in zip(context.captured_queries, timer.times, strict=False)
        ]
    if len(set(counts)) != 1:
        raise RuntimeError(f"{key}: query count varies between requests: {counts}")
    return WarmUp(counts[0], statistics.median(sql_times), captured, response)


def measure(target: Target, *, repeat: int, warmup: int = 3, keep_sql: bool = False) -> Result:
    client = Client()
    client.force_login(target.user)
    warm = warm_up(lambda: _get(client, target), target.key, warmup)
    timings, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = _get(client, target)
        timings.append((time.perf_counter() - started) * 1000)
        size = len(response.content)
    rows = None
    if target.url == reverse("issues:inbox"):
        rows = len(ISSUE_LINK.findall(response.content.decode()))
    return Result(
        key=target.key,
        label=target.label,
        url=target.url,
        p50=percentile(timings, 0.5),
        p95=percentile(timings, 0.95),
        queries=warm.queries,
        bytes=size,
        sql_ms=warm.sql_ms,
        rows=rows,
        captured=warm.captured if keep_sql else [],
    )


def run(*, repeat: int, warmup: int = 3, keep_sql: bool = False,
        out: Callable[[str], None] | None = None) -> list[Result]:  # fmt: skip
    results = []
    for target in targets():
        if out:
            out(f"  measuring {target.key} …")
        results.append(measure(target, repeat=repeat, warmup=warmup, keep_sql=keep_sql))
    return results


# --- The report ---------------------------------------------------------------------------

COLUMNS = ("page", "p50 ms", "p95 ms", "queries", "bytes", "sql ms")


def table(results: list[Result]) -> str:
    """Plain aligned text: the key column, numbers, then what each page is."""
    rows = [
        (r.key, f"{r.p50:.1f}", f"{r.p95:.1f}", str(r.queries), str(r.bytes), f"{r.sql_ms:.1f}")
        for r in results
    ]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(COLUMNS)]

    def line(cells) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    lines = [line(COLUMNS), line(["-" * w for w in widths])]
    lines += [line(row) for row in rows]
    lines.append("")
    for r in results:
        shown = f", {r.rows} rows" if r.rows is not None else ""
        lines.append(f"{r.key:<{widths[0]}}  {r.label}{shown}")
    return "\n".join(lines)


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for text in info:
                if text.startswith("model name"):
                    cpu = text.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            for text in info:
                if text.startswith("MemTotal:"):
                    memory = f"{int(text.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    try:
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return [
        f"machine   {cpu}, {os.cpu_count()} cores, {memory} RAM; {load} at the end",
        f"software  Python {platform.python_version()}, Django {django.get_version()}, "
        f"{platform.system()} {platform.release()}",
    ]


def database() -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
            # The server's settings; those the app's sessions set themselves (source
            # "client", deliberation/settings.py) are said apart, the server's default then
            # being PostgreSQL's own.
            cursor.execute(
                "SELECT name, CASE WHEN source = 'client' THEN boot_val ELSE setting END, "
                "setting, unit FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', "
                "'max_parallel_workers_per_gather', 'jit') ORDER BY name"
            )
            rows = cursor.fetchall()
            server = ", ".join(f"{name}={_pg_size(value, unit)}" for name, value, _, unit in rows)
            session = ", ".join(
                f"{name}={_pg_size(mine, unit)}"
                for name, value, mine, unit in rows
                if mine != value
            )
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
            line = f"database  {version} (server settings: {server}"
            line += f"; the app's sessions: {session}" if session else ""
            return [f"{line}), {size} on disk"]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = cursor.fetchone()[0]
            name = connection.settings_dict["NAME"]
            size = os.path.getsize(name) / 1024 / 1024 if os.path.exists(str(name)) else 0
            return [f"database  SQLite {version} (WAL), {size:,.0f} MiB on disk"]
        return [f"database  {connection.display_name}"]


def _pg_size(value: str, unit: str | None) -> str:
    if unit == "8kB":
        return f"{int(value) * 8 // 1024}MB"
    if unit == "kB":
        return f"{int(value) // 1024}MB"
    return value


def dataset() -> str:
    street = Street.objects.get(name=STREET)
    issues = Issue.objects.filter(community__street=street)
    return (
        f"data set  {issues.count():,} issues in "
        f"{Community.objects.filter(street=street).count()} communities, "
        f"{Event.objects.filter(issue__community__street=street).count():,} events, "
        f"{Photo.objects.filter(issue__community__street=street).count():,} photos; "
        f"{issues.filter(status__in=Issue.OPEN_STATUSES).count():,} open"
    )
