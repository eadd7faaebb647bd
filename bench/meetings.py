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

See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench import say, setup_django

Out = Callable[[str], None]

STREET = "基准街道-会议"
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

    others = Street.objects.exclude(name=street).count()
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
        say(run(councils=args.councils, today=args.today, force=args.force, out=say))
    except BenchRefused as refusal:
        print(f"bench.meetings: {refusal}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
