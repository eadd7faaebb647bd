"""The app's PostgreSQL sessions plan without parallel helpers unless told otherwise: the
web's requests are many and short, and a parallel plan's helpers take the cores the other
requests wait for."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_the_apps_sessions_ask_for_no_parallel_helpers():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
