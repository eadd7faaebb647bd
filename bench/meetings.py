"""``python -m bench.meetings``: time ``meetings_materialise`` over many councils.

Generates ``--councils`` communities under one street (基准街道-会议), each with a
council, a monthly schedule on the 8th, 18th and 28th, three council members and
0–3 issues awaiting deliberation, written in batches by COPY (PostgreSQL) or
``executemany``. Then times one call of
``deliberation.actions.meetings_materialise(today=...)`` and a second one (which
must create nothing), counting SQL statements with ``CaptureQueriesContext``.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

Out = Callable[[str], None]

STREET = "基准街道-会议"
BATCH = 5_000
MEMBERS = 3
SEED = 20261125
TODAY = dt.date(2026, 11, 25)


@dataclass
class Call:
    created: int
    seconds: float
    queries: int
    kinds: dict[str, int]


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


def check_database(*, force: bool = False) -> None:
    from bench.generate import BenchRefused
    from members.models import Street

    others = Street.objects.exclude(name=STREET).count()
    if others and not force:
        raise BenchRefused(
            f"The database holds {others} street(s) other than {STREET}. Point DATABASE_URL "
            "at a database of its own, or pass --force."
        )


def generate(*, councils: int, out: Out = print) -> tuple[int, float]:
    """Make the street hold ``councils`` councils; returns (councils written, seconds).

    A street already holding exactly that many councils is reused, with its
    meetings and agenda items deleted so the first call starts from nothing.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.generate import BenchRefused, Table, tracking_code
    from deliberation.models import AgendaItem, Council, Meeting, Schedule
    from issues.categories import seed_categories
    from issues.models import Category, Issue
    from members.models import Community, CouncilMember, Resident, Street

    started = time.perf_counter()
    street, _ = Street.objects.get_or_create(name=STREET)
    seed_categories(street)
    categories = list(
        Category.objects.filter(street=street).order_by("position").values_list("pk", flat=True)
    )
    ours = Council.objects.filter(community__street=street)
    have = ours.count()
    if have == councils:
        AgendaItem.objects.filter(meeting__council__in=ours).delete()
        deleted, _ = Meeting.objects.filter(council__in=ours).delete()
        out(f"Data set present: {have:,} councils (deleted {deleted:,} earlier meeting rows).")
        return 0, time.perf_counter() - started
    if have:
        raise BenchRefused(
            f"{STREET} already holds {have:,} councils, not {councils:,}: use a fresh database."
        )
    out(f"Writing {councils:,} councils in batches of {BATCH:,} ({connection.vendor}).")
    now = timezone.now()
    tables = {
        "communities": Table(Community, with_pk=True),
        "councils": Table(Council, with_pk=True),
        "schedules": Table(Schedule),
        "residents": Table(Resident, with_pk=True),
        "members": Table(CouncilMember),
        "issues": Table(Issue),
    }
    awaiting = 0
    for start in range(0, councils, BATCH):
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
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")
    return councils, time.perf_counter() - started


def _kind(sql: str) -> str:
    """A statement's shape: its verb and main table."""
    words = sql.replace('"', "").split()
    verb = words[0].upper() if words else "?"
    keys = {"INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM", "SELECT": "FROM"}
    if verb not in keys or keys[verb] not in words:
        return verb
    at = words.index(keys[verb])
    table = words[at + 1] if at + 1 < len(words) else "?"
    if verb == "SELECT" and "FOR UPDATE" in sql:
        verb = "SELECT … FOR UPDATE"
    return f"{verb} {table}"


def timed_call(today: dt.date) -> Call:
    """One ``meetings_materialise`` call: meetings created, seconds, SQL statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from deliberation.actions import meetings_materialise

    # The query log keeps 9,000 statements by default: make it unbounded for the call.
    saved = connection.queries_log
    connection.queries_log = collections.deque()
    try:
        with CaptureQueriesContext(connection) as context:
            started = time.perf_counter()
            created = meetings_materialise(today=today)
            seconds = time.perf_counter() - started
        kinds = collections.Counter(_kind(q["sql"]) for q in context.captured_queries)
        return Call(created, seconds, len(context.captured_queries), dict(kinds))
    finally:
        connection.queries_log = saved


def report(councils: int, calls: list[Call]) -> str:
    lines = [f"{'call':<8}{'councils':>10}{'created':>10}{'seconds':>10}{'queries':>10}"]
    for n, call in enumerate(calls, start=1):
        lines.append(
            f"{n:<8}{councils:>10}{call.created:>10}{call.seconds:>10.2f}{call.queries:>10}"
        )
    lines.append("")
    for n, call in enumerate(calls, start=1):
        shapes = ", ".join(
            f"{kind} ×{count}" for kind, count in sorted(call.kinds.items(), key=lambda i: -i[1])
        )
        lines.append(f"call {n} statements: {shapes}")
    per = calls[0].queries / councils if councils else 0
    lines.append(f"queries per council (call 1): {per:.2f}")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.meetings",
        description="Generate councils in DATABASE_URL and time meetings_materialise.",
    )
    parser.add_argument("--councils", type=int, default=10_000, help="councils (10000)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=TODAY,
                        help=f"the date passed to meetings_materialise ({TODAY})")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="write next to other data")
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")
    return parser.parse_args(argv)


def run(*, councils: int, today: dt.date = TODAY, force: bool = False, out: Out = print) -> str:
    """Generate, call twice, and return the printed report."""
    from bench import measure

    check_database(force=force)
    written, seconds = generate(councils=councils, out=out)
    out(f"Calling meetings_materialise(today={today}) twice …")
    calls = [timed_call(today), timed_call(today)]
    made = f"generated {written:,} councils in {seconds:.0f} s" if written else "reused"
    return "\n".join(
        [
            "",
            "Yishi meetings_materialise benchmark, "
            f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            *measure.machine(),
            *measure.database(),
            f"data set  {councils:,} councils (monthly 8/18/28, {MEMBERS} members, 0–3 awaiting "
            f"issues each); {made}",
            "",
            report(councils, calls),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from bench.generate import BenchRefused

    def say(text: str) -> None:
        print(text, flush=True)

    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    try:
        say(run(councils=args.councils, today=args.today, force=args.force, out=say))
    except BenchRefused as refusal:
        print(f"bench.meetings: {refusal}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
