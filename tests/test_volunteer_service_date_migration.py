"""Ledger rows written before the day of the service was recorded get it from what they
came from: a credit its activity's day, any other row the day it was written, both in the
project's time zone (Asia/Shanghai), on PostgreSQL past the append-only trigger."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("volunteers", "0003_join_requests")]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.django_db(transaction=True)
def test_old_rows_get_the_day_of_their_service():
    executor = _migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    model = apps.get_model
    for name in ("Activity", "HoursEntry", "Exchange"):
        model("volunteers", name)._meta.get_field("created").auto_now_add = False
    street = model("members", "Street").objects.create(name="南恩街道")
    community = model("members", "Community").objects.create(name="马南社区", street=street)
    staff = model("members", "User").objects.create(username="staff")
    resident = model("members", "Resident").objects.create(community=community, name="李秀英")
    volunteer = model("volunteers", "Volunteer").objects.create(resident=resident)
    team = model("volunteers", "Team").objects.create(community=community, name="萤火虫")
    # 07:00 on New Year's Day in Shanghai is still 31 December in UTC.
    activity = model("volunteers", "Activity").objects.create(
        team=team, title="巡逻", place="东门", starts_at=at(2026, 1, 1, 7),
        ends_at=at(2026, 1, 1, 9), created_by=staff, created=at(2025, 12, 20, 9),
    )  # fmt: skip
    attendance = model("volunteers", "Attendance").objects.create(
        activity=activity, volunteer=volunteer, signed_in_at=at(2026, 1, 1, 7),
        signed_out_at=at(2026, 1, 1, 9), credited_minutes=120, confirmed_by=staff,
        confirmed_at=at(2026, 1, 3, 10),
    )  # fmt: skip
    rule = model("volunteers", "ExchangeRule").objects.create(
        community=community, minutes=40, gives="课程"
    )
    exchange = model("volunteers", "Exchange").objects.create(
        volunteer=volunteer, rule=rule, minutes=40, gives="课程", approved_by=staff,
        created=at(2026, 1, 5, 0, 30),
    )  # fmt: skip
    entries = model("volunteers", "HoursEntry").objects
    credit = entries.create(volunteer=volunteer, kind="credit", minutes=120,
                            attendance=attendance, recorded_by=staff,
                            created=at(2026, 1, 3, 10))  # fmt: skip
    debit = entries.create(volunteer=volunteer, kind="debit", minutes=-40, exchange=exchange,
                           recorded_by=staff, created=at(2026, 1, 5, 0, 30))  # fmt: skip
    correction = entries.create(volunteer=volunteer, kind="correction", minutes=5,
                                recorded_by=staff, note="补记",
                                created=at(2025, 12, 31, 23, 59))  # fmt: skip

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from volunteers.models import HoursEntry

    days = dict(HoursEntry.objects.values_list("pk", "served_on"))
    assert days == {
        credit.pk: dt.date(2026, 1, 1),  # the activity's day, not the day it was confirmed
        debit.pk: dt.date(2026, 1, 5),  # 16:30 UTC on the 4th
        correction.pk: dt.date(2025, 12, 31),
    }
