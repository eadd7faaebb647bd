"""Real Celery worker and beat processes for tests, on the test database and a queue of their own.

The broker is Redis when ``REDIS_URL`` is set (CI) and kombu's filesystem
transport otherwise. Every process starts in a session of its own, so that
stopping it also stops whatever it started, and the fixture that hands out
``CeleryProcesses`` stops them all even when the test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

from common.queue import sweep_queue, worker_queues

ROOT = Path(__file__).resolve().parent.parent

# What a worker logs (--loglevel=INFO) as it is handed a task and as it finishes one.
RECEIVED = re.compile(r"Task (\S+)\[([0-9a-f-]+)\] received")
SUCCEEDED = re.compile(r"Task (\S+)\[([0-9a-f-]+)\] succeeded in [\d.e-]+s: (.*)")


def database_url() -> str:
    """The test database, as the ``DATABASE_URL`` a child process reads."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class Process:
    """One celery process writing its output to ``log``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.expected_to_run = True
        with open(log, "w") as out:
            self.popen = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a pulled plug would: no shutdown at all."""
        self.expected_to_run = False
        self._signal(signal.SIGKILL)
        self.popen.wait(timeout=20)

    def stop(self, timeout: float = 20) -> None:
        self.expected_to_run = False
        if not self.running():
            return
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(timeout=20)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)


class CeleryProcesses:
    """Starts workers and beats that share this test's database, queue and environment."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.queue = f"yishi-test-{uuid.uuid4().hex[:8]}"
        self.mail = directory / "mail"
        self.processes: list[Process] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "deliberation.settings_test",
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_BROKER_POLLING_INTERVAL": "0.1",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail),
            "PYTHONUNBUFFERED": "1",
        }

    def worker(
        self, name: str = "worker", *, pool: str = "solo", concurrency: int = 1, **env: str
    ) -> Process:
        argv = [
            sys.executable, "-m", "celery", "-A", "deliberation", "worker",
            f"--hostname={name}-{self.queue}@%h", f"--pool={pool}", f"--concurrency={concurrency}",
            "--loglevel=INFO", "-Q", worker_queues(self.queue),
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        return self._start(name, argv, env)

    def beat(self, name: str = "beat", **env: str) -> Process:
        # Each beat keeps its own schedule file, as two machines would.
        argv = [
            sys.executable, "-m", "celery", "-A", "deliberation", "beat", "--loglevel=INFO",
            f"--schedule={self.directory / (name + '-schedule')}",
        ]  # fmt: skip
        return self._start(name, argv, env)

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        process = Process(name, argv, {**self.env, **env}, self.directory / f"{name}.log")
        self.processes.append(process)
        return process

    def wait_ready(self, *processes: Process, seconds: float = 60) -> None:
        """Until each worker consumes its queue and each beat has read its schedule."""

        def ready(process: Process) -> bool:
            text = process.text()
            return " ready." in text or "beat: Starting..." in text

        self.wait_for(lambda: all(map(ready, processes)), seconds=seconds, what="processes")

    def watch(self, seconds: float) -> None:
        """Let the processes work for ``seconds``, failing as soon as one of them dies."""
        started = time.monotonic()
        self.wait_for(
            lambda: time.monotonic() - started >= seconds, seconds=seconds + 5, what="the clock"
        )

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {p.name}.log ---\n{p.text()[-tail:]}" for p in self.processes)

    def wait_for(self, condition: Callable[[], object], *, seconds: float, what: str) -> None:
        """Poll ``condition`` until it holds; fail at the deadline or when a process dies."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            for process in self.processes:
                assert process.running() or not process.expected_to_run, (
                    f"{process.name} exited while waiting for {what}\n{self.logs()}"
                )
            time.sleep(0.2)
        raise AssertionError(f"timed out after {seconds} s waiting for {what}\n{self.logs()}")

    def stop_all(self, grace: float = 1) -> None:
        """SIGTERM to every process at once, then SIGKILL to any still there after ``grace``.

        A worker's warm shutdown takes seconds, and the test has seen what it needed.
        """
        for process in self.processes:
            process.expected_to_run = False
            if process.running():
                process._signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes:
            process.stop(timeout=max(0.01, deadline - time.monotonic()))
        discard_queue(self.queue)
        discard_queue(sweep_queue(self.queue))


def finished(*processes: Process) -> list[tuple[str, str, str]]:
    """(task name, task id, result) for each task the processes ran to the end."""
    return [match.groups() for p in processes for match in SUCCEEDED.finditer(p.text())]


def discard_queue(queue: str) -> None:
    """Drop what the broker still holds for ``queue``, which nothing will consume again.

    Redis keeps a message taken by a killed worker in its ``unacked`` hash and puts it
    back on the queue after the visibility timeout: it would sit there for good.
    """
    if not settings.REDIS_URL:
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        for message in folder.glob(f"*.{queue}.msg"):
            message.unlink(missing_ok=True)
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for tag, payload in client.hgetall("unacked").items():
        if json.loads(payload)[2] == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)


def redis_unacked_task_ids() -> set[str]:
    """Ids of the tasks whose messages Redis holds as delivered but not acknowledged."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    messages = (json.loads(payload)[0] for payload in client.hvals("unacked"))
    return {message.get("headers", {}).get("id") for message in messages} - {None}
