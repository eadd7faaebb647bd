"""``python -m bench.volunteers``: a volunteer's balance, statement and a team's page on
three years of service hours.

Makes one community (基准社区-志愿) in a street of its own with ``--volunteers`` volunteers in
six teams, each team holding one two-hour activity a day for ``--years`` years; volunteer
``i`` serves on day ``d`` when ``(i + d) % 9 < 4`` (about four days in nine), and exchanges
40 minutes every sixtieth day. Every attendance is confirmed and credited, so 1,000
volunteers over three years write about 500,000 ledger rows (bulk-created, with the dates
they would have had). The balance rows hold the sum of each volunteer's ledger.

Then times, with ``django.test.Client`` in-process (bench/measure.py's method), ``--repeat``
requests after ``--warmup`` untimed ones, and prints p50/p95 and the SQL statements of one
request:

- ``balance``: the volunteer's own page (teams, next activities, balance, ledger), for the
  volunteer with the longest history and for the one with the shortest — the query count
  must not depend on it;
- ``statement``: the staff's printable statement of the last year (PDF), same two volunteers;
- ``certificate``: the staff's certificate of the last year's service hours (PDF), same two;
- ``team``: a team's page as the community's staff (members with balances, activities).

The PDFs are made once before the requests by the worker's function
(``volunteers.printouts.make``), each timed apart; the requests then find them made, as a
volunteer's second request does. ``--how gunicorn`` asks for every page over HTTP from
gunicorn with ``--clients`` threads at once, beside the bare floor view ``/health/``
(bench/meetings.py's method); ``--how both`` does both.

The ledger cannot be cleared (it is append-only, on PostgreSQL by a trigger): the data is
generated once per database and measured again on later runs. Use a database of its own.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bench import say, setup_django

Out = Callable[[str], None]

STREET = "基准街道-志愿"
COMMUNITY = "基准社区-志愿"
STAFF = "bench_volunteers_staff"
TEAMS = ("萤火虫", "指南针", "小号手", "向日葵", "小蜜蜂", "红色代跑")
VOLUNTEERS = 1_000
YEARS = 3
REPEAT = 30
WARMUP = 3
ACTIVITY_MINUTES = 120
EXCHANGE_MINUTES = 40
EXCHANGE_EVERY = 60  # days
BATCH = 5_000
CLIENTS = 4
WORKERS = os.cpu_count() or 2
HOW = ("in-process", "gunicorn", "both")
HEADER = ("page", "volunteer_rows", "requests", "p50_ms", "p95_ms", "queries", "KB")


@dataclass(frozen=True)
class PageResult:
    page: str
    rows: int  # ledger rows of the volunteer measured (0 for the team page)
    requests: int
    p50: float
    p95: float
    queries: int
    bytes: int


@contextlib.contextmanager
def _dates_as_given(*models) -> Iterator[None]:
    """Let bulk_create keep the dates set on the objects (history is written afterwards)."""
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now_add", False)
    ]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in fields:
            field.auto_now_add = True


def _serves(index: int, day: int) -> bool:
    return (index + day) % 9 < 4


def generate(
    *, volunteers: int, years: int, days: int | None = None, out: Out = say
) -> tuple[int, bool]:
    """The benchmark community (made once); its ledger rows and whether it was made now."""
    from django.db import transaction
    from django.utils import timezone

    from members.models import Community, Resident, Role, Street, User
    from volunteers.models import (
        Activity,
        Attendance,
        Balance,
        Exchange,
        ExchangeRule,
        HoursEntry,
        Membership,
        Team,
        Volunteer,
    )

    existing = Community.objects.filter(street__name=STREET, name=COMMUNITY).first()
    if existing is not None:
        rows = HoursEntry.objects.filter(volunteer__resident__community=existing).count()
        out(f"measuring the data already there: {rows:,} ledger rows")
        return rows, False

    started = time.perf_counter()
    zone = timezone.get_current_timezone()
    days = days or 365 * years
    first_day = dt.date.today() - dt.timedelta(days=days)
    with transaction.atomic():
        street = Street.objects.create(name=STREET)
        community = Community.objects.create(street=street, name=COMMUNITY)
        staff, _ = User.objects.get_or_create(username=STAFF)
        Role.objects.get_or_create(user=staff, kind=Role.Kind.COMMUNITY_STAFF, community=community)
        rule = ExchangeRule.objects.create(
            community=community, minutes=EXCHANGE_MINUTES, gives="老年学校课程 1.5 小时"
        )
        residents = Resident.objects.bulk_create(
            [Resident(community=community, name=f"志愿者{i:04d}") for i in range(volunteers)],
            batch_size=BATCH,
        )
        accounts = User.objects.bulk_create(
            [User(username=f"bench_volunteer_{i:04d}") for i in range(volunteers)],
            batch_size=BATCH,
        )
        people = Volunteer.objects.bulk_create(
            [Volunteer(resident=r, user=u) for r, u in zip(residents, accounts, strict=True)],
            batch_size=BATCH,
        )
        teams = [Team.objects.create(community=community, name=name) for name in TEAMS]
        Membership.objects.bulk_create(
            [
                Membership(team=teams[i % len(teams)], volunteer=v, joined_on=first_day)
                for i, v in enumerate(people)
            ],
            batch_size=BATCH,
        )
        for index, team in enumerate(teams):
            team.leader = people[index]
            team.save(update_fields=["leader"])

    credited = [0] * volunteers
    rows = 0
    with _dates_as_given(Activity, Attendance, Exchange, HoursEntry):
        for day in range(days):
            date = first_day + dt.timedelta(days=day)
            starts = dt.datetime.combine(date, dt.time(9, 0), tzinfo=zone)
            ends = starts + dt.timedelta(minutes=ACTIVITY_MINUTES)
            with transaction.atomic():
                activities = Activity.objects.bulk_create(
                    [
                        Activity(
                            team=team,
                            title="日常服务",
                            place="社区广场",
                            starts_at=starts,
                            ends_at=ends,
                            headcount=80,
                            created_by=staff,
                            created=starts,
                        )
                        for team in teams
                    ]
                )
                attendances = Attendance.objects.bulk_create(
                    [
                        Attendance(
                            activity=activities[i % len(teams)],
                            volunteer=v,
                            signed_up_at=starts,
                            signed_in_at=starts,
                            signed_out_at=ends,
                            credited_minutes=ACTIVITY_MINUTES,
                            confirmed_by=staff,
                            confirmed_at=ends,
                        )
                        for i, v in enumerate(people)
                        if _serves(i, day)
                    ],
                    batch_size=BATCH,
                )
                entries = [
                    HoursEntry(volunteer_id=a.volunteer_id, kind=HoursEntry.Kind.CREDIT,
                               minutes=ACTIVITY_MINUTES, attendance=a, recorded_by=staff,
                               served_on=date, created=ends)
                    for a in attendances
                ]  # fmt: skip
                for i in range(volunteers):
                    if _serves(i, day):
                        credited[i] += ACTIVITY_MINUTES
                spending = [
                    i
                    for i in range(volunteers)
                    if (i + day) % EXCHANGE_EVERY == 0 and credited[i] >= EXCHANGE_MINUTES
                ]
                at = ends + dt.timedelta(hours=1)
                exchanges = Exchange.objects.bulk_create(
                    [
                        Exchange(
                            volunteer=people[i],
                            rule=rule,
                            minutes=EXCHANGE_MINUTES,
                            gives=rule.gives,
                            approved_by=staff,
                            created=at,
                        )
                        for i in spending
                    ]
                )
                for i, exchange in zip(spending, exchanges, strict=True):
                    credited[i] -= EXCHANGE_MINUTES
                    entries.append(
                        HoursEntry(volunteer=people[i], kind=HoursEntry.Kind.DEBIT,
                                   minutes=-EXCHANGE_MINUTES, exchange=exchange,
                                   recorded_by=staff, served_on=date, created=at)
                    )  # fmt: skip
                HoursEntry.objects.bulk_create(entries, batch_size=BATCH)
                rows += len(entries)
            if day and day % 180 == 0:
                out(f"  {day} of {days} days, {rows:,} ledger rows")
    Balance.objects.bulk_create(
        [Balance(volunteer=v, minutes=credited[i]) for i, v in enumerate(people)],
        batch_size=BATCH,
    )
    _analyze()
    seconds = time.perf_counter() - started
    out(f"wrote {volunteers:,} volunteers in {len(teams)} teams, {days * len(teams):,} "
        f"activities and {rows:,} ledger rows in {seconds:.1f} s")  # fmt: skip
    return rows, True


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def _time(page: str, rows: int, user, url: str, *, repeat: int, warmup: int) -> PageResult:
    from django.db import connection
    from django.test import Client

    from bench.measure import percentile

    client = Client()
    client.force_login(user)
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"{page} {url}: HTTP {response.status_code}")
    for _ in range(max(0, warmup - 1)):
        client.get(url, secure=True)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, secure=True)
        timings.append((time.perf_counter() - started) * 1000)
    return PageResult(
        page=page,
        rows=rows,
        requests=repeat,
        p50=percentile(timings, 0.5),
        p95=percentile(timings, 0.95),
        queries=len(statements),
        bytes=len(response.content),
    )


def measure(*, repeat: int, warmup: int) -> list[PageResult]:
    return [
        _time(page, rows, user, url, repeat=repeat, warmup=warmup)
        for page, rows, user, url in _urls()
    ]


def make_printouts(out: Out = say) -> list[tuple[str, int, float]]:
    """Make the statements' and certificates' PDFs measured, as the worker makes them
    (``volunteers.printouts.make``), timing each: the pages then find them made, as they
    do after a volunteer's first request. Returns [(page, ledger rows, ms)]."""
    from django.conf import settings
    from django.utils import timezone

    from volunteers import printouts

    year = timezone.localdate().year - 1
    made = []
    from django.utils import translation

    from volunteers.models import Volunteer

    for page, rows, volunteer_id in _printed():
        volunteer = Volunteer.objects.select_related("resident__community").get(pk=volunteer_id)
        with translation.override(settings.LANGUAGE_CODE):
            started = time.perf_counter()
            printouts.render(volunteer, page, year)  # timed even when the cache holds it
            made.append((page, rows, (time.perf_counter() - started) * 1000))
        printouts.make(volunteer_id=volunteer_id, kind=page, year=year,
                       language=settings.LANGUAGE_CODE)  # fmt: skip
    out("PDFs made once by the worker's function before the requests: " + ", ".join(
        f"{page} ({rows} rows) {ms:.0f} ms" for page, rows, ms in made))  # fmt: skip
    return made


def _people():
    from django.db.models import Count

    from volunteers.models import Volunteer

    people = (
        Volunteer.objects.filter(resident__community__name=COMMUNITY,
                                 resident__community__street__name=STREET)
        .select_related("user")
        .annotate(rows=Count("ledger"))
        .order_by("-rows", "id")
    )  # fmt: skip
    return people.first(), people.last()


def _printed() -> list[tuple[str, int, int]]:
    return [(kind, who.rows, who.pk) for _page, _name, kind in PRINTED_URLS for who in _people()]


def _urls() -> list[tuple[str, int, object, str]]:
    """(page, ledger rows, user, url) of every page measured, in the order of the table."""
    from django.urls import reverse
    from django.utils import timezone

    from members.models import User
    from volunteers.models import Team

    busiest, quietest = _people()
    staff = User.objects.get(username=STAFF)
    team = Team.objects.filter(community__name=COMMUNITY, community__street__name=STREET).first()
    year = timezone.localdate().year - 1
    mine = reverse("volunteers:mine")
    urls = [("balance", who.rows, who.user, mine) for who in (busiest, quietest)]
    for page, name, _kind in PRINTED_URLS:
        for who in (busiest, quietest):
            url = reverse(name, args=[who.pk]) + f"?year={year}"
            urls.append((page, who.rows, staff, url))
    urls.append(("team", 0, staff, reverse("volunteers:team", args=[team.pk])))
    return urls


# The PDFs as staff print them: (page, URL name, kind of printout).
PRINTED_URLS = (
    ("statement", "volunteers:statement_pdf", "statement"),
    ("certificate", "volunteers:certificate_pdf", "certificate"),
)
SERVED_HEADER = ("page", "volunteer_rows", "requests", "p50_ms", "p95_ms", "max_ms", "KB")


def serve(
    *, clients: int, repeat: int, warmup: int, workers: int, out: Out = say
) -> tuple[list[tuple[str, int, object]], object]:
    """Every page over HTTP from gunicorn (``workers`` sync workers), ``clients`` threads at
    once, each asking for every page and then the bare floor view ``/health/`` in turn,
    ``repeat`` times after ``warmup`` untimed rounds. Returns ([(page, rows, Served)], the
    floor's Served)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connections
    from django.test import Client

    from bench.meetings import Gunicorn, _get, _served

    urls = _urls()
    cookies = {}
    for _page, _rows, user, _url in urls:
        if user.pk not in cookies:
            login = Client()
            login.force_login(user)
            name = settings.SESSION_COOKIE_NAME
            cookies[user.pk] = f"{name}={login.cookies[name].value}"
    paths = [(url, cookies[user.pk]) for _page, _rows, user, url in urls]
    connections.close_all()

    def client(start: threading.Barrier) -> list[list[tuple[float, int]]]:
        timings: list[list[tuple[float, int]]] = [[] for _ in range(len(paths) + 1)]
        try:
            for number in range(-warmup, repeat):
                if number == 0:
                    start.wait(timeout=600)
                for index, (path, cookie) in enumerate([*paths, ("/health/", "")]):
                    took, status, size = _get(server.port, path, cookie)
                    if status != 200:
                        raise RuntimeError(f"{path}: HTTP {status} from gunicorn")
                    if number >= 0:
                        timings[index].append((took, size))
        except BaseException:
            start.abort()
            raise
        return timings

    out(f"Starting gunicorn with {workers} sync workers; {clients} clients at once …")
    with Gunicorn(workers=workers) as server:
        start = threading.Barrier(clients)
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(client, start) for _ in range(clients)]
        errors = [f.exception() for f in futures if f.exception() is not None]
        errors.sort(key=lambda error: isinstance(error, threading.BrokenBarrierError))
        if errors:
            raise errors[0]
        runs = [future.result() for future in futures]
    served = [
        (page, rows, _served(page, [t for run in runs for t in run[index]]))
        for index, (page, rows, _user, _url) in enumerate(urls)
    ]
    floor = _served("/health/", [t for run in runs for t in run[len(urls)]])
    return served, floor


def served_report(served, floor) -> str:
    lines = ["  ".join(f"{name:>14}" for name in SERVED_HEADER)]
    for page, rows, s in [*served, ("/health/", 0, floor)]:
        cells = (page, str(rows), str(s.requests), f"{s.p50:.1f}", f"{s.p95:.1f}",
                 f"{s.max:.1f}", f"{s.bytes / 1024:.1f}")  # fmt: skip
        lines.append("  ".join(f"{cell:>14}" for cell in cells))
    worst = max(s.p95 for _page, _rows, s in served)
    verdict = "met" if worst <= TARGET_P95_MS else "MISSED"
    lines.append(
        f"slowest page over HTTP p95 {worst:.1f} ms (target <= {TARGET_P95_MS} ms: {verdict}); "
        f"the floor view /health/ p95 {floor.p95:.1f} ms beside it, in the same run"
    )
    return "\n".join(lines)


TARGET_P95_MS = 50


def report(results: list[PageResult]) -> str:
    lines = ["  ".join(f"{name:>14}" for name in HEADER)]
    for r in results:
        cells = (r.page, str(r.rows), str(r.requests), f"{r.p50:.1f}", f"{r.p95:.1f}",
                 str(r.queries), f"{r.bytes / 1024:.1f}")  # fmt: skip
        lines.append("  ".join(f"{cell:>14}" for cell in cells))
    return "\n".join(lines)


def run(
    *,
    volunteers: int = VOLUNTEERS,
    years: int = YEARS,
    days: int | None = None,
    repeat: int = REPEAT,
    warmup: int = WARMUP,
    how: str = "in-process",
    clients: int = CLIENTS,
    workers: int = WORKERS,
    out: Out = say,
) -> str:
    """Generate (once) and measure; the printed table, returned too."""
    from django.db import connection

    rows, _ = generate(volunteers=volunteers, years=years, days=days, out=out)
    texts = []
    made = make_printouts(out=out)
    texts.append("PDFs made once (volunteers.printouts.make, a worker's task): " + ", ".join(
        f"{page} of {rows} rows {ms:.0f} ms" for page, rows, ms in made))  # fmt: skip
    if how in ("both", "in-process"):
        results = measure(repeat=repeat, warmup=warmup)
        texts.append(
            f"{rows:,} ledger rows on {connection.vendor}; {repeat} timed requests per page, "
            "in-process (django.test.Client)\n" + report(results)
        )
        out(texts[-1])
    if how in ("both", "gunicorn"):
        served, floor = serve(clients=clients, repeat=repeat, warmup=warmup, workers=workers,
                              out=out)  # fmt: skip
        texts.append(
            f"{rows:,} ledger rows on {connection.vendor}; gunicorn with {workers} sync "
            f"workers, {clients} clients at once, each asking {repeat} times for every page "
            "and /health/; wall ms as the clients see it\n" + served_report(served, floor)
        )
        out(texts[-1])
    return "\n\n".join(texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.volunteers", description=__doc__)
    parser.add_argument("--volunteers", type=int, default=VOLUNTEERS)
    parser.add_argument("--years", type=int, default=YEARS)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--how", choices=HOW, default="in-process")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--no-migrate", action="store_true")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    args = parser.parse_args(argv)
    setup_django(migrate=not args.no_migrate)
    run(volunteers=args.volunteers, years=args.years, repeat=args.repeat, warmup=args.warmup,
        how=args.how, clients=args.clients, workers=args.workers)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
