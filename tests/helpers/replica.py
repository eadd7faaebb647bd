"""A streaming replica for the router's tests: started by deploy/replica.sh when the tests
run on PostgreSQL without DATABASE_REPLICA_URL, and attached as the ``replica`` alias."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from common.replica import REPLICA

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "replica.sh"
# Nothing listens there: a replica that is down.
DEAD_URL = "postgres://postgres@127.0.0.1:9/unreachable"


def on_postgresql() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def start(database_url: str) -> str:
    """The URL of a replica of ``database_url``'s cluster, up and streaming."""
    done = subprocess.run(
        ["bash", str(SCRIPT), "start", database_url],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"deploy/replica.sh failed: {done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def attach(url: str) -> None:
    """Add the ``replica`` alias for ``url``, reading the primary's test database."""
    replica = dj_database_url.parse(url, conn_max_age=0)
    replica["OPTIONS"] = {"connect_timeout": 3}
    replica["TEST"] = {"MIRROR": DEFAULT_DB_ALIAS}
    replica["NAME"] = connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]
    # Fills in the defaults Django gives every alias (the dict is changed in place).
    connections.configure_settings(
        {DEFAULT_DB_ALIAS: dict(settings.DATABASES[DEFAULT_DB_ALIAS]), REPLICA: replica}
    )
    settings.DATABASES[REPLICA] = replica


def detach() -> None:
    connections[REPLICA].close()
    del connections[REPLICA]
    del settings.DATABASES[REPLICA]


def point_at(url: str) -> dict:
    """Send the ``replica`` alias to another server; returns what to restore."""
    settings_dict = connections[REPLICA].settings_dict
    before = {key: settings_dict[key] for key in ("HOST", "PORT")}
    other = dj_database_url.parse(url)
    connections[REPLICA].close()
    settings_dict.update(HOST=other["HOST"], PORT=other["PORT"])
    return before


def restore(before: dict) -> None:
    connections[REPLICA].close()
    connections[REPLICA].settings_dict.update(before)


def _one(alias: str, sql: str, params: list | None = None):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def wait_for_replay(timeout: float = 20, *, position: str = "replay") -> None:
    """Until the replica has applied (or only received: ``position="receive"``)
    everything the primary has written so far."""
    target = _one(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    sql = f"SELECT pg_last_wal_{position}_lsn() >= %s::pg_lsn"
    while not _one(REPLICA, sql, [target]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica's {position} did not reach {target}")
        time.sleep(0.05)


def pause_replay() -> None:
    _one(REPLICA, "SELECT pg_wal_replay_pause()::text")
    # Paused for sure only once it says so (a record being applied finishes first).
    while _one(REPLICA, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        time.sleep(0.05)


def resume_replay() -> None:
    _one(REPLICA, "SELECT pg_wal_replay_resume()::text")


def replayed_at():
    return _one(REPLICA, "SELECT pg_last_xact_replay_timestamp()")
