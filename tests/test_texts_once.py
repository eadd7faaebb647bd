"""A text goes out once when the database connection drops mid-delivery.

A worker that lost its connection between the provider's "accepted" and the "sent" it
writes left the notice "sending"; the sweeper sent it again once the claim went stale.
Now the mark reconnects and retries, the task retries a claim it lost, and a notice sent
again after a stale claim carries the same key, which the provider delivers once.
The sweeper runs on a queue of its own, so a backlog of deliveries cannot hold it back.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from common.queue import sweep_queue
from common.sms import MemorySmsBackend
from deliberation.celery import app as celery_app
from members import notifications
from members.models import Notice
from members.tasks import deliver_notice, requeue_stalled_notices
from tests import deliveries
from tests.processes import finished

DELIVER = "members.tasks.deliver_notice"
SWEEPER = "members.tasks.requeue_stalled_notices"
# Each event a worker logs about a task, in order: the last one says whether it is done.
TASK_EVENT = re.compile(r"Task (\S+)\[([0-9a-f-]+)\] (received|succeeded|raised unexpected|retry)")


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    MemorySmsBackend.outbox.clear()
    yield
    MemorySmsBackend.outbox.clear()


def texts(count: int) -> dict[str, tuple[str, dict]]:
    return {f"batch-{n}": (f"139{n:08d}", {"text": f"第{n}条"}) for n in range(count)}


def one_text() -> Notice:
    """A text waiting for its delivery task (here run by hand)."""
    return Notice.objects.create(
        phone="13900000001", kind="test", channel=Notice.Channel.SMS, key="once:sms"
    )


def lose_the_connection_once(monkeypatch, method: str, *, when=lambda kwargs: True) -> list:
    """The first ``QuerySet.<method>`` on notices (matching ``when``) finds the database gone."""
    real = getattr(QuerySet, method)
    lost: list = []

    def flaky(self, *args, **kwargs):
        if self.model is Notice and not lost and when(kwargs):
            lost.append(kwargs)
            raise OperationalError("terminating connection due to administrator command")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, method, flaky)
    return lost


def provider_requests() -> Counter:
    return Counter(message["key"] for message in MemorySmsBackend.outbox)


@pytest.mark.django_db(transaction=True)
def test_a_text_the_provider_took_is_marked_sent_when_the_connection_drops(monkeypatch):
    notice = one_text()
    lost = lose_the_connection_once(
        monkeypatch, "update", when=lambda kwargs: kwargs.get("status") == Notice.Status.SENT
    )

    deliver_notice.apply(args=(notice.pk,))

    assert lost, "the mark never ran"
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT
    assert notice.attempts == 1
    assert provider_requests() == {notice.key: 1}
    # Nothing is left for the sweeper to send again.
    assert notifications.stalled_notice_ids() == []


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_connection_drops_is_given_back_and_retried(monkeypatch):
    notice = one_text()
    lost = lose_the_connection_once(monkeypatch, "get")

    deliver_notice.apply(args=(notice.pk,))

    assert lost, "the claim never read the notice"
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT
    assert notice.attempts == 1  # the claim that never reached the provider is not counted
    assert provider_requests() == {notice.key: 1}


def test_the_sweepers_go_to_a_queue_of_their_own_beside_the_default_one():
    router = celery_app.amqp.router
    queue = celery_app.conf.task_default_queue
    assert router.route({}, SWEEPER)["queue"].name == sweep_queue(queue)
    assert router.route({}, "deliberation.tasks.materialise_meetings")["queue"].name == (
        sweep_queue(queue)
    )
    assert router.route({}, DELIVER)["queue"].name == queue


def task_states(*processes) -> dict[str, tuple[str, str]]:
    """Each task id the processes logged: (task name, the last thing logged about it)."""
    states: dict[str, tuple[str, str]] = {}
    for process in processes:
        for name, task_id, event in TASK_EVENT.findall(process.text()):
            states[task_id] = (name, event)
    return states


def delivered_in_order(process) -> list[str]:
    """The names of the tasks the worker finished, in the order it finished them."""
    return [name for name, _, _ in finished(process)]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_sweeper_runs_while_deliveries_are_queued(celery_processes, tmp_path):
    outbox = tmp_path / "outbox"
    backlog = 2000
    with transaction.atomic():
        notifications.notify_phones("test", texts(backlog))
    requeue_stalled_notices.delay()
    # One worker, one task at a time, started when the whole backlog is queued.
    worker = celery_processes.worker(**deliveries.delivery_env(outbox))
    # Long enough for the whole backlog to drain first, as it did on a shared queue.
    celery_processes.wait_for(
        lambda: SWEEPER in delivered_in_order(worker), seconds=300, what="the sweeper"
    )

    order = delivered_in_order(worker)
    before_the_sweeper = order[: order.index(SWEEPER)].count(DELIVER)
    assert before_the_sweeper < backlog, "the sweeper waited for the whole backlog"
    assert Notice.objects.exclude(status=Notice.Status.SENT).exists()


def terminate_other_connections() -> int:
    """End every connection to the test database but this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(cursor.fetchall())


@pytest.mark.worker
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_terminate_backend is PostgreSQL's"
)
@pytest.mark.django_db(transaction=True)
def test_texts_go_out_once_while_the_workers_connections_are_cut(celery_processes, tmp_path):
    outbox = tmp_path / "outbox"
    claim_timeout = 3
    worker = celery_processes.worker(
        **deliveries.delivery_env(outbox), NOTICE_CLAIM_TIMEOUT_SECONDS=str(claim_timeout)
    )
    celery_processes.wait_ready(worker)
    batch = 600
    with transaction.atomic():
        notices = notifications.notify_phones("test", texts(batch))
    keys = {notice.key for notice in notices}

    cuts = {"at": 0.0, "ended": 0}

    def deliveries_done(count: int) -> bool:
        """``count`` delivery tasks were handed to the worker, and none is running or waiting."""
        logged = [event for name, event in task_states(worker).values() if name == DELIVER]
        return len(logged) >= count and all(e in {"succeeded", "raised unexpected"} for e in logged)

    def batch_done_while_cutting() -> bool:
        if time.monotonic() - cuts["at"] >= 2:
            cuts["ended"] += terminate_other_connections()
            cuts["at"] = time.monotonic()
        return deliveries_done(batch)

    celery_processes.wait_for(batch_done_while_cutting, seconds=600, what="the batch")
    assert cuts["ended"] > 0, "no connection of the worker was ever cut"

    # Every claim left "sending" is stale now: the sweeper takes each one over.
    def claims_stale() -> bool:
        stale = timezone.now() - dt.timedelta(seconds=claim_timeout + 1)
        return not Notice.objects.filter(
            status=Notice.Status.SENDING, claimed_at__gte=stale
        ).exists()

    celery_processes.wait_for(claims_stale, seconds=30, what="the claims to go stale")
    requeue_stalled_notices.delay()
    celery_processes.wait_for(
        lambda: SWEEPER in delivered_in_order(worker), seconds=120, what="the sweeper"
    )
    sent_again = next(int(result) for name, _, result in finished(worker) if name == SWEEPER)
    celery_processes.wait_for(
        lambda: deliveries_done(batch + sent_again), seconds=120, what="what the sweeper sent"
    )

    # The worker lost its connection mid-batch, and carried on.
    assert re.search(r"OperationalError|InterfaceError", worker.text())
    requested = deliveries.sms_requests(outbox)
    outcome = {
        "asked twice": sorted(key for key, n in requested.items() if n > 1),
        "never asked": sorted(keys - set(requested)),
        "not marked sent": Notice.objects.exclude(status=Notice.Status.SENT).count(),
    }
    assert outcome == {"asked twice": [], "never asked": [], "not marked sent": 0}
    assert deliveries.sms_delivered(outbox) == Counter(dict.fromkeys(keys, 1))


def test_the_demo_worker_consumes_the_sweepers_queue(monkeypatch):
    from deliberation.management.commands import demo

    started: list[list[str]] = []
    monkeypatch.setattr(demo.subprocess, "Popen", lambda argv, **_: started.append(argv))
    demo.Command()._start_celery()

    (worker,) = [argv for argv in started if "worker" in argv]
    queue = celery_app.conf.task_default_queue
    assert worker[worker.index("-Q") + 1] == f"{queue},{sweep_queue(queue)}"
