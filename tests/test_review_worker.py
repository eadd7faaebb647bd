"""Follow-up reviews (回头议) with real processes: a dead broker, two sweepers, a killed worker.

Workers and beats are real ``celery`` processes (``tests.processes``) on the test database:
PostgreSQL and Redis when ``DATABASE_URL`` and ``REDIS_URL`` are set, the embedded default
(SQLite and kombu's filesystem transport) otherwise. Text messages go to the stand-in in
``tests.deliveries``, which counts every delivery.

A review comes due a week after the matter was resolved; rather than wait, these tests move
the due dates of the reviews they booked into the past ("a week passes"), and the beat's
sweeper, running every second, finds them due.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import re
import shutil
import signal
import socket
import time
from collections import Counter
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, F
from django.urls import reverse
from django.utils import timezone

from deliberation.celery import app as celery_app
from deliberation.models import AgendaItem
from issues.actions import escalations, handling
from issues.models import Escalation, Event, FollowUpReview, Issue
from members.models import Notice, Role
from tests import deliveries, factories
from tests.processes import RECEIVED, Process, database_url, finished

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

R = FollowUpReview.State
# A task's end in a worker's log, however it ended.
ENDED = re.compile(r"Task (\S+)\[([0-9a-f-]+)\] (?:succeeded|retry|raised)")
SWEEP = "deliberation.tasks.send_due_reviews"
# The requeue sweeper leaves a pending notice alone this long after it was written, in case
# its message is still on the way (``members.notifications.stalled_notice_ids``).
REQUEUE_GRACE = dt.timedelta(minutes=2)


def sweeper_env(outbox: Path) -> dict[str, str]:
    """Beat sends the review sweep every second and the notice requeue every two (not every
    three and five minutes); these tests put meetings on the calendar themselves."""
    return {
        **deliveries.delivery_env(outbox),
        "REVIEWS_SWEEP_EVERY": "1",
        "NOTICES_REQUEUE_EVERY": "2",
        "MEETINGS_MATERIALISE_EVERY": "3600",
    }


def a_week_passes(reviews) -> None:
    """The booked reviews come due: their due dates move into the past."""
    FollowUpReview.objects.filter(pk__in=[r.pk for r in reviews]).update(
        due_at=timezone.now() - dt.timedelta(minutes=1)
    )


def invite_key(review: FollowUpReview) -> str:
    return f"review_invite:{review.pk}:sms"


def running_task(process: Process) -> str | None:
    """The task a solo worker is running now (it runs one at a time), by name."""
    text = process.text()
    ended = {task_id for _, task_id in ENDED.findall(text)}
    running = [name for name, task_id in RECEIVED.findall(text) if task_id not in ended]
    return running[-1] if running else None


def sweeps_done(process: Process) -> int:
    return sum(name == SWEEP for name, *_ in finished(process))


def in_write_transaction(process: Process, name: str) -> bool:
    """Whether the worker has a write transaction open in the database.

    PostgreSQL shows each connection's transaction (the workers name their connections);
    SQLite's one writer holds the WAL write lock, byte 120 of the ``-shm`` file, which Linux
    lists with its owner's process id in /proc/locks.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_stat_activity"
                " WHERE application_name = %s AND backend_xid IS NOT NULL",
                [name],
            )
            return cursor.fetchone() is not None
    shm = os.stat(f"{connection.settings_dict['NAME']}-shm").st_ino
    holder = ("WRITE", str(process.popen.pid), "120")
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()  # 1: POSIX ADVISORY WRITE <pid> <dev>:<inode> 120 120
        # (A process waiting for a lock has a "->" line: it does not hold it.)
        if "->" in fields or len(fields) < 8:
            continue
        if (fields[3], fields[4], fields[6]) == holder and fields[5].endswith(f":{shm}"):
            return True
    return False


def mid_sweep(process: Process, name: str) -> bool:
    """In a sweep's transaction, with reviews still pending: claims it has not committed."""
    return (
        running_task(process) == SWEEP
        and FollowUpReview.objects.filter(state=R.PENDING).exists()
        and in_write_transaction(process, name)
    )


def freeze_mid_sweep(workers: dict[str, Process]) -> str | None:
    """Stop (SIGSTOP) a worker caught in the middle of a sweep and return its name.

    Stopped, it can neither commit nor roll back, so what is seen next stays true until it
    is killed. A worker that finished its transaction between the look and the stop is let
    go on. Looks often, for two seconds: a sweep's transaction may be short.
    """
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for name, worker in workers.items():
            if not mid_sweep(worker, name):
                continue
            os.killpg(worker.popen.pid, signal.SIGSTOP)
            if mid_sweep(worker, name):
                return name
            os.killpg(worker.popen.pid, signal.SIGCONT)
        time.sleep(0.01)
    return None


def sweeping_worker(celery_processes, name: str, **env: str) -> Process:
    """A solo worker whose database connection carries its name (on PostgreSQL)."""
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = f"{database_url()}?application_name={name}"
    return celery_processes.worker(name, **env)


# --- The broker, which a test takes down and brings back -------------------------------------


def _reset_broker_pools() -> None:
    """Forget this process's broker connections, so the next message uses the settings now.

    kombu keeps producer pools in a registry by connection: closing only the app's own pool
    would leave a closed one there, handed out again once the settings are back.
    """
    for pool in (celery_app.amqp._producer_pool, celery_app._pool):
        if pool is not None:
            pool.force_close_all()
    kombu.pools.reset()
    celery_app.amqp._producer_pool = None
    celery_app._pool = None


@contextlib.contextmanager
def _celery_conf(**values):
    before = {name: celery_app.conf.get(name) for name in values}
    celery_app.conf.update(values)
    _reset_broker_pools()
    try:
        yield
    finally:
        celery_app.conf.update(before)
        _reset_broker_pools()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisBroker:
    """A Redis server of the test's own, on a free port, that the test kills and restarts."""

    def __init__(self, celery_processes, directory: Path) -> None:
        self.celery_processes = celery_processes
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.env = {"REDIS_URL": self.url}
        self.starts = 0
        self.server = self._start()

    def _start(self) -> Process:
        import redis

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.starts += 1
        server = Process(
            f"redis{self.starts}",
            [binary, "--save", "", "--appendonly", "no",
             "--port", str(self.port), "--bind", "127.0.0.1"],
            {**os.environ},
            self.directory / f"redis{self.starts}.log",
        )  # fmt: skip
        self.celery_processes.processes.append(server)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            with contextlib.suppress(redis.RedisError):
                return client.ping()
            return False

        self.celery_processes.wait_for(answers, seconds=30, what="redis-server")
        return server

    def down(self) -> None:
        """Redis dies (SIGKILL) and takes what it held: it keeps nothing on disk."""
        self.server.kill()

    def up(self) -> None:
        self.server = self._start()

    def sending_here(self):
        """This process sends to this server, giving up soon when it does not answer."""
        return _celery_conf(
            broker_url=self.url,
            broker_connection_timeout=1,
            broker_transport_options={"socket_connect_timeout": 1, "socket_timeout": 2},
            task_publish_retry_policy={
                "max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1,
            },
        )  # fmt: skip


class FolderBroker:
    """kombu's filesystem transport: "down" is this process finding the broker folder missing.

    The worker and beat keep using the folder: a worker that finds its queue folder gone
    stops ("FileNotFoundError" from the transport), so only the web side loses it here,
    as when the folder is a volume this process lost.
    """

    env: dict[str, str] = {}

    def __init__(self, directory: Path) -> None:
        missing = directory / "unmounted"
        self.missing_options = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            **{
                option: str(missing / sub)
                for option, sub in [
                    ("data_folder_in", "queue"),
                    ("data_folder_out", "queue"),
                    ("processed_folder", "processed"),
                    ("control_folder", "control"),
                ]
            },
        }
        self.outage = contextlib.ExitStack()

    def down(self) -> None:
        self.outage.enter_context(_celery_conf(broker_transport_options=self.missing_options))

    def up(self) -> None:
        self.outage.close()

    def sending_here(self):
        """This process sends to the folder, except while it is down; leaving ends an outage."""
        return self.outage


@pytest.fixture
def broker(celery_processes, tmp_path):
    """The broker this test may take down; this process sends its messages there."""
    outage = (
        RedisBroker(celery_processes, tmp_path) if settings.REDIS_URL else FolderBroker(tmp_path)
    )
    with outage.sending_here():
        yield outage


# --- Resolving while the broker is down ------------------------------------------------------


def test_resolving_while_the_broker_is_down_loses_nothing_and_the_review_goes_out_once(
    broker,
    manan,
    nanen,
    manan_staff,
    nanen_admin,
    city_handler,
    as_user,
    celery_processes,
    tmp_path,
    caplog,
):
    outbox = tmp_path / "outbox"
    env = {**sweeper_env(outbox), **broker.env}
    worker = celery_processes.worker("worker", **env)
    beat = celery_processes.beat("beat", **env)
    celery_processes.wait_ready(worker, beat)

    meeting = factories.meeting(manan, timezone.now() + dt.timedelta(days=10))
    # One matter the community resolves itself, one the street confirms for a department.
    lamp = factories.issue(
        manan, actor=manan_staff, title="楼道灯坏了", contact_phone="13900000001"
    )
    handling.issue_transition(issue=lamp, actor=manan_staff, name="start")
    stalls = factories.issue(
        manan, actor=manan_staff, title="小区门口占道经营", contact_phone="13900000002"
    )
    escalations.issue_escalate(issue=stalls, actor=manan_staff, reason="议事会协调不了")
    escalations.issue_escalate(issue=stalls, actor=manan_staff, reason="需要街道协调城管")
    escalation = Escalation.objects.get(issue=stalls)
    escalations.escalation_accept(
        escalation=escalation,
        actor=nanen_admin,
        department=factories.department(nanen),
        deadline=timezone.localdate() + dt.timedelta(days=5),
    )
    escalations.escalation_reply(escalation=escalation, actor=city_handler, reply="已清理")
    celery_processes.wait_for(
        lambda: not Notice.objects.exclude(status=Notice.Status.SENT).exists(),
        seconds=60,
        what="the notices sent before the outage",
    )
    before = set(Notice.objects.values_list("pk", flat=True))
    # From now on the community's staff want text messages too.
    manan_staff.phone, manan_staff.notify_by_sms = "13800000009", True
    manan_staff.save(update_fields=["phone", "notify_by_sms"])

    broker.down()
    started = time.monotonic()
    lamp.refresh_from_db()
    resolved = as_user(manan_staff).post(
        reverse("issues:transition", args=[lamp.pk]),
        {"name": "resolve", "note": "", "version": lamp.version},
    )
    confirmed = as_user(nanen_admin).post(
        reverse("issues:escalation", args=[escalation.pk]), {"decision": "confirm"}
    )
    took = time.monotonic() - started

    # Both pages answer as on any day, and soon: the broker's absence is not the user's.
    assert resolved.status_code == 302, resolved.content[:2000]
    assert resolved["Location"] == reverse("issues:detail", args=[lamp.pk])
    assert confirmed.status_code == 302, confirmed.content[:2000]
    assert confirmed["Location"] == reverse("issues:street_queue", args=[nanen.pk])
    assert took < 30, took
    assert set(
        Issue.objects.filter(pk__in=[lamp.pk, stalls.pk]).values_list("status", flat=True)
    ) == {Issue.Status.RESOLVED}
    reviews = list(FollowUpReview.objects.filter(issue__in=[lamp, stalls]).order_by("issue_id"))
    assert [(r.issue_id, r.state) for r in reviews] == [
        (lamp.pk, R.PENDING),
        (stalls.pk, R.PENDING),
    ]
    # The street's confirmation tells the handler and the community's staff (in the inbox,
    # and the staff by text too): the broker never had those messages, the database keeps
    # the notices.
    lost = list(Notice.objects.exclude(pk__in=before).select_related("recipient"))
    assert {(n.recipient.username, n.kind, n.channel, n.status, n.attempts) for n in lost} == {
        ("city_handler", "issue_resolved", "inapp", "pending", 0),
        ("manan_staff", "issue_resolved", "inapp", "pending", 0),
        ("manan_staff", "issue_resolved", "sms", "pending", 0),
    }
    not_enqueued = [
        record.args[0]
        for record in caplog.records
        if record.name == "members.notifications" and "could not enqueue" in record.msg
    ]
    assert sorted(not_enqueued) == sorted(n.pk for n in lost)

    # A week passes, and more than the two minutes the requeue sweeper gives a message.
    a_week_passes(reviews)
    Notice.objects.filter(pk__in=[n.pk for n in lost]).update(created=F("created") - REQUEUE_GRACE)
    broker.up()

    celery_processes.wait_for(
        lambda: (
            not FollowUpReview.objects.filter(pk__in=[r.pk for r in reviews])
            .exclude(state=R.SENT)
            .exists()
            and Notice.objects.filter(kind="review_invite").count() == 2
            and not Notice.objects.exclude(status=Notice.Status.SENT).exists()
        ),
        seconds=90,
        what="the reviews and the lost notices to go out",
    )
    # Each reporter's text and the staff's went out once, and were asked for once.
    invites = Counter(invite_key(r) for r in reviews)
    resolved_sms = Counter(n.key for n in lost if n.channel == "sms")
    assert deliveries.sms_delivered(outbox) == invites + resolved_sms
    assert deliveries.sms_requests(outbox) == invites + resolved_sms
    # Each reporter asked at the number given with the report, once.
    texted = {n.key: n.phone for n in Notice.objects.filter(kind="review_invite")}
    assert texted == {invite_key(reviews[0]): "13900000001", invite_key(reviews[1]): "13900000002"}
    assert {(n.pk, n.attempts) for n in Notice.objects.filter(pk__in=[n.pk for n in lost])} == {
        (n.pk, 1) for n in lost
    }
    # Both matters wait for the council's review on its next meeting, and say so.
    assert Counter(
        AgendaItem.objects.filter(kind=AgendaItem.Kind.REVIEW).values_list("meeting", "issue")
    ) == Counter({(meeting.pk, lamp.pk): 1, (meeting.pk, stalls.pk): 1})
    assert Counter(
        Event.objects.filter(kind=Event.Kind.REVIEW_SENT).values_list("issue", flat=True)
    ) == Counter({lamp.pk: 1, stalls.pk: 1})
    assert "Traceback" not in worker.text(), worker.text()[-5000:]


# --- Two sweepers, and a worker killed in the middle of a sweep --------------------------------

COMMUNITIES = 3
# 390 reviews: a sweep claims them 200 to a transaction, so it takes two transactions.
REVIEWS_EACH = 130


def test_two_sweepers_and_a_worker_killed_mid_sweep_send_each_review_once(
    manan, xingfu, beishan, manan_staff, xingfu_staff, celery_processes, tmp_path
):
    beishan_staff = factories.user("beishan_staff")
    factories.role(beishan_staff, Role.Kind.COMMUNITY_STAFF, community=beishan)
    staff = {manan: manan_staff, xingfu: xingfu_staff, beishan: beishan_staff}
    meeting_of = {
        community.pk: factories.meeting(community, timezone.now() + dt.timedelta(days=5 + n))
        for n, community in enumerate(staff)
    }
    numbers = itertools.count(1)
    for community, actor in staff.items():
        for _ in range(REVIEWS_EACH):
            factories.resolved_issue(
                community, actor=actor, contact_phone=f"139{next(numbers):08d}"
            )
    reviews = list(FollowUpReview.objects.all())
    assert len(reviews) == COMMUNITIES * REVIEWS_EACH

    outbox = tmp_path / "outbox"
    env = sweeper_env(outbox)
    workers = {name: sweeping_worker(celery_processes, name, **env) for name in ("one", "two")}
    beats = [celery_processes.beat(f"beat{n}", **env) for n in (1, 2)]
    celery_processes.wait_ready(*workers.values(), *beats)

    a_week_passes(reviews)
    caught: list[str] = []

    def a_worker_frozen_mid_sweep() -> bool:
        caught[:] = [name] if (name := freeze_mid_sweep(workers)) else []
        return bool(caught)

    celery_processes.wait_for(a_worker_frozen_mid_sweep, seconds=90, what="a worker mid-sweep")
    victim = workers[caught[0]]
    # It dies holding claims it never committed, and the notices, events and agenda items it
    # wrote for them: PostgreSQL or SQLite rolls them back, and those reviews are pending.
    victim.kill()
    # Another worker takes the dead one's place, as its supervisor would start one.
    restarted = sweeping_worker(celery_processes, "restarted", **env)

    celery_processes.wait_for(
        lambda: (
            not FollowUpReview.objects.filter(state=R.PENDING).exists()
            and not FollowUpReview.objects.filter(put_on_agenda_at__isnull=True).exists()
            and not Notice.objects.exclude(status=Notice.Status.SENT).exists()
        ),
        seconds=150,
        what="every review to be sent and every text delivered",
    )

    # Both beats send the sweep again and again, also once everything went out (however fast
    # that was): had the claims not held, these were their chances to send twice.
    def fired() -> list[int]:
        return [beat.text().count("Sending due task send-due-reviews") for beat in beats]

    celery_processes.wait_for(
        lambda: min(fired()) >= 3, seconds=30, what="each beat to send the sweep three times"
    )
    for beat in beats:
        beat.stop()

    # None lost: every review went out, once.
    assert Counter(FollowUpReview.objects.values_list("state", flat=True)) == {R.SENT: len(reviews)}
    notices = list(Notice.objects.all())
    assert Counter(n.key for n in notices) == Counter(invite_key(r) for r in reviews)
    assert {(n.kind, n.channel, n.recipient_id) for n in notices} == {
        ("review_invite", "sms", None)
    }
    # Each reporter's phone got its text once, and the provider was asked once.
    assert deliveries.sms_delivered(outbox) == Counter(invite_key(r) for r in reviews)
    assert deliveries.sms_requests(outbox) == Counter(invite_key(r) for r in reviews)
    by_phone = {n.key: n.phone for n in notices}
    assert {by_phone[invite_key(r)] for r in reviews} == set(
        Issue.objects.values_list("contact_phone", flat=True)
    )
    # One 回头议 item per matter, on its own council's next meeting, and one timeline entry.
    items = AgendaItem.objects.filter(kind=AgendaItem.Kind.REVIEW)
    assert Counter(items.values_list("issue", flat=True)) == Counter(r.issue_id for r in reviews)
    assert not items.exclude(meeting__council__community=F("issue__community")).exists()
    assert {
        meeting_of[c]: n for c, n in items.values_list("issue__community").annotate(n=Count("id"))
    } == {meeting: REVIEWS_EACH for meeting in meeting_of.values()}
    assert Counter(
        Event.objects.filter(kind=Event.Kind.REVIEW_SENT).values_list("issue", flat=True)
    ) == Counter(r.issue_id for r in reviews)
    # The other workers ran their sweeps and deliveries without an error.
    for worker in [w for w in workers.values() if w is not victim] + [restarted]:
        assert "Traceback" not in worker.text(), worker.text()[-5000:]


# --- Resolved, reopened, resolved again ------------------------------------------------------


def test_a_review_called_off_by_a_reopen_is_never_sent_and_the_next_one_is_sent_once(
    manan, manan_staff, celery_processes, tmp_path
):
    outbox = tmp_path / "outbox"
    env = sweeper_env(outbox)
    worker = celery_processes.worker("worker", **env)
    beat = celery_processes.beat("beat", **env)
    celery_processes.wait_ready(worker, beat)
    meeting = factories.meeting(manan, timezone.now() + dt.timedelta(days=10))

    def sweeps_after_now(count: int = 2) -> None:
        """Until the worker has finished ``count`` more sweeps: at least one began after now."""
        done = sweeps_done(worker)
        celery_processes.wait_for(
            lambda: sweeps_done(worker) >= done + count, seconds=30, what="more sweeps"
        )

    issue = factories.resolved_issue(
        manan, actor=manan_staff, title="垃圾桶满了", contact_phone="13900000003"
    )
    handling.issue_transition(
        issue=issue, actor=manan_staff, name="reopen", note="居民说垃圾又满了"
    )
    stale = issue.reviews.get()
    assert stale.state == R.CANCELLED
    # The week the first resolve booked passes: the sweeper leaves the called-off review be.
    a_week_passes([stale])
    sweeps_after_now()
    assert not Notice.objects.exists()
    assert not Event.objects.filter(kind=Event.Kind.REVIEW_SENT).exists()
    assert not AgendaItem.objects.filter(issue=issue).exists()

    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")
    fresh = issue.reviews.get(state=R.PENDING)
    a_week_passes([fresh])
    celery_processes.wait_for(
        lambda: Notice.objects.filter(status=Notice.Status.SENT).exists(),
        seconds=60,
        what="the new review to go out",
    )
    sweeps_after_now()

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.state, stale.sent_at, stale.link_expires_at) == (R.CANCELLED, None, None)
    assert fresh.state == R.SENT
    [notice] = Notice.objects.all()
    assert (notice.key, notice.phone, notice.status) == (invite_key(fresh), "13900000003", "sent")
    assert deliveries.sms_delivered(outbox) == Counter([invite_key(fresh)])
    assert deliveries.sms_requests(outbox) == Counter([invite_key(fresh)])
    assert [e.data["review"] for e in Event.objects.filter(kind=Event.Kind.REVIEW_SENT)] == [
        fresh.pk
    ]
    assert list(AgendaItem.objects.values_list("meeting", "issue", "kind")) == [
        (meeting.pk, issue.pk, AgendaItem.Kind.REVIEW)
    ]
    assert "Traceback" not in worker.text(), worker.text()[-5000:]
