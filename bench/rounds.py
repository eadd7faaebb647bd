"""``python -m bench.rounds``: opening a quarter's visiting round for a large street, and
the pages that read it.

Makes one street (基准街道-走访) of ``--teams`` visiting teams, each paired with one
community of ``--households`` / ``--teams`` households (one resident each, every tenth
household two), then times ``visits.actions.rounds.round_open``, which writes every team's
households in one ``INSERT … SELECT``, and a second call, which finds the round and writes
nothing. Prints the households written and the seconds each call took.

With ``--pages`` it then marks about three households in five visited and serves, from
gunicorn, the street's teams page (each team's progress), a team's page (its progress
and households) and the quarter's review, each beside the bare floor view ``/health/``,
to ``--clients`` clients at once; it prints each URL's p50 and p95 over HTTP and the SQL
statements one request of each runs.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import say, setup_django

Out = Callable[[str], None]

STREET = "基准街道-走访"
BATCH = 10_000
TEAMS = 50
HOUSEHOLDS = 200_000
PAGE_TARGET_P95_MS = 100
ADMIN = "bench_rounds_admin"


def opened_on(today: dt.date) -> dt.date:
    """The first working day of today's quarter: the round the pages show is the current
    one."""
    day = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


OPENED = opened_on(dt.date.today())


@dataclass(frozen=True)
class Result:
    teams: int
    households: int
    targets: int
    seconds: float
    again_seconds: float
    rounds: int


def clear() -> None:
    from members.models import Resident, Role, Street
    from visits.models import Pairing, Round, Team, TeamMember

    street = Street.objects.filter(name=STREET).first()
    if street is None:
        return
    Role.objects.filter(street=street).delete()
    Round.objects.filter(street=street).delete()
    Pairing.objects.filter(team__street=street).delete()
    TeamMember.objects.filter(team__street=street).delete()
    Team.objects.filter(street=street).delete()
    Resident.objects.filter(community__street=street).delete()
    street.communities.all().delete()


def generate(*, teams: int, households: int, out: Out = say) -> None:
    from django.db import transaction

    from members.models import Community, Resident, Street, User
    from visits.models import Pairing, Team, TeamMember

    clear()
    street, _ = Street.objects.get_or_create(name=STREET)
    leader, _ = User.objects.get_or_create(username="bench_rounds_leader")
    per_team = max(1, households // teams)
    started = time.perf_counter()
    for index in range(teams):
        with transaction.atomic():
            community = Community.objects.create(street=street, name=f"走访社区{index:03d}")
            team = Team.objects.create(street=street, name=f"走访团队{index:03d}", leader=leader)
            TeamMember.objects.create(team=team, user=leader, joined_on=OPENED)
            Pairing.objects.create(team=team, community=community, started_on=OPENED)
            rows = []
            for house in range(per_team):
                address = {"building": f"{house // 100 + 1}栋", "room": f"{house % 100 + 101}"}
                rows.append(Resident(community=community, name=f"住户{house}", **address))
                if house % 10 == 0:
                    rows.append(Resident(community=community, name=f"家人{house}", **address))
            Resident.objects.bulk_create(rows, batch_size=BATCH)
    out(f"wrote {teams} teams and {teams * per_team:,} households "
        f"in {time.perf_counter() - started:.1f} s")  # fmt: skip


def run(*, teams: int = TEAMS, households: int = HOUSEHOLDS, out: Out = say) -> Result:
    from members.models import Street
    from visits.actions import rounds
    from visits.models import Round, Target

    generate(teams=teams, households=households, out=out)
    street = Street.objects.get(name=STREET)
    started = time.perf_counter()
    year, quarter = OPENED.year, rounds.quarter_of(OPENED)
    round_, created = rounds.round_open(street=street, year=year, quarter=quarter, today=OPENED)
    seconds = time.perf_counter() - started
    assert created
    started = time.perf_counter()
    _, created_again = rounds.round_open(street=street, year=year, quarter=quarter, today=OPENED)
    again_seconds = time.perf_counter() - started
    assert not created_again
    result = Result(
        teams=teams,
        households=Target.objects.filter(round=round_).count(),
        targets=Target.objects.filter(round=round_).values("team").distinct().count(),
        seconds=seconds,
        again_seconds=again_seconds,
        rounds=Round.objects.filter(street=street).count(),
    )
    out(f"round opened: {result.households:,} households of {result.targets} teams "
        f"in {seconds:.2f} s; asked again: {again_seconds * 1000:.1f} ms, "
        f"{result.rounds} round")  # fmt: skip
    return result


# --- The pages that read the round, served by gunicorn beside the floor view --------------


@dataclass
class Page:
    name: str
    path: str
    cookie: str
    queries: int
    in_process_p50: float = 0.0  # ms, the server's own time, one request after another
    in_process_p95: float = 0.0


def pages_data(*, in_process: int = 0, out: Out = say) -> list[Page]:
    """About three households in five visited; a street admin; the URLs to ask for, each
    with the session cookie of who reads it and the statements one request runs."""
    from django.conf import settings
    from django.db import connection
    from django.db.models.functions import Mod
    from django.test import Client
    from django.urls import reverse

    from bench.measure import percentile
    from members.models import Role, Street, User
    from visits.models import Target, Team

    street = Street.objects.get(name=STREET)
    Target.objects.filter(round__street=street).annotate(slot=Mod("id", 5)).filter(
        slot__lt=3
    ).update(visited_on=OPENED)
    from visits.actions import rounds as round_actions
    from visits.models import Round

    round_actions.tallies_recount(Round.objects.get(street=street))
    admin, _ = User.objects.get_or_create(username=ADMIN)
    Role.objects.get_or_create(user=admin, kind=Role.Kind.STREET_ADMIN, street=street)
    leader = User.objects.get(username="bench_rounds_leader")
    team = Team.objects.filter(street=street).order_by("name").first()
    pages = []
    for name, who, path in [
        ("street_teams", admin, reverse("visits:street", args=[street.pk])),
        ("team_page", leader, reverse("visits:team", args=[team.pk])),
        ("quarter_review", admin, reverse("visits:review", args=[street.pk])),
    ]:
        client = Client()
        client.force_login(who)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        statements = []

        def counted(execute, sql, params, many, context, into=statements):
            into.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            response = client.get(path, secure=True)
        assert response.status_code == 200, (path, response.status_code)
        took = []
        for _ in range(in_process):
            started = time.perf_counter()
            client.get(path, secure=True)
            took.append((time.perf_counter() - started) * 1000)
        page = Page(name, path, cookie, len(statements))
        if took:
            page.in_process_p50 = percentile(took, 0.5)
            page.in_process_p95 = percentile(took, 0.95)
        pages.append(page)
    out(f"marked {Target.objects.filter(round__street=street, visited_on__isnull=False).count():,} "
        "households visited")  # fmt: skip
    return pages


def _client(port: int, pages: list[Page], repeat: int, warmup: int, start) -> dict[str, list]:
    """One client: each page, then /health/, in turn, ``repeat`` times after ``warmup``."""
    from bench.meetings import _get

    seen: dict[str, list] = {page.name: [] for page in pages} | {"health": []}
    asks = [(page.name, page.path, page.cookie) for page in pages]
    asks.append(("health", "/health/", ""))
    try:
        for number in range(-warmup, repeat):
            if number == 0:
                start.wait(timeout=300)
            for name, path, cookie in asks:
                took, status, size = _get(port, path, cookie)
                if status != 200:
                    raise RuntimeError(f"{path}: HTTP {status} from gunicorn")
                if number >= 0:
                    seen[name].append((took, size))
    except BaseException:
        start.abort()
        raise
    return seen


def time_pages(
    pages: list[Page], *, clients: int, repeat: int, workers: int, warmup: int = 3,
    out: Out = say,
) -> list:  # fmt: skip
    """Each page and /health/ over HTTP from gunicorn, ``clients`` threads at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from bench.meetings import Gunicorn, _served

    connections.close_all()
    out(f"Starting gunicorn with {workers} sync workers; {clients} clients, {repeat} each …")
    with Gunicorn(workers=workers) as server:
        start = threading.Barrier(clients)
        with ThreadPoolExecutor(clients) as pool:
            futures = [
                pool.submit(_client, server.port, pages, repeat, warmup, start)
                for _ in range(clients)
            ]
        errors = [f.exception() for f in futures if f.exception() is not None]
        errors.sort(key=lambda error: isinstance(error, threading.BrokenBarrierError))
        if errors:
            raise errors[0]
        runs = [future.result() for future in futures]
    names = [page.name for page in pages] + ["health"]
    return [_served(name, [t for run in runs for t in run[name]]) for name in names]


def pages_report(pages: list[Page], served: list) -> str:
    queries = {page.name: str(page.queries) for page in pages} | {"health": "-"}
    alone = {p.name: f"{p.in_process_p50:.1f}/{p.in_process_p95:.1f}" for p in pages}
    rows = [("url", "requests", "p50_ms", "p95_ms", "max_ms", "KB", "queries",
             "in_process_p50/p95_ms")]  # fmt: skip
    rows += [
        (s.name, str(s.requests), f"{s.p50:.1f}", f"{s.p95:.1f}", f"{s.max:.1f}",
         f"{s.bytes / 1024:.1f}", queries[s.name], alone.get(s.name, "-"))
        for s in served
    ]  # fmt: skip
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if n == 0 else cell.rjust(w) for n, (cell, w) in
                  enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]  # fmt: skip
    floor = next(s for s in served if s.name == "health")
    for s in served:
        if s.name != "health":
            verdict = "met" if s.p95 <= PAGE_TARGET_P95_MS else "MISSED"
            lines.append(f"{s.name} p95 {s.p95:.1f} ms (target <= {PAGE_TARGET_P95_MS} ms: "
                         f"{verdict}; the floor view beside it {floor.p95:.1f} ms)")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(prog="python -m bench.rounds", description=__doc__)
    parser.add_argument("--teams", type=int, default=TEAMS)
    parser.add_argument("--households", type=int, default=HOUSEHOLDS)
    parser.add_argument("--pages", action="store_true",
                        help="then serve the pages that read the round from gunicorn")  # fmt: skip
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    setup_django(migrate=not args.no_migrate)
    try:
        run(teams=args.teams, households=args.households)
        if args.pages:
            pages = pages_data(in_process=args.repeat)
            served = time_pages(
                pages, clients=args.clients, repeat=args.repeat, workers=args.workers
            )
            say(pages_report(pages, served))
    finally:
        clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
