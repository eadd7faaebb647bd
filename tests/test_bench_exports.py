"""``python -m bench.exports`` builds a large export as the worker does, on a tiny data set.

The build runs in a process of its own on the test database (``tests.processes.database_url``),
so the test data must be committed: ``transaction=True``. Nothing here asserts a time.
"""

from __future__ import annotations

import pytest

from bench import exports as bench_exports
from members.models import ExportRecord
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)


def quiet(_: str) -> None:
    pass


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_the_worker_build_is_timed_and_the_file_is_whole(format):
    printed: list[str] = []
    build = bench_exports.run(
        rows=60, communities=2, format=format, chunk=7, database_url=database_url(),
        out=printed.append,
    )  # fmt: skip

    assert build.status == "done" and build.complete
    assert build.rows == build.expected == build.visible == 60
    if format == "csv":
        assert build.lines == 62 and " 60 " in build.end_line
    # The claim, a progress update every 7 rows, the row count at the end: no more.
    assert build.progress_updates == 1 + 60 // 7 + 1
    assert build.bytes > 0 and build.seconds > 0 and build.peak_rss_mb > 0
    text = printed[-1]
    assert "rows/s" in text and "ru_maxrss" in text and "complete          yes" in text
    # The bench leaves no job and no file behind.
    assert not ExportRecord.objects.exists()


def test_the_command_line():
    args = bench_exports.parse(["--rows", "500", "--format", "xlsx"])
    assert (args.rows, args.format, args.build_child) == (500, "xlsx", False)
    assert bench_exports.parse([]).rows == 100_000
