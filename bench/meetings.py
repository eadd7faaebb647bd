"""``python -m bench.meetings``: time ``meetings_materialise`` over many councils.

For each size of ``--councils`` (10,000 and 100,000 unless told otherwise),
smallest first: makes one street (基准街道-会议) hold that many communities, each
with a council, a monthly schedule on the 8th, 18th and 28th, three council
members and 0–3 issues awaiting deliberation, written in batches by COPY
(PostgreSQL) or ``executemany``; a larger size adds councils to the smaller one.
Then times one call of ``deliberation.actions.materialise.meetings_materialise(today=...)``
from no meetings and a second one (which must create nothing), counting SQL
statements with ``CaptureQueriesContext``, meetings and agenda items created, and
the process's peak memory.

With ``--page``: times the meeting page instead. One community of its own street
(基准街道-会议页) holds a meeting an hour from now with ``--items`` agenda items
(46 unless told otherwise; a third decided with a tally), 11 council members of whom
6 signed in; ``--clients`` processes each log in as the community's staff and ask
for the page ``--repeat`` times at once. Prints the server time p50/p95/max over
all requests, the page's size, DOM elements and SQL statements.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench import say, setup_django

Out = Callable[[str], None]

STREET = "基准街道-会议"
PAGE_STREET = "基准街道-会议页"
PAGE_COMMUNITY = "基准会议页社区"
PAGE_STAFF = "bench_meeting_page_staff"
PAGE_ITEMS = 46
PAGE_MEMBERS = 11
PAGE_PRESENT = 6
PAGE_CLIENTS = 2
PAGE_REPEAT = 30
PAGE_TARGET_P95_MS = 100
PAGE_WORKERS = os.cpu_count() or 2
BATCH = 5_000
MEMBERS = 3
SEED = 20261125
TODAY = dt.date(2026, 11, 25)
SIZES = (10_000, 100_000)


@dataclass
class Call:
    councils: int
    created: int
    items: int
    seconds: float
    queries: int
    kinds: dict[str, int]
    peak_mb: float


def _reserve(model, count: int) -> list[int]:
    """The next ``count`` primary keys of ``model`` from its own sequence."""
    from django.db import connection
    from django.db.models import Max

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]
    start = (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    return list(range(start, start + count))


def check_database(*, force: bool = False, street: str = STREET) -> None:
    """Refuse a database that holds any street but the benchmark's own (unless ``force``)."""
    from bench.generate import BenchRefused
    from members.models import Street

    others = Street.objects.exclude(name__in=[street, PAGE_STREET]).count()
    if others and not force:
        raise BenchRefused(
            f"The database holds {others} street(s) other than {street}. Point DATABASE_URL "
            "at a database of its own, or pass --force."
        )


def _clear_meetings(street_id: int) -> int:
    """Delete the street's meetings and agenda items in two statements; the meetings deleted.

    ``QuerySet.delete()`` would load 400,000 meetings to look for rows depending on
    them; the benchmark writes none (no sign-ins, decisions or minutes).
    """
    from django.db import connection

    from deliberation.models import AgendaItem, Meeting
    from members.models import Community, Council

    quote = connection.ops.quote_name
    item, meeting, council, community = (
        quote(model._meta.db_table) for model in (AgendaItem, Meeting, Council, Community)
    )
    ours = (
        f"SELECT m.id FROM {meeting} m JOIN {council} c ON c.id = m.council_id"
        f" JOIN {community} y ON y.id = c.community_id WHERE y.street_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {item} WHERE meeting_id IN ({ours})", [street_id])
        cursor.execute(f"DELETE FROM {meeting} WHERE id IN ({ours})", [street_id])
        return cursor.rowcount


def _analyze() -> None:
    """Fresh planner statistics, as after a quiet night (autovacuum)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def generate(*, councils: int, out: Out = print) -> tuple[int, float]:
    """Make the street hold ``councils`` councils; returns (councils written, seconds).

    A street holding fewer gets the missing ones (numbered on, from the random
    stream a fresh run of that size would use), so 100,000 reuses 10,000. Its
    meetings and agenda items are deleted so the first call starts from nothing.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.generate import BenchRefused, Table, tracking_code
    from deliberation.models import Schedule
    from issues.categories import seed_categories
    from issues.models import Category, Issue
    from members.models import Community, Council, CouncilMember, Resident, Street

    started = time.perf_counter()
    street, _ = Street.objects.get_or_create(name=STREET)
    seed_categories(street)
    categories = list(
        Category.objects.filter(street=street).order_by("position").values_list("pk", flat=True)
    )
    have = Council.objects.filter(community__street=street).count()
    if have > councils:
        raise BenchRefused(
            f"{STREET} already holds {have:,} councils, more than {councils:,}: use a fresh "
            "database (or run the sizes smallest first)."
        )
    deleted = _clear_meetings(street.pk)
    if have == councils:
        _analyze()
        out(f"Data set present: {have:,} councils (deleted {deleted:,} earlier meetings).")
        return 0, time.perf_counter() - started
    out(
        f"Writing {councils - have:,} councils to the {have:,} present in batches of "
        f"{BATCH:,} ({connection.vendor})."
    )
    now = timezone.now()
    tables = {
        "communities": Table(Community, with_pk=True),
        "councils": Table(Council, with_pk=True),
        "schedules": Table(Schedule),
        "residents": Table(Resident, with_pk=True),
        "members": Table(CouncilMember),
        "issues": Table(Issue),
    }
    awaiting = Issue.objects.filter(community__street=street, status=Issue.Status.AWAITING).count()
    for start in range(have, councils, BATCH):
        size = min(BATCH, councils - start)
        rng = random.Random(f"{SEED}:{start // BATCH}")
        rows: dict[str, list[dict]] = {name: [] for name in tables}
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            community_ids = _reserve(Community, size)
            council_ids = _reserve(Council, size)
            resident_ids = iter(_reserve(Resident, size * MEMBERS))
            for offset, (community_id, council_id) in enumerate(
                zip(community_ids, council_ids, strict=True)
            ):
                number = start + offset + 1
                name = f"会议基准{number:06d}社区"
                rows["communities"].append({"id": community_id, "street_id": street.pk,
                                            "name": name})  # fmt: skip
                rows["councils"].append({"id": council_id, "community_id": community_id,
                                         "name": f"{name}居民议事会", "created": now})  # fmt: skip
                rows["schedules"].append({"council_id": council_id, "kind": "monthly",
                                          "month_days": [8, 18, 28], "place": "社区会议室",
                                          "created": now, "updated": now})  # fmt: skip
                for position in range(MEMBERS):
                    resident_id = next(resident_ids)
                    rows["residents"].append({"id": resident_id, "community_id": community_id,
                                              "name": f"成员{number}-{position}",
                                              "created": now, "updated": now})  # fmt: skip
                    rows["members"].append({
                        "council_id": council_id, "resident_id": resident_id,
                        "role": ("leader", "deputy", "member")[position],
                        "category": rng.choice(CouncilMember.Category.values),
                        "joined_on": dt.date(2024, 1, 8), "created": now, "updated": now,
                    })  # fmt: skip
                for k in range(rng.randint(0, 3)):
                    awaiting += 1
                    created = now - dt.timedelta(hours=rng.uniform(1, 24 * 60))
                    rows["issues"].append({
                        "community_id": community_id, "title": "楼道杂物堆放，影响通行",
                        "category_id": rng.choice(categories), "is_urgent": rng.random() < 0.05,
                        "channel": Issue.Channel.values[0], "status": Issue.Status.AWAITING,
                        "tracking_code": tracking_code(number * 4 + k),
                        "created": created, "updated": created,
                    })  # fmt: skip
            for name, table in tables.items():
                table.write(rows[name])
        elapsed = time.perf_counter() - started
        out(f"  {start + size:>9,} councils  {awaiting:>9,} awaiting issues  {elapsed:>6.0f} s")
    _analyze()
    return councils - have, time.perf_counter() - started


def _kind(sql: str) -> str:
    """A statement's shape: its verb and main table."""
    words = sql.replace('"', "").split()
    verb = words[0].upper() if words else "?"
    keys = {"INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM", "SELECT": "FROM"}
    if verb not in keys or keys[verb] not in words:
        return verb
    at = words.index(keys[verb])
    table = words[at + 1] if at + 1 < len(words) else "?"
    if verb == "SELECT":
        for lock in ("FOR NO KEY UPDATE", "FOR UPDATE"):
            if lock in sql:
                verb = f"SELECT … {lock}"
                break
    return f"{verb} {table}"


def _items() -> int:
    from deliberation.models import AgendaItem

    return AgendaItem.objects.filter(meeting__council__community__street__name=STREET).count()


def _peak_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def timed_call(today: dt.date, councils: int) -> Call:
    """One ``meetings_materialise`` call: meetings and items created, seconds, statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from deliberation.actions import materialise

    items = _items()
    # The query log keeps 9,000 statements by default: make it unbounded for the call.
    saved = connection.queries_log
    connection.queries_log = collections.deque()
    try:
        with CaptureQueriesContext(connection) as context:
            started = time.perf_counter()
            created = materialise.meetings_materialise(today=today)
            seconds = time.perf_counter() - started
        kinds = collections.Counter(_kind(q["sql"]) for q in context.captured_queries)
        queries = len(context.captured_queries)
    finally:
        connection.queries_log = saved
    return Call(
        councils=councils,
        created=created,
        items=_items() - items,
        seconds=seconds,
        queries=queries,
        kinds=dict(kinds),
        peak_mb=_peak_mb(),
    )


HEADER = ("councils", "call", "meetings", "items", "seconds", "queries", "peak_MB")
WIDTHS = (10, 6, 10, 10, 10, 9, 9)


def _numbers(calls: list[Call]) -> list[int]:
    """Each call's number within its size (1: from no meetings, 2: the same again)."""
    seen: collections.Counter[int] = collections.Counter()
    numbers = []
    for call in calls:
        seen[call.councils] += 1
        numbers.append(seen[call.councils])
    return numbers


def report(calls: list[Call]) -> str:
    """The table of calls (two per size), then each call's statements by verb and table."""

    def row(cells: Sequence[str]) -> str:
        return "".join(f"{cell:>{width}}" for cell, width in zip(cells, WIDTHS, strict=True))

    lines = [row(HEADER)]
    numbers = _numbers(calls)
    for call, number in zip(calls, numbers, strict=True):
        lines.append(
            row(
                (
                    f"{call.councils}", f"{number}", f"{call.created}", f"{call.items}",
                    f"{call.seconds:.2f}", f"{call.queries}", f"{call.peak_mb:.0f}",
                )
            )
        )  # fmt: skip
    lines.append("")
    for call, number in zip(calls, numbers, strict=True):
        shapes = ", ".join(
            f"{kind} ×{count}" for kind, count in sorted(call.kinds.items(), key=lambda i: -i[1])
        )
        lines.append(f"{call.councils} councils, call {number}: {shapes}")
    return "\n".join(lines)


# --- The meeting page under concurrent clients ----------------------------------------------


@dataclass
class PageTiming:
    items: int
    clients: int
    requests: int
    p50: float
    p95: float
    max: float
    cpu_p95: float  # the process's own CPU time: what a loaded machine does not add
    bytes: int
    elements: int
    queries: int


def page_data(*, items: int = PAGE_ITEMS, out: Out = print) -> tuple[int, int]:
    """The page's meeting (made once, grown to ``items``): (meeting id, staff user id).

    Written through the domain actions, as staff would: issues reported and accepted,
    put on the agenda, members signed in, every third item decided with a tally.
    """
    from django.utils import timezone

    from deliberation.actions import running
    from deliberation.models import AgendaItem, Meeting
    from issues.actions import handling, intake
    from issues.categories import seed_categories
    from issues.models import Category
    from members.models import Community, Council, CouncilMember, Resident, Role, Street, User

    street, _ = Street.objects.get_or_create(name=PAGE_STREET)
    seed_categories(street)
    community, _ = Community.objects.get_or_create(street=street, name=PAGE_COMMUNITY)
    council, _ = Council.objects.get_or_create(
        community=community, defaults={"name": f"{PAGE_COMMUNITY}居民议事会"}
    )
    staff = User.objects.filter(username=PAGE_STAFF).first()
    if staff is None:
        staff = User.objects.create_user(username=PAGE_STAFF, display_name="会议页 工作人员")
        Role.objects.create(user=staff, kind=Role.Kind.COMMUNITY_STAFF, community=community)
    terms = list(CouncilMember.objects.filter(council=council, left_on__isnull=True))
    for number in range(len(terms), PAGE_MEMBERS):
        resident = Resident.objects.create(community=community, name=f"议事员{number + 1}")
        terms.append(
            CouncilMember.objects.create(
                council=council,
                resident=resident,
                category=CouncilMember.Category.RESIDENT_REPRESENTATIVE,
                joined_on=dt.date(2024, 1, 8),
            )
        )
    now = timezone.now()
    meeting = (
        Meeting.objects.filter(council=council, state=Meeting.State.SCHEDULED, starts_at__gt=now)
        .select_related("council")
        .first()
    )
    if meeting is None:
        starts = (now + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
        meeting = Meeting.objects.create(
            council=council, starts_at=starts, notice_due_at=starts - dt.timedelta(days=3),
            place="社区居民议事点",
        )  # fmt: skip
    # The meeting starts within the hour (a later run makes a new one): signing in is open.
    present = set(meeting.attendances.values_list("member_id", flat=True))
    for term in terms[:PAGE_PRESENT]:
        if term.pk not in present:
            running.attendance_sign_in(meeting=meeting, member=term, actor=staff, how="staff")
    category = Category.objects.get(street=street, code="other")
    have = meeting.agenda_items.count()
    if have < items:
        out(f"Putting {items - have} items on the meeting's agenda …")
    for number in range(have, items):
        issue = intake.issue_report(
            actor=staff, community=community, category=category, channel="patrol",
            title=f"{number + 1}号楼楼道堆放杂物影响通行", place=f"{number + 1}号楼",
        )  # fmt: skip
        issue = handling.issue_transition(issue=issue, actor=staff, name="accept")
        item = AgendaItem.objects.create(meeting=meeting, issue=issue, position=number)
        if number % 3 == 0:
            running.decision_record(
                item=item, actor=staff, outcome="solve_by_council", notes="",
                tally=running.Tally(PAGE_PRESENT - 1, 0, 1),
            )  # fmt: skip
    return meeting.pk, staff.pk


def _page_client(job: tuple[int, int, int, int]) -> list[tuple[float, float]]:
    """One client (a process of its own): log in, warm up, then time ``repeat`` requests.

    Each timing is (wall ms, CPU ms of this process)."""
    from django.db import connections
    from django.test import Client
    from django.urls import reverse

    from members.models import User

    meeting_id, staff_id, repeat, warmup = job
    client = Client()
    client.force_login(User.objects.get(pk=staff_id))
    url = reverse("meetings:detail", args=[meeting_id])
    timings = []
    for number in range(warmup + repeat):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True)
        took = (time.perf_counter() - started) * 1000
        used = (time.process_time() - cpu) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"meeting page: HTTP {response.status_code}")
        if number >= warmup:
            timings.append((took, used))
    connections.close_all()
    return timings


def count_elements(html: str) -> int:
    """The DOM elements of a page: its start tags."""
    from html.parser import HTMLParser

    class Counter(HTMLParser):
        elements = 0

        def handle_starttag(self, tag, attrs) -> None:
            self.elements += 1

        def handle_startendtag(self, tag, attrs) -> None:
            self.elements += 1

    counter = Counter()
    counter.feed(html)
    return counter.elements


def time_page(
    *,
    items: int = PAGE_ITEMS,
    clients: int = PAGE_CLIENTS,
    repeat: int = PAGE_REPEAT,
    warmup: int = 3,
    out: Out = print,
) -> PageTiming:
    """The meeting page's server time with ``clients`` asking at once, ``repeat`` times each."""
    import multiprocessing

    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from bench.measure import percentile
    from members.models import User

    meeting_id, staff_id = page_data(items=items, out=out)
    client = Client()
    client.force_login(User.objects.get(pk=staff_id))
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("meetings:detail", args=[meeting_id]), secure=True)
    if page.status_code != 200:
        raise RuntimeError(f"meeting page: HTTP {page.status_code}")
    connections.close_all()  # each client process opens its own
    out(f"Asking for the meeting page with {clients} clients at once, {repeat} times each …")
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        runs = pool.map(_page_client, [(meeting_id, staff_id, repeat, warmup)] * clients)
    timings = [took for run in runs for took, _cpu in run]
    cpu = [used for run in runs for _took, used in run]
    return PageTiming(
        items=items,
        clients=clients,
        requests=len(timings),
        p50=percentile(timings, 0.5),
        p95=percentile(timings, 0.95),
        max=max(timings),
        cpu_p95=percentile(cpu, 0.95),
        bytes=len(page.content),
        elements=count_elements(page.content.decode()),
        queries=len(captured),
    )


PAGE_HEADER = ("items", "clients", "requests", "p50_ms", "p95_ms", "max_ms", "cpu_p95_ms", "KB",
               "elements", "queries")  # fmt: skip


def page_report(timing: PageTiming) -> str:
    cells = [
        str(timing.items), str(timing.clients), str(timing.requests), f"{timing.p50:.1f}",
        f"{timing.p95:.1f}", f"{timing.max:.1f}", f"{timing.cpu_p95:.1f}",
        f"{timing.bytes / 1024:.1f}",
        str(timing.elements), str(timing.queries),
    ]  # fmt: skip
    widths = [max(len(head), len(cell)) for head, cell in zip(PAGE_HEADER, cells, strict=True)]
    verdict = "met" if timing.p95 <= PAGE_TARGET_P95_MS else "MISSED"
    return "\n".join(
        [
            "  ".join(head.rjust(width) for head, width in zip(PAGE_HEADER, widths, strict=True)),
            "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True)),
            f"meeting page server time p95 {timing.p95:.1f} ms "
            f"(target <= {PAGE_TARGET_P95_MS} ms: {verdict}; its CPU time p95 "
            f"{timing.cpu_p95:.1f} ms, roughly the wall time on a machine with a core free "
            "for each client)",
        ]
    )


# --- The meeting page served by gunicorn, beside the bare floor view -------------------------


@dataclass
class Served:
    """One URL's requests over HTTP: wall times seen by the clients, and the body's size."""

    name: str
    requests: int
    p50: float
    p95: float
    max: float
    bytes: int
    mean: float = 0.0  # ms


@dataclass
class ServedTiming:
    items: int
    clients: int
    workers: int
    page: Served
    floor: Served
    server_pid: int
    bind: str


def database_url() -> str:
    """``DATABASE_URL`` for the database this process is connected to (a test's own too)."""
    from urllib.parse import quote

    from django.db import connection

    found = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{found['NAME']}"
    if connection.vendor != "postgresql":
        raise RuntimeError(f"--page over HTTP knows SQLite and PostgreSQL, not {connection.vendor}")
    user = quote(found.get("USER") or "", safe="")
    password = quote(found.get("PASSWORD") or "", safe="")
    login = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{found['PORT']}" if found.get("PORT") else ""
    return f"postgres://{login}{found.get('HOST') or ''}{port}/{quote(found['NAME'], safe='')}"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, cookie: str = "") -> tuple[float, int, int]:
    """One GET on a new connection, as a browser behind the TLS proxy sends it.

    Returns (wall ms to the body's last byte, HTTP status, body bytes)."""
    import http.client

    headers = {"X-Forwarded-Proto": "https", "Accept": "text/html"}
    if cookie:
        headers["Cookie"] = cookie
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return (time.perf_counter() - started) * 1000, response.status, len(body)


class Gunicorn:
    """``gunicorn deliberation.wsgi:application`` on a free local port, with this process's
    settings, environment and database; stopped (workers and all) on leaving."""

    def __init__(self, *, workers: int, settings_module: str = "") -> None:
        self.workers = workers
        # A bench-only settings module layered on this process's (see bench/http_settings.py).
        self.settings_module = settings_module
        self.port = _free_port()
        self.bind = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        from django.conf import settings

        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
        if self.settings_module:
            env["YISHI_BENCH_BASE_SETTINGS"] = settings.SETTINGS_MODULE
            env["DJANGO_SETTINGS_MODULE"] = self.settings_module
        env["DATABASE_URL"] = database_url()
        # The session cookie's user is checked against a hash keyed by SECRET_KEY.
        env["SECRET_KEY"] = settings.SECRET_KEY
        hosts = [h for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
        env["ALLOWED_HOSTS"] = ",".join([*hosts, "127.0.0.1"])
        env.pop("WEB_CONCURRENCY", None)
        return env

    def __enter__(self) -> Gunicorn:
        from django.conf import settings

        command = [
            sys.executable, "-m", "gunicorn", "deliberation.wsgi:application",
            "--bind", self.bind, "--workers", str(self.workers), "--worker-class", "sync",
            "--log-level", "warning", "--error-logfile", "-",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=self.environment(), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                error = self.process.stderr.read() if self.process.stderr else ""
                raise RuntimeError(f"gunicorn stopped at start:\n{error[-2000:]}")
            try:
                if _get(self.port, "/health/")[1] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"gunicorn did not answer on {self.bind} within 60 s")
            time.sleep(0.2)

    def __exit__(self, *_: object) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # the master stops its workers gracefully
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: master and workers
            process.wait()
        if process.stderr:
            process.stderr.close()


def _served_client(
    port: int, cookie: str, page: str, repeat: int, warmup: int, start: threading.Barrier
) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
    """One client: warm up, wait for the others, then ask for the page and the floor view
    in turn, ``repeat`` times each. Returns ([(ms, bytes)] of the page, of the floor)."""
    pages, floors = [], []
    try:
        for number in range(-warmup, repeat):
            for path, cookie_sent, into in ((page, cookie, pages), ("/health/", "", floors)):
                if number == 0 and path == page:
                    start.wait(timeout=300)
                took, status, size = _get(port, path, cookie_sent)
                if status != 200:
                    raise RuntimeError(f"{path}: HTTP {status} from gunicorn")
                if number >= 0:
                    into.append((took, size))
    except BaseException:
        start.abort()  # the other clients stop waiting for this one
        raise
    return pages, floors


def _served(name: str, timings: list[tuple[float, int]]) -> Served:
    from bench.measure import percentile

    walls = [took for took, _size in timings]
    return Served(
        name=name, requests=len(walls), p50=percentile(walls, 0.5), p95=percentile(walls, 0.95),
        max=max(walls), bytes=max(size for _took, size in timings), mean=sum(walls) / len(walls),
    )  # fmt: skip


def time_served(
    *,
    items: int = PAGE_ITEMS,
    clients: int = PAGE_CLIENTS,
    repeat: int = PAGE_REPEAT,
    workers: int = PAGE_WORKERS,
    warmup: int = 3,
    out: Out = print,
) -> ServedTiming:
    """The meeting page and ``/health/`` over HTTP from gunicorn, ``clients`` threads at once.

    Each client asks for the page, then the floor view, ``repeat`` times (after
    ``warmup`` untimed rounds), with the staff's session cookie on the page's requests."""
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.urls import reverse

    from members.models import User

    meeting_id, staff_id = page_data(items=items, out=out)
    login = Client()
    login.force_login(User.objects.get(pk=staff_id))  # a real session row, as a login makes
    cookie = f"{settings.SESSION_COOKIE_NAME}={login.cookies[settings.SESSION_COOKIE_NAME].value}"
    page = reverse("meetings:detail", args=[meeting_id])
    connections.close_all()
    out(f"Starting gunicorn with {workers} sync workers …")
    with Gunicorn(workers=workers) as server:
        pid = server.process.pid if server.process else 0
        out(
            f"Asking gunicorn on {server.bind} for the meeting page and /health/ with "
            f"{clients} clients at once, {repeat} times each …"
        )
        start = threading.Barrier(clients)
        with ThreadPoolExecutor(clients) as pool:
            futures = [
                pool.submit(_served_client, server.port, cookie, page, repeat, warmup, start)
                for _ in range(clients)
            ]
        errors = [f.exception() for f in futures if f.exception() is not None]
        # The client that failed first, not those it released from the barrier.
        errors.sort(key=lambda error: isinstance(error, threading.BrokenBarrierError))
        if errors:
            raise errors[0]
        runs = [future.result() for future in futures]
    return ServedTiming(
        items=items,
        clients=clients,
        workers=workers,
        page=_served("meeting page", [t for pages, _floors in runs for t in pages]),
        floor=_served("/health/", [t for _pages, floors in runs for t in floors]),
        server_pid=pid,
        bind=server.bind,
    )


SERVED_HEADER = ("url", "requests", "p50_ms", "p95_ms", "max_ms", "KB")


def served_report(timing: ServedTiming) -> str:
    """Both rows (the page, the floor view), then the verdict on the page's p95."""
    rows = [SERVED_HEADER]
    for served in (timing.page, timing.floor):
        rows.append(
            (
                served.name.replace(" ", "_"), str(served.requests), f"{served.p50:.1f}",
                f"{served.p95:.1f}", f"{served.max:.1f}", f"{served.bytes / 1024:.1f}",
            )
        )  # fmt: skip
    widths = [max(len(row[n]) for row in rows) for n in range(len(SERVED_HEADER))]
    lines = [
        "  ".join(
            cell.ljust(width) if n == 0 else cell.rjust(width)
            for n, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    verdict = "met" if timing.page.p95 <= PAGE_TARGET_P95_MS else "MISSED"
    lines.append(
        f"meeting page over HTTP p95 {timing.page.p95:.1f} ms (target <= {PAGE_TARGET_P95_MS} "
        f"ms: {verdict}); the floor view /health/ p95 {timing.floor.p95:.1f} ms beside it, in "
        "the same run"
    )
    return "\n".join(lines)


PAGE_HOW = ("both", "gunicorn", "in-process")


def run_page(
    *,
    items: int = PAGE_ITEMS,
    clients: int = PAGE_CLIENTS,
    repeat: int = PAGE_REPEAT,
    how: str = "both",
    workers: int = PAGE_WORKERS,
    force: bool = False,
    out: Out = print,
) -> str:
    """Make (or reuse) the page's meeting, time the page; return the printed report.

    ``how``: ``gunicorn`` (over HTTP, beside ``/health/``), ``in-process`` (the test
    client in forked processes) or ``both``, in that order."""
    from bench import measure

    if how not in PAGE_HOW:
        raise ValueError(f"how must be one of {', '.join(PAGE_HOW)}")
    check_database(force=force, street=PAGE_STREET)
    parts = []
    if how in ("both", "gunicorn"):
        served = time_served(items=items, clients=clients, repeat=repeat, workers=workers, out=out)
        parts += [
            f"method    gunicorn, {workers} sync workers, on {served.bind}; {clients} client "
            f"threads (http.client, a new connection per request) each asking {repeat} times "
            "for the page, then /health/, after 3 untimed rounds; wall ms as the clients see it",
            "",
            served_report(served),
            "",
        ]
    if how in ("both", "in-process"):
        timing = time_page(items=items, clients=clients, repeat=repeat, out=out)
        parts += [
            f"method    in-process django.test.Client in {clients} forked processes, "
            f"{repeat} times each after 3 untimed requests",
            "",
            page_report(timing),
            "",
        ]
    return "\n".join(
        [
            "",
            f"Yishi meeting page benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            *measure.machine(),
            *measure.database(),
            f"data set  one meeting with {items} items (a third decided), {PAGE_MEMBERS} "
            f"members, {PAGE_PRESENT} signed in; the page as the community's staff see it",
            *parts,
        ]
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.meetings",
        description="Generate councils in DATABASE_URL and time meetings_materialise.",
    )
    parser.add_argument(
        "--councils", type=int, nargs="+", default=list(SIZES), metavar="N",
        help="sizes to measure, smallest first (10000 100000)",
    )  # fmt: skip
    parser.add_argument("--today", type=dt.date.fromisoformat, default=TODAY,
                        help=f"the date passed to meetings_materialise ({TODAY})")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="write next to other data")
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")
    parser.add_argument("--page", action="store_true",
                        help="time the meeting page under concurrent clients instead")  # fmt: skip
    parser.add_argument("--items", type=int, default=PAGE_ITEMS,
                        help=f"--page: agenda items of the meeting ({PAGE_ITEMS})")  # fmt: skip
    parser.add_argument("--clients", type=int, default=PAGE_CLIENTS,
                        help=f"--page: clients asking at once ({PAGE_CLIENTS})")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=PAGE_REPEAT,
                        help=f"--page: timed requests per client ({PAGE_REPEAT})")  # fmt: skip
    parser.add_argument("--how", choices=PAGE_HOW, default="both",
                        help="--page: over HTTP from gunicorn, in-process or both")  # fmt: skip
    parser.add_argument("--workers", type=int, default=PAGE_WORKERS,
                        help=f"--page: gunicorn's sync workers ({PAGE_WORKERS})")  # fmt: skip
    return parser.parse_args(argv)


def run(
    *,
    councils: int | Sequence[int] = SIZES,
    today: dt.date = TODAY,
    force: bool = False,
    out: Out = print,
) -> str:
    """Per size: generate (or grow), call twice; return the printed report."""
    from bench import measure

    sizes = sorted({councils} if isinstance(councils, int) else set(councils))
    check_database(force=force)
    calls: list[Call] = []
    made = []
    for size in sizes:
        written, seconds = generate(councils=size, out=out)
        made.append(
            f"{size:,}: wrote {written:,} councils in {seconds:.0f} s" if written
            else f"{size:,}: reused"
        )  # fmt: skip
        out(f"Calling meetings_materialise(today={today}) twice on {size:,} councils …")
        calls += [timed_call(today, size), timed_call(today, size)]
    return "\n".join(
        [
            "",
            "Yishi meetings_materialise benchmark, "
            f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            *measure.machine(),
            *measure.database(),
            f"data set  councils with a monthly 8/18/28 schedule, {MEMBERS} members, 0–3 "
            f"awaiting issues each; {'; '.join(made)}",
            "",
            report(calls),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    setup_django(migrate=not args.no_migrate)
    from bench.generate import BenchRefused

    try:
        if args.page:
            say(
                run_page(
                    items=args.items,
                    clients=args.clients,
                    repeat=args.repeat,
                    how=args.how,
                    workers=args.workers,
                    force=args.force,
                    out=say,
                )
            )
        else:
            say(run(councils=args.councils, today=args.today, force=args.force, out=say))
    except BenchRefused as refusal:
        print(f"bench.meetings: {refusal}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
