"""Notifications through a real Celery worker process and a real broker.

The broker is Redis when ``REDIS_URL`` is set (CI) and kombu's filesystem
transport otherwise; the worker reads the same test database as this process.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import transaction

from members import notifications
from members.models import Notice
from members.tasks import deliver_notice


@pytest.fixture
def worker(celery_processes):
    """A real worker on a queue of its own, with email written to files."""
    celery_processes.worker()
    return celery_processes


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_delivers_each_notice_once(manan_staff, worker):
    manan_staff.email, manan_staff.notify_by_email = "staff@example.org", True
    manan_staff.save()

    with transaction.atomic():
        created = notifications.notify(manan_staff, "test", {"text": "议事会通知"}, key="roundtrip")
    # The same notice again, and the same delivery task enqueued twice by a
    # duplicated message: neither may reach the person a second time.
    with transaction.atomic():
        assert (
            notifications.notify(manan_staff, "test", {"text": "议事会通知"}, key="roundtrip") == []
        )
    email_notice = next(n for n in created if n.channel == "email")
    deliver_notice.delay(email_notice.pk)

    worker.wait_for(
        lambda: set(Notice.objects.values_list("status", flat=True)) == {"sent"},
        seconds=90,
        what="both notices to be sent",
    )
    # The duplicate task runs too, and finds the notice sent.
    log = worker.processes[0].text
    worker.wait_for(lambda: log().count("succeeded") == 3, seconds=30, what="the duplicate task")

    assert Notice.objects.count() == 2
    assert set(Notice.objects.values_list("attempts", flat=True)) == {1}
    sent_mail = list(worker.mail.glob("*.log"))
    assert len(sent_mail) == 1
    assert "roundtrip" not in sent_mail[0].read_text()  # keys are internal
    assert "staff@example.org" in sent_mail[0].read_text()
    expected_transport = (
        "redis://" if settings.REDIS_URL else "deliberation.celery:FilesystemTransport://"
    )
    assert f"transport:   {expected_transport}" in log()


def test_a_worker_never_reads_a_message_before_it_is_whole(tmp_path, monkeypatch):
    """kombu wrote a message into a file it had already put in the queue folder.

    A worker polling in between read an empty file and stopped with a JSONDecodeError,
    losing the message (celery/kombu#1551). Here a worker looks at the queue at that
    very moment, while the message is being serialised.
    """
    from queue import Empty

    from kombu import Connection
    from kombu.transport import filesystem

    from deliberation import celery

    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
    }
    if not settings.REDIS_URL:
        assert settings.CELERY_BROKER_TRANSPORT == "deliberation.celery:FilesystemTransport"
    with Connection(
        "filesystem://", transport=celery.FilesystemTransport, transport_options=options
    ) as connection:
        channel = connection.default_channel
        seen = []

        def dumps_while_a_worker_looks(payload):
            try:
                seen.append(channel._get("notices"))
            except Empty:
                seen.append("nothing")
            return json.dumps(payload)

        monkeypatch.setattr(filesystem, "dumps", dumps_while_a_worker_looks)
        monkeypatch.setattr(celery, "dumps", dumps_while_a_worker_looks)
        channel._put("notices", {"body": "议事会通知"})
        assert seen == ["nothing"]
        assert channel._get("notices") == {"body": "议事会通知"}
        with pytest.raises(Empty):
            channel._get("notices")
    assert not list(folders["queue"].iterdir())
    assert not list(folders["processed"].iterdir())
