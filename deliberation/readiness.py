"""What the readiness view checks: the database, the cache and the Celery broker, each alone.

Each check answers "ok" or "down" and never raises, so that one stopped service does not
hide the state of the others.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

OK = "ok"
DOWN = "down"
# Seconds a check waits for a service before calling it down.
TIMEOUT_SECONDS = 2


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        logger.warning("readiness: database down: %s", type(error).__name__)
        return DOWN
    return OK


def check_cache() -> str:
    key = "yishi:health"
    value = secrets.token_hex(4)
    try:
        cache.set(key, value, timeout=10)
        if cache.get(key) != value:
            return DOWN
    except Exception as error:
        logger.warning("readiness: cache down: %s", type(error).__name__)
        return DOWN
    return OK


def check_broker() -> str:
    url = getattr(settings, "CELERY_BROKER_URL", "") or ""
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            client = redis.Redis.from_url(
                url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
            )
            try:
                client.ping()
            finally:
                client.close()
        elif url.startswith("filesystem://"):
            options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
            folder = options.get("data_folder_in")
            if folder and not Path(folder).is_dir():
                return DOWN
    except Exception as error:
        logger.warning("readiness: broker down: %s", type(error).__name__)
        return DOWN
    return OK


def check_all() -> dict[str, str]:
    """Each backing service by name, "ok" or "down"."""
    return {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
