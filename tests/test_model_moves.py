"""Models that moved between apps keep their tables, rows and files.

``Council`` moved from deliberation to members and ``PeriodReport`` from issues to reports
with ``SeparateDatabaseAndState``: the tables keep their names and nothing is copied. This
test builds a database at the migration heads from before the moves, fills it through the
historical models, migrates to today's heads and reads everything back through today's
models. It runs on whichever database the suite runs on (PostgreSQL in CI, SQLite here).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE_THE_MOVES = [
    ("members", "0004_community_transparency"),
    ("issues", "0010_department_month"),
    ("deliberation", "0007_review_decisions"),
    ("reports", None),
]
PDF = b"%PDF-1.7\n% a period report\n"


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            if table == "django_migrations" or table.startswith("sqlite_"):
                # The one table the migrations write to, and SQLite's own planner statistics.
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _fill(apps) -> dict[str, int]:
    """A street, a community with its council, a member, a schedule, a meeting, a calendar
    feed and a period report with its PDF, written through the models of that time."""
    street = apps.get_model("members", "Street").objects.create(name="南恩街道")
    community = apps.get_model("members", "Community").objects.create(
        name="马南社区", street=street
    )
    council = apps.get_model("deliberation", "Council").objects.create(
        community=community, name="马南社区居民议事会", review_after_days=9,
        quorum_ratio=Decimal("0.60"),
    )  # fmt: skip
    resident = apps.get_model("members", "Resident").objects.create(
        community=community, name="李秀英"
    )
    member = apps.get_model("members", "CouncilMember").objects.create(
        council=council, resident=resident, category="retired_cadre", joined_on=dt.date(2026, 1, 8)
    )
    schedule = apps.get_model("deliberation", "Schedule").objects.create(council=council)
    meeting = apps.get_model("deliberation", "Meeting").objects.create(
        council=council,
        schedule=schedule,
        starts_at=dt.datetime(2026, 11, 18, 1, 30, tzinfo=dt.UTC),
        place="议事点",
        notice_due_at=dt.datetime(2026, 11, 15, 1, 30, tzinfo=dt.UTC),
    )
    feed = apps.get_model("deliberation", "CalendarFeed").objects.create(
        council=council, token="t" * 43
    )
    user = apps.get_model("members", "User").objects.create(username="manan_staff")
    name = default_storage.save("reports/2026/manan-q3.pdf", ContentFile(PDF))
    report = apps.get_model("issues", "PeriodReport").objects.create(
        community=community, scope_key=f"community:{community.pk}", kind="quarter",
        since=dt.date(2026, 7, 1), until=dt.date(2026, 9, 30), language="zh-hans",
        state="done", file=name, size=len(PDF), requested_by=user,
    )  # fmt: skip
    return {
        "council": council.pk,
        "member": member.pk,
        "schedule": schedule.pk,
        "meeting": meeting.pk,
        "feed": feed.pk,
        "report": report.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_moved_models_keep_every_row_and_file(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    executor = _migrate(BEFORE_THE_MOVES)
    heads = [target for target in BEFORE_THE_MOVES if target[1] is not None]
    ids = _fill(executor.loader.project_state(heads).apps)
    before = _row_counts()
    assert "deliberation_council" in before and "issues_periodreport" in before

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    after = _row_counts()
    assert {table: after.get(table) for table in before} == before  # none lost or emptied
    # Tables that later migrations add (models new since the moves) start empty.
    assert {table: after[table] for table in after.keys() - before.keys() if after[table]} == {}
    from deliberation.models import CalendarFeed, Meeting, Schedule
    from members.models import Council, CouncilMember
    from reports.models import PeriodReport

    council = Council.objects.get(pk=ids["council"])
    assert (council.name, council.review_after_days, council.quorum_ratio) == (
        "马南社区居民议事会",
        9,
        Decimal("0.60"),
    )
    assert council.community.name == "马南社区"
    assert CouncilMember.objects.get(pk=ids["member"]).council == council
    assert Schedule.objects.get(pk=ids["schedule"]).council == council
    assert Meeting.objects.get(pk=ids["meeting"]).council == council
    assert CalendarFeed.objects.get(pk=ids["feed"]).council == council
    assert list(council.meetings.values_list("pk", flat=True)) == [ids["meeting"]]

    report = PeriodReport.objects.get(pk=ids["report"])
    assert (report.community, report.state, report.size) == (council.community, "done", len(PDF))
    with report.file.open("rb") as pdf:
        assert pdf.read() == PDF

    # The content types follow the models, so permissions given on them still apply.
    from django.contrib.contenttypes.models import ContentType

    assert ContentType.objects.get_for_model(Council).app_label == "members"
    assert ContentType.objects.get_for_model(PeriodReport).app_label == "reports"
