"""``python -m bench.reviews``: due follow-up reviews (回头议) swept by several processes at once.

Makes one street (基准街道-回头议) hold ``--communities`` communities, each with a council and
one scheduled meeting a few days ahead, and ``--reviews`` resolved issues with a contact
phone, each with one pending ``FollowUpReview`` already due, written by COPY (PostgreSQL) or
``executemany``. Then starts ``--workers`` separate Python processes
(``python -m bench.reviews --sweep-child``), lets them go at the same moment, and each calls
``issues.reviews.reviews_send_due(now=...)`` until nothing is left for it, then, as the
periodic task does, ``deliberation.actions.review_items.reviews_place_on_agenda``. Prints the
reviews swept per minute, what each worker claimed, the statements they ran, and counts
that show every review was sent exactly once: one notice, one timeline event and one agenda
item per review.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import say, setup_django

Out = Callable[[str], None]

STREET = "基准街道-回头议"
BATCH = 10_000  # rows written per COPY transaction
SEED = 20261201
REVIEWS = 100_000
WORKERS = 2
COMMUNITIES = 16
TARGET_PER_MINUTE = 10_000
# Tracking codes from this index on: clear of those bench.generate and bench.meetings use,
# so the benchmarks can share a database (with --force).
TRACKING_BASE = 10**9
# AgendaItem.position is a smallint on PostgreSQL: at most this many items per meeting.
MAX_PER_MEETING = 32_000
ROOT = Path(__file__).resolve().parent.parent
ENQUEUE_NOTE = (
    "members.notifications._enqueue_on_commit replaced in each worker by a counter run "
    "on commit; task_always_eager off; no broker is touched"
)


@dataclass
class Worker:
    """What one sweeping process reports."""

    number: int
    claimed: int
    enqueued: int
    started: float  # time.monotonic() of the process: one clock for all processes
    finished: float
    statements: int
    sql_seconds: float
    kinds: dict[str, list[float]]  # statement shape: [count, seconds]

    @property
    def seconds(self) -> float:
        return self.finished - self.started


@dataclass
class Check:
    label: str
    found: int
    expected: int

    @property
    def ok(self) -> bool:
        return self.found == self.expected


@dataclass
class Result:
    reviews: int
    workers: list[Worker]
    seconds: float
    checks: list[Check]
    placed_by_sweep: int = 0  # reviews the workers put on an agenda themselves
    placed_after: int = 0  # left for reviews_place_on_agenda
    catch_up_seconds: float = 0.0
    text: str = ""

    @property
    def per_minute(self) -> float:
        return self.reviews / self.seconds * 60 if self.seconds else 0.0

    @property
    def exactly_once(self) -> bool:
        return all(check.ok for check in self.checks)


# --- The data set ------------------------------------------------------------------------


def clear(street_id: int) -> int:
    """Delete the street's rows from an earlier run, in set-based statements; issues deleted.

    ``QuerySet.delete()`` would load every row to look for dependants; the benchmark's rows
    have only those deleted here (the sweep adds notices, events and agenda items). The
    street and its categories stay.
    """
    from django.db import connection, transaction

    from deliberation.models import AgendaItem, Meeting
    from issues.models import Event, FollowUpReview, Issue, Rating
    from members.models import Community, Council, Notice

    q = connection.ops.quote_name
    t = {
        name: q(model._meta.db_table)
        for name, model in {
            "item": AgendaItem, "council": Council, "meeting": Meeting, "event": Event,
            "review": FollowUpReview, "issue": Issue, "rating": Rating,
            "community": Community, "notice": Notice,
        }.items()
    }  # fmt: skip
    communities = f"SELECT id FROM {t['community']} WHERE street_id = %s"
    issues = f"SELECT id FROM {t['issue']} WHERE community_id IN ({communities})"
    reviews = f"SELECT id FROM {t['review']} WHERE issue_id IN ({issues})"
    councils = f"SELECT id FROM {t['council']} WHERE community_id IN ({communities})"
    meetings = f"SELECT id FROM {t['meeting']} WHERE council_id IN ({councils})"
    # The sweep's notices name their review in the key (issues.reviews._send_batch).
    keys = (
        f"SELECT 'review_invite:' || CAST(id AS TEXT) || ':sms' FROM {t['review']}"
        f" WHERE issue_id IN ({issues})"
    )
    statements = [
        f"DELETE FROM {t['notice']} WHERE kind = 'review_invite' AND key IN ({keys})",
        f"DELETE FROM {t['rating']} WHERE review_id IN ({reviews})",
        f"DELETE FROM {t['item']} WHERE meeting_id IN ({meetings}) OR issue_id IN ({issues})",
        f"DELETE FROM {t['event']} WHERE issue_id IN ({issues})",
        f"DELETE FROM {t['review']} WHERE issue_id IN ({issues})",
        f"DELETE FROM {t['meeting']} WHERE council_id IN ({councils})",
        f"DELETE FROM {t['issue']} WHERE community_id IN ({communities})",
        f"DELETE FROM {t['council']} WHERE community_id IN ({communities})",
        f"DELETE FROM {t['community']} WHERE street_id = %s",
    ]
    deleted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, [street_id] * sql.count("%s"))
            if f"DELETE FROM {t['issue']}" in sql:
                deleted = cursor.rowcount
    return deleted


def generate(*, reviews: int, communities: int, out: Out = print) -> float:
    """Write the street afresh: communities, councils, meetings, issues, due reviews; seconds.

    Each council has one scheduled meeting three days ahead (the next meeting the sweep puts
    reviews on). Each issue is resolved, has a contact phone (so every review asks someone)
    and one pending review that came due in the last fortnight, in random order of
    communities, so every batch the sweep claims touches many councils.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from bench import vocabulary as words
    from bench.generate import Table, _name, _phone, tracking_code
    from bench.meetings import _analyze, _reserve
    from deliberation.models import Meeting
    from issues.categories import seed_categories
    from issues.models import Category, FollowUpReview, Issue
    from members.models import Community, Council, Street

    started = time.perf_counter()
    street, _ = Street.objects.get_or_create(name=STREET)
    seed_categories(street)
    categories = list(
        Category.objects.filter(street=street).order_by("position").values_list("pk", flat=True)
    )
    if Issue.objects.filter(community__street=street).exists():
        # The last run's sweep wrote its agenda items after the statistics were taken: the
        # foreign-key checks of deleting the issues would scan that table once per issue
        # (over two minutes at 100,000) instead of using its index.
        _analyze()
    deleted = clear(street.pk)
    if deleted:
        out(f"Deleted the {deleted:,} issues of an earlier run.")
    out(
        f"Writing {communities:,} communities and {reviews:,} due reviews in batches of "
        f"{BATCH:,} ({connection.vendor})."
    )
    now = timezone.now()
    starts = (now + dt.timedelta(days=3)).replace(hour=11, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        community_ids = _reserve(Community, communities)
        council_ids = _reserve(Council, communities)
        Table(Community, with_pk=True).write(
            {"id": pk, "street_id": street.pk, "name": f"回头议基准{n + 1:04d}社区"}
            for n, pk in enumerate(community_ids)
        )
        Table(Council, with_pk=True).write(
            {"id": pk, "community_id": community_id, "name": f"回头议基准{n + 1:04d}社区居民议事会",
             "created": now}
            for n, (pk, community_id) in enumerate(zip(council_ids, community_ids, strict=True))
        )  # fmt: skip
        Table(Meeting).write(
            {"council_id": pk, "starts_at": starts, "place": "社区会议室",
             "notice_due_at": starts - dt.timedelta(days=2), "created": now, "updated": now}
            for pk in council_ids
        )  # fmt: skip
    issues_table, reviews_table = Table(Issue, with_pk=True), Table(FollowUpReview)
    for start in range(0, reviews, BATCH):
        size = min(BATCH, reviews - start)
        rng = random.Random(f"{SEED}:{start // BATCH}")
        issue_rows, review_rows = [], []
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for offset, issue_id in enumerate(_reserve(Issue, size)):
                _weight, _code, titles, _sentences = rng.choices(
                    words.TOPICS, [topic[0] for topic in words.TOPICS]
                )[0]
                due = now - dt.timedelta(seconds=rng.uniform(60, 14 * 86_400))
                resolved = due - dt.timedelta(days=7)
                created = resolved - dt.timedelta(days=rng.uniform(3, 60))
                issue_rows.append({
                    "id": issue_id, "community_id": rng.choice(community_ids),
                    "title": rng.choice(titles), "category_id": rng.choice(categories),
                    "channel": rng.choice(Issue.Channel.values), "status": Issue.Status.RESOLVED,
                    "contact_name": _name(rng), "contact_phone": _phone(rng),
                    "tracking_code": tracking_code(TRACKING_BASE + start + offset),
                    "version": 5, "created": created, "updated": resolved,
                    "resolved_at": resolved,
                })  # fmt: skip
                review_rows.append({
                    "issue_id": issue_id, "resolved_at": resolved, "due_at": due,
                    "state": FollowUpReview.State.PENDING, "created": resolved,
                    # Table takes a field's default once for all rows: each link needs its own.
                    "nonce": f"{rng.getrandbits(128):032x}",
                })  # fmt: skip
            issues_table.write(issue_rows)
            reviews_table.write(review_rows)
        elapsed = time.perf_counter() - started
        out(f"  {start + size:>9,} due reviews  {elapsed:>6.0f} s")
    _analyze()
    return time.perf_counter() - started


# --- The sweep ------------------------------------------------------------------------------


def _child_argv(batch: int) -> list[str]:
    return [sys.executable, "-m", "bench.reviews", "--sweep-child", "--batch", str(batch)]


def sweep(
    *, workers: int, batch: int, database_url: str | None = None, timeout: float = 3600
) -> list[Worker]:
    """Start ``workers`` processes, let them go together, and collect what each reports.

    Each child sets Django up and connects first and then waits for a line on its stdin,
    so that start-up does not count and no worker has a head start.
    ``database_url`` (for the test database) replaces the inherited ``DATABASE_URL``.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    children = [
        subprocess.Popen(_child_argv(batch), cwd=ROOT, env=env, **pipes) for _ in range(workers)
    ]
    try:
        for child in children:
            line = child.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"a sweeping process failed to start (said {line!r})")
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            child.stdin.close()
        reports = []
        for number, child in enumerate(children, start=1):
            # Each child writes one short line, so reading them in turn cannot block another.
            output = child.stdout.read()
            child.wait(timeout=timeout)
            if child.returncode:
                raise RuntimeError(f"sweeping process {number} exited with {child.returncode}")
            reports.append(Worker(number=number, **json.loads(output.strip().splitlines()[-1])))
        return reports
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def _shape(sql: str) -> str:
    """A statement's verb and main table, as ``bench.meetings._kind`` gives them.

    Subqueries go first: ``_kind`` names the first table after FROM, which in the agenda's
    ``EXISTS (SELECT … FROM deliberation_decision …)`` is not the table read.
    """
    from bench.meetings import _kind

    flat = sql
    while (simpler := re.sub(r"\([^()]*\)", " _ ", flat)) != flat:
        flat = simpler
    return _kind(flat)


def child(*, batch: int | None) -> int:
    """One sweeping process, as the periodic task sweeps: ``reviews_send_due`` until nothing
    is left, then ``reviews_place_on_agenda`` for what it sent; then a JSON report."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from deliberation.actions import review_items
    from deliberation.celery import app
    from issues import reviews
    from members import notifications

    # Notices are rows first; the broker only hears of them after commit. Count those
    # hand-overs instead of making them, so the figure is the database's work alone.
    app.conf.task_always_eager = False
    enqueued = []

    def count_on_commit(notice_id: int) -> None:
        transaction.on_commit(lambda: enqueued.append(notice_id))

    notifications._enqueue_on_commit = count_on_commit

    kinds: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = kinds[_shape(sql)]
            shape[0] += 1
            shape[1] += time.perf_counter() - began

    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    with connection.execute_wrapper(timed):
        claimed = reviews.reviews_send_due(now=timezone.now(), batch=batch or reviews.SWEEP_BATCH)
        review_items.reviews_place_on_agenda(now=timezone.now(), batch=batch or reviews.SWEEP_BATCH)
    finished = time.monotonic()
    report = {
        "claimed": claimed,
        "enqueued": len(enqueued),
        "started": started,
        "finished": finished,
        "statements": int(sum(count for count, _ in kinds.values())),
        "sql_seconds": sum(seconds for _, seconds in kinds.values()),
        "kinds": dict(kinds),
    }
    print(json.dumps(report), flush=True)
    return 0


# --- Exactly once ---------------------------------------------------------------------------


def _placed() -> int:
    from issues.models import FollowUpReview

    return FollowUpReview.objects.filter(
        issue__community__street__name=STREET, put_on_agenda_at__isnull=False
    ).count()


def place_left_over() -> tuple[float, int]:
    """The next sweeps' catch-up: seconds, reviews placed.

    A sweeper skips a meeting another sweeper holds (``agenda_reviews_add``) and leaves
    those reviews sent but not yet on an agenda; the next sweep's
    ``reviews_place_on_agenda`` places them, 1,000 a call. Run here alone, once the
    workers are done, until nothing is left.
    """
    from django.utils import timezone

    from deliberation.actions.review_items import reviews_place_on_agenda

    started, placed = time.perf_counter(), 0
    while step := reviews_place_on_agenda(now=timezone.now()):
        placed += step
    return time.perf_counter() - started, placed


def checks(reviews: int, workers: Sequence[Worker]) -> list[Check]:
    """Counts in the database after the sweep, each against what exactly-once means."""
    from django.db.models import CharField, Count, Q, Value
    from django.db.models.functions import Cast, Concat

    from deliberation.models import AgendaItem
    from issues.models import Event, FollowUpReview
    from members.models import Notice

    ours = FollowUpReview.objects.filter(issue__community__street__name=STREET)
    states = dict(ours.values_list("state").annotate(n=Count("id")).order_by())
    keys = ours.annotate(
        key=Concat(Value("review_invite:"), Cast("id", CharField()), Value(":sms"))
    ).values("key")
    notices = Notice.objects.filter(kind="review_invite", key__in=keys).aggregate(
        keys=Count("key", distinct=True), sms=Count("id", filter=Q(channel="sms"))
    )
    items = AgendaItem.objects.filter(
        kind=AgendaItem.Kind.REVIEW, issue__community__street__name=STREET
    ).aggregate(n=Count("id"), issues=Count("issue", distinct=True))
    events = Event.objects.filter(
        kind=Event.Kind.REVIEW_SENT, issue__community__street__name=STREET
    ).aggregate(n=Count("id"), issues=Count("issue", distinct=True))
    placed = ours.filter(put_on_agenda_at__isnull=False).count()
    return [
        Check("reviews in state sent", states.get(FollowUpReview.State.SENT, 0), reviews),
        Check("reviews still pending", states.get(FollowUpReview.State.PENDING, 0), 0),
        Check("claimed by the workers (sum)", sum(w.claimed for w in workers), reviews),
        Check("review_invite notices (SMS)", notices["sms"], reviews),
        Check("distinct notice keys", notices["keys"], reviews),
        Check("notices handed to Celery on commit", sum(w.enqueued for w in workers), reviews),
        Check("review_sent events", events["n"], reviews),
        Check("issues with a review_sent event", events["issues"], reviews),
        Check("review agenda items", items["n"], reviews),
        Check("issues with a review agenda item", items["issues"], reviews),
        Check("reviews marked put on the agenda", placed, reviews),
    ]


# --- The report -----------------------------------------------------------------------------


WORKER_HEADER = ("worker", "claimed", "enqueued", "seconds", "statements", "sql_s")
WORKER_WIDTHS = (7, 9, 10, 9, 12, 8)


def report(result: Result) -> str:
    lines = [
        f"{'reviews':>9}{'workers':>9}{'seconds':>10}{'reviews_per_min':>17}",
        f"{result.reviews:>9}{len(result.workers):>9}{result.seconds:>10.2f}"
        f"{result.per_minute:>17,.0f}",
        "",
        "".join(
            f"{name:>{width}}" for name, width in zip(WORKER_HEADER, WORKER_WIDTHS, strict=True)
        ),
    ]
    for w in result.workers:
        lines.append(
            f"{w.number:>7}{w.claimed:>9}{w.enqueued:>10}{w.seconds:>9.2f}{w.statements:>12}"
            f"{w.sql_seconds:>8.2f}"
        )
    kinds: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for w in result.workers:
        for kind, (count, seconds) in w.kinds.items():
            kinds[kind][0] += count
            kinds[kind][1] += seconds
    total = sum(count for count, _ in kinds.values())
    lines += [
        "",
        f"statements, all workers ({total:,}; {total / max(result.reviews, 1):.2f} per review), "
        "by time in the database driver:",
    ]
    for kind, (count, seconds) in sorted(kinds.items(), key=lambda item: -item[1][1]):
        lines.append(f"  {kind:<48}{int(count):>9,}{seconds:>9.2f} s")
    lines += [
        "",
        f"agenda    {result.placed_by_sweep:,} reviews put on their meeting's agenda by the "
        f"sweep; {result.placed_after:,} left because another sweeper held the meeting, placed "
        f"afterwards by reviews_place_on_agenda in {result.catch_up_seconds:.2f} s (not in the "
        "figure above)",
        "",
        "exactly once (after that)",
    ]
    width = max(len(check.label) for check in result.checks)
    for check in result.checks:
        mark = "ok" if check.ok else "WRONG"
        lines.append(f"  {check.label:<{width}}  {check.found:>9,} == {check.expected:<9,} {mark}")
    lines.append(f"exactly once: {'yes' if result.exactly_once else 'no'}")
    met = "met" if result.per_minute >= TARGET_PER_MINUTE else "not met"
    lines.append(f"target ≥ {TARGET_PER_MINUTE:,} reviews/min: {met}")
    return "\n".join(lines)


def run(
    *,
    reviews: int = REVIEWS,
    workers: int = WORKERS,
    communities: int = COMMUNITIES,
    batch: int | None = None,
    force: bool = False,
    database_url: str | None = None,
    out: Out = print,
) -> Result:
    """Generate, sweep with ``workers`` processes, count; the result holds the printed text."""
    from bench import measure
    from bench.generate import BenchRefused
    from issues.reviews import SWEEP_BATCH

    batch = batch or SWEEP_BATCH
    if reviews / max(communities, 1) > MAX_PER_MEETING:
        raise BenchRefused(
            f"{reviews:,} reviews on {communities:,} meetings would put over "
            f"{MAX_PER_MEETING:,} items on one agenda: pass more --communities."
        )
    from bench.meetings import check_database

    check_database(force=force, street=STREET)
    written = generate(reviews=reviews, communities=communities, out=out)
    out(f"Sweeping {reviews:,} due reviews with {workers} processes, {batch} per transaction …")
    swept = sweep(workers=workers, batch=batch, database_url=database_url)
    seconds = max(w.finished for w in swept) - min(w.started for w in swept)
    placed = _placed()
    catch_up, caught = place_left_over()
    result = Result(
        reviews=reviews, workers=swept, seconds=seconds, checks=checks(reviews, swept),
        placed_by_sweep=placed, placed_after=caught, catch_up_seconds=catch_up,
    )  # fmt: skip
    result.text = "\n".join(
        [
            "",
            "Yishi follow-up review sweep benchmark, "
            f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            *measure.machine(),
            *measure.database(),
            f"data set  {reviews:,} resolved issues with a contact phone, one pending review "
            f"each, all due; {communities:,} councils with one scheduled meeting ahead each; "
            f"written in {written:.0f} s",
            f"sweep     {workers} processes (python -m bench.reviews --sweep-child) released "
            f"together, each calling issues.reviews.reviews_send_due(now=timezone.now(), "
            f"batch={batch}) until it claims nothing, then reviews_place_on_agenda; seconds "
            "from the first start to the last finish",
            f"celery    {ENQUEUE_NOTE}",
            "",
            report(result),
            "",
        ]
    )
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reviews",
        description="Generate due follow-up reviews in DATABASE_URL and time a concurrent sweep.",
    )
    parser.add_argument("--reviews", type=int, default=REVIEWS, help=f"due reviews ({REVIEWS})")
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help=f"sweeping processes ({WORKERS})"
    )
    parser.add_argument(
        "--communities", type=int, default=COMMUNITIES,
        help=f"communities, each with a council and one meeting ahead ({COMMUNITIES})",
    )  # fmt: skip
    parser.add_argument(
        "--batch", type=int, default=None,
        help="reviews claimed per transaction (issues.reviews.SWEEP_BATCH, 200)",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="write next to other data")
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")
    parser.add_argument("--sweep-child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.sweep_child:
        return child(batch=args.batch)
    setup_django(migrate=not args.no_migrate)
    from bench.generate import BenchRefused

    try:
        result = run(
            reviews=args.reviews, workers=args.workers, communities=args.communities,
            batch=args.batch, force=args.force, out=say,
        )  # fmt: skip
    except BenchRefused as refusal:
        print(f"bench.reviews: {refusal}", file=sys.stderr)
        return 2
    say(result.text)
    return 0 if result.exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
