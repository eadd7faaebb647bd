"""``python -m bench.exports``: a large inbox export built by the worker, timed.

Makes the benchmark data set hold ``--rows`` issues (``bench.generate``, as ``python -m
bench`` does; the data already there is kept), then, in a fresh process (``python -m
bench.exports --build-child``), asks for the CSV (or XLSX) export of every issue of the
street as its admin, as a job (``ExportRecord``, queued), and runs the worker's build
(``issues.actions.exports.export_build``) in that process. Prints the rows written, rows
per second, the progress updates, the file's size and the process's peak resident memory
(the build reads keyset chunks and writes to a temporary file, so memory stays flat
however many rows), and checks the file: one line per row, and the end line last.

The file goes to a temporary media folder, deleted afterwards. Notices are counted on
commit instead of handed to a broker. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import say, setup_django

Out = Callable[[str], None]

ROOT = Path(__file__).resolve().parent.parent
ROWS = 100_000
COMMUNITIES = 16
EXPORT_USER = "admin"  # bench_admin: the street's admin sees every issue of the street


@dataclass
class Build:
    format: str
    rows: int  # rows the job recorded (ExportRecord.rows)
    expected: int  # rows the job expected (ExportRecord.rows_expected)
    visible: int  # issues the admin's inbox lists
    lines: int  # lines of the CSV file (header and end line included); 0 for XLSX
    end_line: str  # the CSV's last line
    bytes: int
    seconds: float
    progress_updates: int  # statements that updated the job's progress
    statements: int
    chunk_rows: int
    rss_before_mb: float
    peak_rss_mb: float
    status: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def complete(self) -> bool:
        whole = self.status == "done" and self.rows == self.expected == self.visible
        if self.format == "csv":
            return whole and self.lines == self.rows + 2 and f" {self.rows} " in self.end_line
        return whole


def _memory_mb(field_name: str) -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for text in status:
                if text.startswith(field_name + ":"):
                    return int(text.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def build_child(*, format: str, chunk: int | None) -> int:
    """Queue the export as the street admin, build it here, read the file; a JSON report."""
    import resource
    import tempfile

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import translation

    from bench.generate import USER_PREFIX
    from issues import exports, queries
    from issues.actions import exports as export_jobs
    from members import notifications
    from members.models import ExportRecord, User

    media = tempfile.TemporaryDirectory(prefix="yishi-bench-exports-")
    settings.MEDIA_ROOT = media.name
    if chunk:
        settings.YISHI_EXPORT_CHUNK_ROWS = chunk
    notices: list[int] = []

    def count_on_commit(notice_id: int) -> None:
        transaction.on_commit(lambda: notices.append(notice_id))

    notifications._enqueue_on_commit = count_on_commit  # no broker is touched

    user = User.objects.get(username=f"{USER_PREFIX}{EXPORT_USER}")
    filters = queries.InboxFilters()
    visible = queries.inbox(user, filters).count()
    with translation.override("zh-hans"):
        job = ExportRecord.objects.create(
            actor=user, kind="inbox", format=format, filters=exports.filters_record(filters),
            status=ExportRecord.Status.QUEUED, language="zh-hans",
        )  # fmt: skip
    statements = updates = 0
    table = connection.ops.quote_name(ExportRecord._meta.db_table)

    def count(execute, sql, params, many, context):
        nonlocal statements, updates
        statements += 1
        updates += sql.startswith(f"UPDATE {table}") and "rows_written" in sql
        return execute(sql, params, many, context)

    rss_before = _memory_mb("VmRSS")
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        built = export_jobs.export_build(job.pk)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    job.refresh_from_db()
    if not built:
        raise RuntimeError(f"export: the build did not complete ({job.status}: {job.error})")
    lines, end_line = 0, ""
    with job.file.open("rb") as stored:
        if format == "csv":
            for line in stored:
                lines += 1
                end_line = line
            end_line = end_line.decode("utf-8").strip()
    report = {
        "format": format, "rows": job.rows, "expected": job.rows_expected, "visible": visible,
        "lines": lines, "end_line": end_line, "bytes": job.size, "seconds": seconds,
        "progress_updates": updates, "statements": statements,
        "chunk_rows": settings.YISHI_EXPORT_CHUNK_ROWS, "rss_before_mb": rss_before,
        "peak_rss_mb": peak, "status": job.status,
    }  # fmt: skip
    job.file.delete(save=False)
    job.delete()
    media.cleanup()
    print(json.dumps(report), flush=True)
    return 0


def run_build(
    *, format: str = "csv", database_url: str | None = None, chunk: int | None = None,
    timeout: float = 3600,
) -> Build:  # fmt: skip
    """The build measured in a fresh ``python -m bench.exports --build-child``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    argv = [sys.executable, "-m", "bench.exports", "--build-child", "--format", format]
    if chunk:
        argv += ["--chunk", str(chunk)]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        raise RuntimeError(f"the build process exited with {done.returncode}:\n{done.stderr}")
    return Build(**json.loads(done.stdout.strip().splitlines()[-1]))


def report(build: Build) -> str:
    return "\n".join(
        [
            f"Worker build of the inbox export ({build.format.upper()}), every issue of the "
            "street as its admin",
            f"  rows              {build.rows:,} (expected {build.expected:,}, "
            f"the inbox lists {build.visible:,})",
            f"  complete          {'yes' if build.complete else 'NO'}"
            + (f"  (last line: {build.end_line})" if build.format == "csv" else ""),
            f"  time              {build.seconds:.2f} s",
            f"  rows/s            {build.rows_per_s:,.0f}",
            f"  file              {build.bytes / 1024 / 1024:.1f} MB",
            f"  progress updates  {build.progress_updates:,} (every {build.chunk_rows:,} rows)",
            f"  statements        {build.statements:,}",
            f"  memory            {build.rss_before_mb:.0f} MB before, "
            f"peak {build.peak_rss_mb:.0f} MB (ru_maxrss)",
        ]
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.exports",
        description="Time the worker's build of a large inbox export on the benchmark data.",
    )
    parser.add_argument("--rows", type=int, default=ROWS, help=f"issues (default {ROWS})")
    parser.add_argument("--communities", type=int, default=COMMUNITIES, help="communities (16)")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="csv (default)")
    parser.add_argument("--chunk", type=int, default=None, help="rows per progress update")
    parser.add_argument(
        "--force", action="store_true",
        help="write into a database that also holds other data",
    )  # fmt: skip
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate first")
    parser.add_argument("--build-child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(
    *, rows: int = ROWS, communities: int = COMMUNITIES, format: str = "csv",
    chunk: int | None = None, database_url: str | None = None, out: Out = say,
) -> Build:  # fmt: skip
    from bench import generate

    generate.generate(issues=rows, communities=communities, out=out)
    build = run_build(format=format, database_url=database_url, chunk=chunk)
    out(report(build))
    return build


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.build_child:
        return build_child(format=args.format, chunk=args.chunk)
    setup_django(migrate=not args.no_migrate)
    from bench import generate

    try:
        generate.check_database(force=args.force)
        build = run(
            rows=args.rows, communities=args.communities, format=args.format, chunk=args.chunk
        )
    except generate.BenchRefused as refusal:
        say(str(refusal))
        return 2
    return 0 if build.complete else 1


if __name__ == "__main__":
    sys.exit(main())
