"""Run Yishi on one machine with demo data: web server, Celery worker and Celery beat.

Needs no external service: the embedded default is SQLite plus kombu's
filesystem broker, both under ``var/``. With ``DATABASE_URL`` and ``REDIS_URL``
set it runs against PostgreSQL and Redis instead.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.management.commands.runserver import naiveip_re

from common.queue import worker_queues


class Command(BaseCommand):
    help = "Migrate, load demo data, and run the web server with a Celery worker and beat."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--noreload", action="store_true", help="Do not restart on code changes."
        )

    def handle(self, *args, addrport: str, noreload: bool, **options) -> None:
        # runserver's autoreloader runs this command again in a child process
        # (RUN_MAIN=true); only the first run prepares data and starts Celery.
        if os.environ.get("RUN_MAIN") == "true":
            call_command("runserver", addrport, use_reloader=not noreload)
            return

        # Texts link to the address served here, unless one was given: web, worker and beat
        # (started below, and runserver's reloader) read it from the environment.
        os.environ.setdefault("YISHI_BASE_URL", site_url(addrport))
        settings.BASE_URL = os.environ["YISHI_BASE_URL"].rstrip("/")
        call_command("migrate", interactive=False, verbosity=1)
        call_command("seed_demo")
        self.stdout.write(f"Text messages link to {settings.BASE_URL}")
        # A plain SIGTERM (e.g. from `timeout` or a process manager) would end this
        # process without the `finally` below and orphan the worker and beat.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        background = self._start_celery()
        try:
            call_command("runserver", addrport, use_reloader=not noreload)
        finally:
            for process in background:
                process.terminate()
            for process in background:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _start_celery(self) -> list[subprocess.Popen]:
        celery = [sys.executable, "-m", "celery", "-A", "deliberation"]
        commands = [
            [
                *celery,
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--hostname=demo@%h",
                # The deliveries and, beside them, beat's sweepers (common.queue).
                "-Q",
                worker_queues(settings.CELERY_TASK_DEFAULT_QUEUE),
            ],
            [
                *celery,
                "beat",
                "--loglevel=INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
        ]
        started = [
            subprocess.Popen(command, cwd=settings.BASE_DIR, preexec_fn=_die_with_parent)
            for command in commands
        ]
        broker = "Redis" if settings.REDIS_URL else "filesystem broker in var/broker"
        self.stdout.write(self.style.SUCCESS(f"Celery worker and beat started ({broker})."))
        return started


def site_url(addrport: str) -> str:
    """The address a browser reaches runserver at when it serves on ``addrport``
    (as runserver reads it: "8000", "0:8000", "192.168.1.20:8000", "[::1]:8000")."""
    match = re.match(naiveip_re, addrport)
    if match is None:
        return "http://127.0.0.1:8000"
    host, *_, port = match.groups()
    if not host:
        host = "127.0.0.1"
    elif host in {"0", "0.0.0.0", "[::]"}:
        host = lan_address()  # every interface: the one other machines reach
    return f"http://{host}:{port}"


def lan_address() -> str:
    """This machine's address on its network (a UDP "connection" sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def _die_with_parent() -> None:
    """On Linux, ask the kernel to end the worker and beat when this process ends, however."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
