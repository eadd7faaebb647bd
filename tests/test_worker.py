"""Notifications through a real Celery worker process and a real broker.

The broker is Redis when ``REDIS_URL`` is set (CI) and kombu's filesystem
transport otherwise; the worker reads the same test database as this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from deliberation.celery import app as celery_app
from members import notifications
from members.models import Notice
from members.tasks import deliver_notice

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    """A real worker on a queue of its own, with email written to files."""
    queue = f"yishi-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "deliberation.settings_test",
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "deliberation", "worker",
            "--pool=solo", "--loglevel=INFO", "-Q", queue,
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    eager = celery_app.conf.task_always_eager
    queue_before = celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield {"mail": tmp_path / "mail", "log": tmp_path / "worker.log", "process": process}
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_default_queue = queue_before
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for(condition, *, seconds: float, worker) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker["process"].poll() is None, worker["log"].read_text()[-3000:]
        time.sleep(0.25)
    raise AssertionError("timed out; worker log:\n" + worker["log"].read_text()[-3000:])


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

    wait_for(
        lambda: set(Notice.objects.values_list("status", flat=True)) == {"sent"},
        seconds=90,
        worker=worker,
    )
    time.sleep(2)  # let the duplicate task run too
    wait_for(lambda: "succeeded" in worker["log"].read_text(), seconds=30, worker=worker)

    assert Notice.objects.count() == 2
    assert set(Notice.objects.values_list("attempts", flat=True)) == {1}
    sent_mail = list(worker["mail"].glob("*.log"))
    assert len(sent_mail) == 1
    assert "roundtrip" not in sent_mail[0].read_text()  # keys are internal
    assert "staff@example.org" in sent_mail[0].read_text()
    expected_transport = "redis://" if settings.REDIS_URL else "filesystem://"
    assert f"transport:   {expected_transport}" in worker["log"].read_text()
