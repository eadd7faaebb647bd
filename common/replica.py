"""Heavy reads on a PostgreSQL replica, chosen explicitly, never guessed from the model.

With ``DATABASE_REPLICA_URL`` set the project has a second database alias, ``replica``, a
streaming replica of the primary. Only code that says so reads from it: the dashboards, the
inbox exports built by a worker and the period reports, each inside ``reading_from_replica()``
(or through ``on_replica(...)``, which also runs the work again on the primary if the replica
drops out half-way). Everything else, and every write, goes to the primary.

A replica lags behind the primary, so reads stay on the primary when they must see a write:

* inside a transaction on the primary (the transaction's own rows are not on the replica);
* for the rest of a request that wrote;
* for a few seconds after a person's request wrote (``YISHI_REPLICA_STICKY_SECONDS``): the
  middleware leaves a cookie, so the page they are sent to after a form shows their change.

A replica that cannot be reached (refused, timed out) is left alone for
``YISHI_REPLICA_RETRY_SECONDS`` and the reads go to the primary; the log says so once, and
once more when it answers again. Without ``DATABASE_REPLICA_URL`` nothing here does anything.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

REPLICA = "replica"
COOKIE = "yishi_read_primary"

P = ParamSpec("P")
R = TypeVar("R")

# Where reads go inside reading_from_replica() (and how old that is), or None outside it.
_reading_from: contextvars.ContextVar[Snapshot | None] = contextvars.ContextVar(
    "yishi_reading_from", default=None
)
# True while the current request must read its own writes from the primary.
_pinned: contextvars.ContextVar[bool] = contextvars.ContextVar("yishi_pinned", default=False)
# Set by the middleware: writes made while it is set pin the rest of the request.
_in_request: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "yishi_in_request", default=False
)
_wrote: contextvars.ContextVar[bool] = contextvars.ContextVar("yishi_wrote", default=False)


@dataclass(frozen=True)
class Snapshot:
    """Where a block reads from, and how old that data is.

    ``as_of`` is the time of the last transaction the replica has applied, set only when the
    replica is behind the primary by more than ``YISHI_REPLICA_LAG_NOTICE_SECONDS``; pages
    show it ("as of 14:05"). None: the figures are current.
    """

    database: str = DEFAULT_DB_ALIAS
    as_of: dt.datetime | None = None

    @property
    def on_replica(self) -> bool:
        return self.database == REPLICA


PRIMARY = Snapshot()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- Is the replica there? -----------------------------------------------------------------


class _Health:
    """Whether the replica answered, shared by the threads of one process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.down = False

    def usable(self) -> bool:
        return not self.down or time.monotonic() >= self.down_until

    def mark_down(self, error: BaseException) -> None:
        retry = getattr(settings, "YISHI_REPLICA_RETRY_SECONDS", 30)
        with self.lock:
            first = not self.down
            self.down = True
            self.down_until = time.monotonic() + retry
        if first:
            log.warning(
                "read replica unreachable, reading from the primary (next try in %s s): %s",
                retry,
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
            )

    def mark_up(self) -> None:
        with self.lock:
            was_down, self.down = self.down, False
        if was_down:
            log.warning("read replica answers again: heavy reads go back to it")

    def reset(self) -> None:
        with self.lock:
            self.down, self.down_until = False, 0.0


health = _Health()


def _probe() -> Snapshot:
    """One query on the replica: is it there, and is it behind (then since when)."""
    notice = getattr(settings, "YISHI_REPLICA_LAG_NOTICE_SECONDS", 5)
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL, [float(notice)])
            replayed_at, behind = cursor.fetchone()
    except DatabaseError as error:
        _forget_connection()
        health.mark_down(error)
        return PRIMARY
    health.mark_up()
    return Snapshot(REPLICA, as_of=replayed_at if behind else None)


# Behind: its last applied transaction is older than the notice threshold (by the database's
# clock, the one it was written with) while WAL waits to be applied, or while it receives
# nothing from the primary. A quiet primary's replica has an old last transaction too, but
# nothing waiting and its receiver streaming. Not a standby: the timestamp is null, current.
LAG_SQL = """
SELECT pg_last_xact_replay_timestamp(),
       clock_timestamp() - pg_last_xact_replay_timestamp() > make_interval(secs => %s)
       AND (pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()
            OR NOT EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming'))
"""


def _forget_connection() -> None:
    """Drop a broken replica connection, so the next try connects afresh."""
    with suppress(DatabaseError):
        connections[REPLICA].close()


def must_read_primary() -> bool:
    """True where a replica's copy could miss a write this code must see."""
    return (
        _pinned.get()
        or _wrote.get()
        or connections[DEFAULT_DB_ALIAS].in_atomic_block
        or not replica_configured()
    )


@contextmanager
def reading_from_replica() -> Iterator[Snapshot]:
    """Send this block's reads to the replica when it may and can; yields where they go.

    Writes inside the block still go to the primary. Nested blocks keep the outer choice.
    """
    current = _reading_from.get()
    if current is not None:
        yield current
        return
    snapshot = PRIMARY
    if not must_read_primary() and health.usable():
        snapshot = _probe()
    token = _reading_from.set(snapshot)
    try:
        yield snapshot
    finally:
        _reading_from.reset(token)


def current_snapshot() -> Snapshot:
    """Where the reads of the enclosing ``reading_from_replica()`` go, and how old that is
    (the primary, current, outside one): for what is built from them to say so."""
    return _reading_from.get() or PRIMARY


def read_on_replica(
    function: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> tuple[R, Snapshot]:
    """``function(*args, **kwargs)`` reading from the replica, and the snapshot it read.

    If the replica fails while the function runs, it is marked down and the function runs
    again on the primary: for reads that can be repeated (figures, files built aside).
    """
    with reading_from_replica() as snapshot:
        if not snapshot.on_replica:
            return function(*args, **kwargs), snapshot
        try:
            return function(*args, **kwargs), snapshot
        except DatabaseError as error:
            if _replica_answers():
                raise  # the replica is fine: the error is the function's own
            health.mark_down(error)
    with _primary_only():
        return function(*args, **kwargs), PRIMARY


def on_replica(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` made to read from the replica, as ``read_on_replica`` runs it."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return read_on_replica(function, *args, **kwargs)[0]

    return wrapper


def _replica_answers() -> bool:
    _forget_connection()
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        _forget_connection()
        return False


@contextmanager
def _primary_only() -> Iterator[None]:
    token = _reading_from.set(PRIMARY)
    try:
        yield
    finally:
        _reading_from.reset(token)


# --- The router ----------------------------------------------------------------------------


class ReplicaRouter:
    """Reads go where ``reading_from_replica()`` says; writes and migrations to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        current = _reading_from.get()
        if current is not None and current.on_replica and not must_read_primary():
            return REPLICA
        return None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        if _in_request.get():
            _wrote.set(True)
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Rows read from the replica are the primary's rows: they may be related freely.
        databases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in databases and obj2._state.db in databases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


# --- Reading one's own writes across requests ----------------------------------------------


class PrimaryAfterWriteMiddleware:
    """A request that wrote reads the primary for its rest, and its person for a few
    seconds after (a cookie), so the page they land on shows what they just did."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        tokens = (
            _in_request.set(True),
            _wrote.set(False),
            _pinned.set(_recently_wrote(request)),
        )
        try:
            response = self.get_response(request)
            if _wrote.get():
                sticky = int(getattr(settings, "YISHI_REPLICA_STICKY_SECONDS", 10))
                response.set_cookie(
                    COOKIE,
                    str(int(time.time()) + sticky),
                    max_age=sticky,
                    secure=request.is_secure(),
                    httponly=True,
                    samesite="Lax",
                )
            return response
        finally:
            _pinned.reset(tokens[2])
            _wrote.reset(tokens[1])
            _in_request.reset(tokens[0])


def _recently_wrote(request: HttpRequest) -> bool:
    try:
        return int(request.COOKIES.get(COOKIE, "0")) > time.time()
    except ValueError:
        return False
