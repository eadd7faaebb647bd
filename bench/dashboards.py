"""``python -m bench.dashboards``: the dashboards and the inbox CSV export on the benchmark data.

Reads the data set ``python -m bench`` wrote (基准街道: its issues, escalations and
people; nothing is written but sessions and the export log's rows) and measures:

1. The server time of the community dashboard (as staff of one community) and the street
   dashboard (as the street's admin) for this month, this year, last year and a custom
   range of three years up to today, in-process with ``django.test.Client`` as
   ``bench.measure`` does, with the SQL statements of each request, which must be the
   same for every period.
2. ``/issues/export.csv`` of every issue of the street for its admin, in a fresh process
   (``python -m bench.dashboards --export-child``): time to the first byte and to the
   first row, total time, rows per second, the statements run before the first row and in
   all (so the figure shows the rows are streamed, not read first), and the process's peak
   resident memory.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import say, setup_django

Out = Callable[[str], None]

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 20
WARMUP = 2
CUSTOM_YEARS = 3
TARGET_P95_MS = 200
TARGET_FIRST_BYTE_S = 1.0
TARGET_RSS_MB = 150
EXPORT_USER = "admin"  # bench_admin: the street's admin sees every issue of the street
COMMUNITY_USER = "s01_1"  # bench_s01_1: staff of the first community only


@dataclass
class Page:
    key: str  # stable name, one word
    dashboard: str  # "community" or "street"
    period: str  # month, year, last_year, 3_years
    user: object  # members.models.User
    url: str
    params: dict
    since: dt.date
    until: dt.date
    issues: int = 0  # issues reported in the period in the dashboard's communities
    resolved: int = 0  # issues resolved in the period (the other half of the figures)
    cut: int = 0  # months the period cuts, read from the issues rather than the roll-up


@dataclass
class Result:
    page: Page
    p50: float  # ms
    p95: float
    max: float
    queries: int
    sql_ms: float  # median total SQL time of the warm-up requests
    slowest_ms: float  # the slowest statement of the last warm-up request
    bytes: int
    captured: list[dict] = field(default_factory=list)  # statements of the last warm-up


@dataclass
class Export:
    rows: int  # rows the export log recorded (ExportRecord.rows)
    lines: int  # lines of CSV received, header included
    visible: int  # issues the same inbox lists for the same account
    bytes: int
    chunks: int
    response_s: float  # until client.get returned the (streaming) response
    first_byte_s: float
    first_row_s: float
    total_s: float
    statements_first_row: int  # statements run when the first row arrived
    statements: int  # statements run in all
    reads_first_row: int  # chunks of issues read from the database when the first row arrived
    reads: int  # chunks of issues read in all
    rss_before_mb: float  # VmRSS before the request (Django set up, connected, logged in)
    peak_rss_mb: float  # ru_maxrss of the process
    hwm_mb: float  # VmHWM of the process
    chunk_size: int
    streaming: bool  # a StreamingHttpResponse

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.total_s if self.total_s else 0.0

    @property
    def streams(self) -> bool:
        """The first row came before the last chunk of issues was read from the database."""
        return self.streaming and self.reads_first_row < self.reads

    @property
    def complete(self) -> bool:
        """Every row, once: the header, a line per row and the end line."""
        return self.rows == self.visible == self.lines - 2


# --- The dashboards ------------------------------------------------------------------------


def periods(today: dt.date) -> list[tuple[str, dict, dt.date, dt.date]]:
    """(name, query string, first day, last day) of each period measured."""
    from common.periods import named_period, years_later

    since = years_later(today, -CUSTOM_YEARS) + dt.timedelta(days=1)
    named = [(kind, named_period(kind, today)) for kind in ("month", "year", "last_year")]
    return [
        *((kind, {"period": kind}, p.since, p.until) for kind, p in named),
        (f"{CUSTOM_YEARS}_years",
         {"period": "custom", "since": since.isoformat(), "until": today.isoformat()},
         since, today),
    ]  # fmt: skip


def pages() -> list[Page]:
    """Both dashboards for every period up to today (the server's), on the benchmark street."""
    from django.urls import reverse
    from django.utils import timezone

    from bench.generate import STREET, USER_PREFIX
    from members.models import Community, Role, Street, User

    today = timezone.localdate()
    street = Street.objects.get(name=STREET)
    admin = User.objects.get(username=f"{USER_PREFIX}{EXPORT_USER}")
    staff = User.objects.get(username=f"{USER_PREFIX}{COMMUNITY_USER}")
    community = Community.objects.get(
        pk=Role.objects.get(user=staff, kind=Role.Kind.COMMUNITY_STAFF).community_id
    )
    result = []
    for name, params, since, until in periods(today):
        result.append(Page(f"community_{name}", "community", name, staff,
                           reverse("reports:community_dashboard", args=[community.pk]),
                           params, since, until))  # fmt: skip
        result.append(Page(f"street_{name}", "street", name, admin,
                           reverse("reports:street_dashboard", args=[street.pk]),
                           params, since, until))  # fmt: skip
    _count_issues(result, community, street)
    return result


def _count_issues(found: list[Page], community, street) -> None:
    """How many issues each page's period covers (reported, resolved), outside the timing."""
    from common.periods import Period
    from issues.models import Issue
    from reports.dashboard import month_windows

    for page in found:
        period = Period(page.since, page.until)
        page.cut = len(month_windows(period)[1])
        scope = (
            Issue.objects.filter(community=community)
            if page.dashboard == "community"
            else Issue.objects.filter(community__street=street)
        )
        page.issues = scope.filter(created__gte=period.start, created__lt=period.end).count()
        page.resolved = scope.filter(
            resolved_at__gte=period.start, resolved_at__lt=period.end
        ).count()


def measure_page(page: Page, *, repeat: int = REPEAT, warmup: int = WARMUP) -> Result:
    """Warm-up requests with the query log (statements, SQL time), then timed ones without."""
    from django.test import Client

    from bench.measure import percentile, warm_up

    client = Client()
    client.force_login(page.user)

    def get():
        response = client.get(page.url, page.params, secure=True)
        if response.status_code != 200:
            raise RuntimeError(f"{page.key}: HTTP {response.status_code} for {page.url}")
        return response

    warm = warm_up(get, page.key, warmup)
    timings, size = [], len(warm.response.content)
    for _ in range(repeat):
        started = time.perf_counter()
        get()
        timings.append((time.perf_counter() - started) * 1000)
    return Result(
        page=page,
        p50=percentile(timings, 0.5) if timings else 0.0,
        p95=percentile(timings, 0.95) if timings else 0.0,
        max=max(timings, default=0.0),
        queries=warm.queries,
        sql_ms=warm.sql_ms,
        slowest_ms=max((q["time"] for q in warm.captured), default=0.0) * 1000,
        bytes=size,
        captured=warm.captured,
    )


def rebuild_rollup() -> tuple[int, int, int, float]:
    """Rebuild the dashboards' monthly roll-up from the issues and escalations, as after a
    bulk import (the generator writes around the actions): (months recomputed, community
    rows, department rows, seconds)."""
    from issues import rollup
    from issues.models import DepartmentMonth, IssueMonth

    started = time.perf_counter()
    months = rollup.rebuild()
    took = time.perf_counter() - started
    return months, IssueMonth.objects.count(), DepartmentMonth.objects.count(), took


def time_refresh(repeat: int = 10) -> tuple[float, float, int]:
    """What an action adds to a write that moves an issue: recomputing its community's last
    whole month (p50 and p95 ms, and the issues that month holds)."""
    from dateutil.relativedelta import relativedelta
    from django.utils import timezone

    from bench.generate import USER_PREFIX
    from bench.measure import percentile
    from issues import rollup
    from issues.models import Issue
    from members.models import Role, User

    staff = User.objects.get(username=f"{USER_PREFIX}{COMMUNITY_USER}")
    community_id = Role.objects.get(user=staff, kind=Role.Kind.COMMUNITY_STAFF).community_id
    month = timezone.localdate().replace(day=1) - relativedelta(months=1)
    start, end = rollup.month_bounds(month)
    issues = Issue.objects.filter(community_id=community_id, created__gte=start, created__lt=end)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        rollup.refresh(community_id, [month])
        timings.append((time.perf_counter() - started) * 1000)
    return percentile(timings, 0.5), percentile(timings, 0.95), issues.count()


def run_dashboards(
    *, repeat: int = REPEAT, warmup: int = WARMUP, out: Out | None = None, rebuild: bool = True
) -> list[Result]:
    if rebuild:
        rebuild_rollup()
    results = []
    for page in pages():
        if out:
            out(f"  measuring {page.key} …")
        results.append(measure_page(page, repeat=repeat, warmup=warmup))
    return results


# A month the period cuts is read from the rows: the issues collected, resolved and still
# open, and on the street's dashboard the escalations assigned.
CUT_STATEMENTS = {"community": 3, "street": 4}


def same_statements(results: list[Result]) -> dict[str, set[int]]:
    """Statements per request of each dashboard over every period, less those for the months
    a period cuts: one number each, or a bug."""
    found: dict[str, set[int]] = {}
    for r in results:
        cut = CUT_STATEMENTS[r.page.dashboard] * r.page.cut
        found.setdefault(r.page.dashboard, set()).add(r.queries - cut)
    return found


COLUMNS = ("page", "days", "issues", "resolved", "p50 ms", "p95 ms", "max ms", "queries",
           "sql ms", "slowest", "bytes")  # fmt: skip


def table(results: list[Result]) -> str:
    """Plain aligned text, as ``bench.measure.table``: one row per dashboard and period."""
    rows = [
        (r.page.key, str((r.page.until - r.page.since).days + 1), f"{r.page.issues:,}",
         f"{r.page.resolved:,}", f"{r.p50:.1f}", f"{r.p95:.1f}", f"{r.max:.1f}", str(r.queries),
         f"{r.sql_ms:.1f}", f"{r.slowest_ms:.1f}", str(r.bytes))
        for r in results
    ]  # fmt: skip
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(COLUMNS)]

    def line(cells) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    lines = [line(COLUMNS), line(["-" * w for w in widths]), *(line(row) for row in rows), ""]
    for dashboard, counts in same_statements(results).items():
        shown = ", ".join(str(n) for n in sorted(counts))
        verdict = (
            f"the same for every period, {CUT_STATEMENTS[dashboard]} more for each month a "
            "period cuts"
            if len(counts) == 1
            else "DIFFERENT by period"
        )
        lines.append(f"statements, {dashboard} dashboard: {shown} ({verdict})")
    over = [r.page.key for r in results if r.p95 > TARGET_P95_MS]
    lines.append(
        f"target p95 ≤ {TARGET_P95_MS} ms: "
        + ("met by every page" if not over else f"not met by {len(over)}: {', '.join(over)}")
    )
    if results:
        lines += [
            "",
            f"days, issues, resolved: the period's days; issues reported in it and issues "
            f"resolved in it, in the dashboard's communities (community = the community of "
            f"bench_{COMMUNITY_USER}, street = all of them); slowest: the slowest "
            "statement of a warm-up request, ms",
        ]
        for r in results[:2]:
            lines.append(f"{r.page.dashboard:<9} {r.page.url}  as {r.page.user.username}")
        for r in results[::2]:
            query = "&".join(f"{k}={v}" for k, v in r.page.params.items())
            lines.append(f"  {r.page.period:<9} ?{query}  ({r.page.since} – {r.page.until})")
    return "\n".join(lines)


def explain_slowest(results: list[Result], statements: int = 2) -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the slowest statements of each page."""
    from bench.explain import explain

    parts = []
    for r in results:
        for q in sorted(r.captured, key=lambda q: -q["time"])[:statements]:
            parts.append(
                f"\n--- {r.page.key}: {q['time'] * 1000:.1f} ms\n{q['sql']}\n\n{explain(q['sql'])}"
            )
    return "\n".join(parts)


# --- The CSV export, in a process of its own -----------------------------------------------


def _memory_mb(field_name: str) -> float:
    """VmRSS, VmHWM … of this process from /proc (0 where there is none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for text in status:
                if text.startswith(field_name + ":"):
                    return int(text.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def export_child(*, chunk: int | None, query: str = "") -> int:
    """Log in as the street admin, fetch the CSV export, read it to its end; a JSON report.

    ``query`` is the export's query string (the inbox's filters; none: every issue).
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import resource

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from bench.generate import USER_PREFIX
    from issues import exports
    from issues.models import Issue
    from members.models import ExportRecord, User

    if chunk:
        exports.CHUNK_SIZE = chunk
    # The stream in the request is what is measured here, however many rows (above
    # YISHI_EXPORT_INLINE_ROWS the app hands the export to a worker: bench.exports times that).
    settings.YISHI_EXPORT_INLINE_ROWS = 10**12
    if "testserver" not in settings.ALLOWED_HOSTS:  # the test client's host (test settings)
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user = User.objects.get(username=f"{USER_PREFIX}{EXPORT_USER}")
    client = Client()
    client.force_login(user)
    url = reverse("issues:export_csv") + (f"?{query}" if query else "")
    # As a running server has: the URLconf, views and middleware loaded by one request
    # (for a community nobody has: 404, no rows, nothing in the export log).
    if client.get(reverse("issues:export_csv"), {"community": 0}, secure=True).status_code != 404:
        raise RuntimeError("export: the warm-up request was not refused")
    statements = reads = 0

    def count(execute, sql, params, many, context):
        nonlocal statements, reads
        statements += 1
        reads += f"FROM {connection.ops.quote_name(Issue._meta.db_table)} " in sql
        return execute(sql, params, many, context)

    rss_before = _memory_mb("VmRSS")
    size = chunks = lines = 0
    first_byte = first_row = 0.0
    statements_first_row = reads_first_row = 0
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        response = client.get(url, secure=True)
        returned = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"export: HTTP {response.status_code}")
        streaming = bool(response.streaming)
        body = response.streaming_content if streaming else [response.content]
        for part in body:
            if not part:
                continue
            now = time.perf_counter() - started
            if not chunks:
                first_byte = now
            chunks += 1
            size += len(part)
            lines += part.count(b"\n")
            if not first_row and lines >= 2:  # the header, then a row
                first_row, statements_first_row, reads_first_row = now, statements, reads
        total = time.perf_counter() - started
        response.close()
    peak, hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, _memory_mb("VmHWM")
    record = ExportRecord.objects.filter(actor=user, kind="inbox").order_by("-pk").first()
    visible = _visible(user, query)
    report = {
        "rows": record.rows if record and record.rows is not None else -1,
        "lines": lines, "visible": visible, "bytes": size, "chunks": chunks,
        "response_s": returned, "first_byte_s": first_byte, "first_row_s": first_row,
        "total_s": total, "statements_first_row": statements_first_row,
        "statements": statements, "reads_first_row": reads_first_row, "reads": reads,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak, "hwm_mb": hwm, "chunk_size": exports.CHUNK_SIZE,
        "streaming": streaming,
    }  # fmt: skip
    print(json.dumps(report), flush=True)
    return 0


def _visible(user, query: str) -> int:
    """Issues the inbox lists for the same filters and account (what the export must hold)."""
    from django.http import QueryDict
    from django.test import RequestFactory

    from issues import inbox_views, queries

    request = RequestFactory().get("/", QueryDict(query))
    request.user = user
    form = inbox_views.inbox_filter_form(request, request.GET)
    if not form.is_valid():
        raise RuntimeError(f"export: invalid filters {query!r}: {form.errors}")
    return queries.inbox(user, inbox_views.inbox_filters(form)).count()


def run_export(
    *, database_url: str | None = None, chunk: int | None = None, query: str = "",
    timeout: float = 3600,
) -> Export:  # fmt: skip
    """The export measured in a fresh ``python -m bench.dashboards --export-child``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    argv = [sys.executable, "-m", "bench.dashboards", "--export-child"]
    if chunk:
        argv += ["--chunk", str(chunk)]
    if query:
        argv += ["--export-query", query]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        raise RuntimeError(f"the export process exited with {done.returncode}:\n{done.stderr}")
    return Export(**json.loads(done.stdout.strip().splitlines()[-1]))


def export_report(export: Export, query: str = "") -> str:
    first_byte = export.first_byte_s < TARGET_FIRST_BYTE_S
    rss = export.peak_rss_mb < TARGET_RSS_MB
    if export.reads < 2:
        streams = "cannot tell: the issues fit in one chunk"
    else:
        streams = (
            f"{'yes' if export.streams else 'NO'}: the first row came after "
            f"{export.reads_first_row:,} of the {export.reads:,} chunk reads "
            f"({export.statements_first_row:,} of {export.statements:,} statements), "
            f"at {export.first_row_s:.3f} of {export.total_s:.3f} s"
        )
    shown = f"?{query}" if query else ""
    return "\n".join(
        [
            f"export    /issues/export.csv{shown} as bench_{EXPORT_USER} (the street's admin), "
            f"{'filtered' if query else 'no filters: every issue'}, read to its end in a fresh "
            "process (python -m bench.dashboards --export-child) after one untimed request "
            "that loads the URLconf and middleware",
            f"  response returned {export.response_s:>9.3f} s   the view: filters, export log row",
            f"  first byte        {export.first_byte_s:>9.3f} s   BOM and header line",
            f"  first row         {export.first_row_s:>9.3f} s   after the first chunk of "
            f"{export.chunk_size:,} issues",
            f"  total             {export.total_s:>9.3f} s   {export.rows:,} rows, "
            f"{export.bytes / 1024 / 1024:,.1f} MiB in {export.chunks:,} pieces, "
            f"{export.rows_per_s:,.0f} rows/s",
            f"  peak RSS          {export.peak_rss_mb:>9.1f} MB  ru_maxrss (VmHWM "
            f"{export.hwm_mb:.1f} MB; VmRSS {export.rss_before_mb:.1f} MB before the request)",
            f"  rows              {export.rows:,} in the export log, {export.lines - 2:,} CSV "
            f"lines between the header and the end line, {export.visible:,} in the same inbox: "
            + ("complete" if export.complete else "MISMATCH"),
            f"  streams           {streams}",
            f"target first byte < {TARGET_FIRST_BYTE_S:g} s: {'met' if first_byte else 'not met'}; "
            f"peak RSS < {TARGET_RSS_MB} MB: {'met' if rss else 'not met'}",
        ]
    )


# --- The command ---------------------------------------------------------------------------


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboards",
        description="Time the dashboards and the inbox CSV export on the benchmark data set.",
    )
    parser.add_argument("--repeat", type=int, default=REPEAT, help=f"timed requests ({REPEAT})")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"untimed first ({WARMUP})")
    parser.add_argument(
        "--explain", nargs="?", type=int, const=2, default=0, metavar="N",
        help="print EXPLAIN (ANALYZE, BUFFERS) of the N slowest statements of each page (2)",
    )  # fmt: skip
    parser.add_argument(
        "--export-query", default="", metavar="QS",
        help="the export's filters as the inbox's query string, e.g. community=3 (none: all)",
    )  # fmt: skip
    parser.add_argument("--no-export", action="store_true", help="measure the dashboards only")
    parser.add_argument("--no-dashboards", action="store_true", help="measure the export only")
    parser.add_argument("--force", action="store_true", help="run next to other data")
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


@dataclass
class Run:
    results: list[Result]
    export: Export | None
    text: str


def run(
    *, repeat: int = REPEAT, warmup: int = WARMUP, export: bool = True, dashboards: bool = True,
    explain: int = 0, database_url: str | None = None, chunk: int | None = None,
    export_query: str = "", out: Out = print,
) -> Run:  # fmt: skip
    from bench import measure
    from bench.generate import BenchRefused, bench_issue_count

    if not bench_issue_count():
        raise BenchRefused("No benchmark issues here: write them first with python -m bench.")
    rebuilt = None
    if dashboards:
        out("  rebuilding the dashboards' monthly roll-up from the issues …")
        rebuilt = rebuild_rollup()
        refresh = time_refresh()
    started = time.perf_counter()
    results = (
        run_dashboards(repeat=repeat, warmup=warmup, out=out, rebuild=False) if dashboards else []
    )
    took = time.perf_counter() - started
    measured = None
    if export:
        out(
            f"  exporting {'?' + export_query if export_query else 'every issue'} as CSV in a "
            "fresh process …"
        )
        measured = run_export(database_url=database_url, chunk=chunk, query=export_query)
    lines = [
        "",
        "Yishi dashboards and export benchmark, "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        *measure.machine(),
        *measure.database(),
        measure.dataset(),
    ]
    if rebuilt:
        months, communities, departments, seconds = rebuilt
        lines.append(
            f"roll-up   rebuilt from every issue and escalation, as after a bulk import: "
            f"{communities:,} community and {departments:,} department months ({months} "
            f"months recomputed) in {seconds:.1f} s; "
            f"one community's last month ({refresh[2]:,} issues) recomputed, as an action "
            f"does: {refresh[0]:.1f} ms p50, {refresh[1]:.1f} ms p95"
        )
    if results:
        lines += [
            f"method    in-process django.test.Client, DEBUG off, {warmup} warm-up (SQL counted "
            f"and timed) + {repeat} timed requests per page ({took:.0f} s in all)",
            "",
            table(results),
        ]
    if measured:
        lines += ["", export_report(measured, export_query)]
    lines.append("")
    if explain and results:
        lines.append(explain_slowest(results, explain))
    return Run(results=results, export=measured, text="\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.export_child:
        return export_child(chunk=args.chunk, query=args.export_query)
    setup_django(migrate=not args.no_migrate)
    from bench.generate import BenchRefused, check_database

    try:
        check_database(force=args.force)
        say("Measuring …")
        done = run(
            repeat=args.repeat, warmup=args.warmup, export=not args.no_export,
            dashboards=not args.no_dashboards, explain=args.explain,
            export_query=args.export_query, out=say,
        )  # fmt: skip
    except BenchRefused as refusal:
        print(f"bench.dashboards: {refusal}", file=sys.stderr)
        return 2
    say(done.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
