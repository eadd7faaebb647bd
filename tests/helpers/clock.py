"""The suite's clock: moments in Asia/Shanghai, where the councils' days begin (16:00 UTC).

Every test runs on ``NOW`` (the ``clock`` fixture in conftest.py): a Wednesday in the
middle of a month and of a quarter, at ten in the morning, far from any midnight. Tests
that start real worker processes cannot take their clock along; ``until_the_day_has_room``
keeps those from running across midnight instead.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def until_the_day_has_room(needed: dt.timedelta) -> None:
    """Return once today in Shanghai (on the real clock) has ``needed`` left to run.

    Closer to midnight than that, wait for the new day: the processes a test starts read
    the real date, and the test must see the same one from start to end.
    """
    now = dt.datetime.now(SHANGHAI)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), SHANGHAI)
    if midnight - now < needed:
        time.sleep((midnight - now).total_seconds() + 1)
