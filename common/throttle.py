"""Counting requests per client in Django's cache, to refuse floods without outside services.

The cache is Redis when ``REDIS_URL`` is set and a file cache otherwise
(``deliberation/settings.py``). On Redis ``cache.add`` (SET NX) and
``cache.incr`` (INCR) are atomic, so concurrent requests never count twice as
one. The file cache's ``incr`` is a read and a write: under a burst it may
undercount slightly, which is acceptable for a single-machine install.

A counter lives until one window has passed since its last counted hit. Each
counted hit sets the expiry again, because the file cache's ``incr`` rewrites
the entry with the default timeout; doing the same on every backend keeps the
rule identical everywhere. A refused hit is not counted and does not lengthen
the wait.

When the cache cannot be reached (Redis stopped), a throttle fails open: the hit is
allowed and one warning line is logged per failed call, so that a resident's report is
never lost to a limit that cannot be counted. A claim raises ``Unavailable`` instead, so
that its caller can fall back to the database.
"""

from __future__ import annotations

import ipaddress
import logging

from django.core.cache import cache
from django.http import HttpRequest

from common import clientip

PREFIX = "yishi:throttle:"

logger = logging.getLogger(__name__)


class Unavailable(Exception):
    """The cache could not be reached."""


def _warn(operation: str, key: str, error: Exception) -> None:
    logger.warning(
        "cache unreachable, throttle %s of %s skipped: %s", operation, key, type(error).__name__
    )


def client_ip(request: HttpRequest) -> str:
    """The client address a throttle counts under (``common.clientip``).

    IPv6 clients count per /64: a phone gets a whole /64, and counting single
    addresses inside it is trivial to evade.
    """
    raw = clientip.client_ip(request)
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit under ``key``; True while no more than ``limit`` hits were counted.

    True as well when the cache cannot be reached (fail open, with a warning)."""
    try:
        return _hit(key, limit, window_seconds)
    except Exception as error:
        _warn("hit", key, error)
        return True


def _hit(key: str, limit: int, window_seconds: int) -> bool:
    full = PREFIX + key
    if cache.add(full, 1, timeout=window_seconds):
        return limit >= 1
    current = cache.get(full)
    if current is not None and current >= limit:
        return False
    try:
        count = cache.incr(full)
    except ValueError:  # expired between add and incr: start again
        return _hit(key, limit, window_seconds)
    cache.touch(full, window_seconds)
    return count <= limit


def undo(key: str, window_seconds: int) -> None:
    """Take back one counted hit, for work that was refused after it was counted."""
    full = PREFIX + key
    try:
        try:
            cache.decr(full)
        except ValueError:
            return
        cache.touch(full, window_seconds)
    except Exception as error:
        _warn("undo", key, error)


def claim(key: str, timeout: int) -> bool:
    """Mark ``key`` as taken; False if someone holds it already (``cache.add``).

    Raises ``Unavailable`` when the cache cannot be reached."""
    try:
        return cache.add(PREFIX + key, "", timeout=timeout)
    except Exception as error:
        _warn("claim", key, error)
        raise Unavailable from error


def settle(key: str, value: str, timeout: int) -> None:
    """Store what a claimed piece of work produced, for whoever asks again."""
    try:
        cache.set(PREFIX + key, value, timeout=timeout)
    except Exception as error:
        _warn("settle", key, error)


def recall(key: str) -> str | None:
    """What a claim produced: a value, "" while the work is under way, None if released
    (or if the cache cannot be reached)."""
    try:
        return cache.get(PREFIX + key)
    except Exception as error:
        _warn("recall", key, error)
        return None


def release(key: str) -> None:
    try:
        cache.delete(PREFIX + key)
    except Exception as error:
        _warn("release", key, error)
