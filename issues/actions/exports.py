"""Large inbox exports, built by a worker into storage rather than streamed in a request.

A request would be cut by the server's timeout half-way through a large file, and the
reader would get a truncated file that looks whole. So an export of more rows than
``YISHI_EXPORT_INLINE_ROWS`` is a job: the click writes an ``ExportRecord`` (queued) and,
after the commit, hands its id to a worker. The worker claims the row (queued → building
by a conditional UPDATE, so a redelivered message builds nothing twice), reads the rows
through ``queries.inbox`` as the person who asked (their scope, their phone-number
rights), writes the file to a temporary file, counting rows and saying it is alive after
each chunk, then stores it under a private path (``exports/<random>/``) and marks the job
done with its row count. The person who asked is notified (``export_ready``) and
downloads it from the job's page until it expires.

The row is the record of the work: a job whose message was lost stays queued and a job
whose worker died stops its heartbeat; the sweeper hands both to a worker again, which
starts the file from scratch (the half-written temporary file died with the worker).
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common import downloads, replica
from common.queue import task_named
from issues import exports, permissions, queries
from members import notifications
from members.models import ExportRecord, User

log = logging.getLogger(__name__)

S = ExportRecord.Status
KIND = "inbox"
RESEND_AFTER = dt.timedelta(minutes=2)
# A stream still "being sent" after this long was cut without a word (its server process
# was killed): the log says incomplete.
STREAM_ABANDONED_AFTER = dt.timedelta(hours=1)
BUILD_TASK = "issues.tasks.build_inbox_export"


class Superseded(Exception):
    """The job was taken back from this worker (it looked dead): the other one finishes it."""


def inline_limit() -> int:
    return settings.YISHI_EXPORT_INLINE_ROWS


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.YISHI_EXPORT_STALE_SECONDS)


def export_request(
    *, actor: User, format: str, filters: queries.InboxFilters, full_phones: bool
) -> tuple[ExportRecord, bool]:
    """The job for this export: a new one queued for a worker, or the same person's job
    for the same file still waiting or being prepared. (job, is new)."""
    record = exports.filters_record(filters)
    with transaction.atomic():
        busy = ExportRecord.objects.select_for_update().filter(
            actor=actor, kind=KIND, format=format, full_phones=full_phones,
            status__in=ExportRecord.BUSY_STATES,
        )  # fmt: skip
        for job in busy:
            if job.filters == record:
                return job, False
        job = ExportRecord.objects.create(
            actor=actor, kind=KIND, format=format, filters=record, full_phones=full_phones,
            status=S.QUEUED, language=translation.get_language() or settings.LANGUAGE_CODE,
        )  # fmt: skip
        transaction.on_commit(lambda: _send(job.pk))
    return job, True


def _send(job_id: int) -> None:
    """Hand a job to the broker; if the broker is down, the sweeper sends it later."""
    try:
        task_named(BUILD_TASK).delay(job_id)
    except Exception:
        log.warning("could not enqueue export %s; the sweeper will", job_id, exc_info=True)


def export_build(job_id: int, *, now: dt.datetime | None = None) -> bool:
    """Build one job's file if it is still to be built; True if this call built it."""
    now = now or timezone.now()
    claimed = (
        ExportRecord.objects.filter(pk=job_id, kind=KIND)
        .filter(Q(status=S.QUEUED) | Q(status=S.BUILDING, heartbeat__lt=now - stale_after()))
        .update(status=S.BUILDING, started_at=now, heartbeat=now, rows_written=0, error="")
    )
    if not claimed:
        return False
    job = ExportRecord.objects.select_related("actor").get(pk=job_id)
    try:
        with translation.override(job.language or settings.LANGUAGE_CODE):
            # The rows are heavy reads: from the replica when there is one (the heartbeats are
            # writes and still go to the primary).
            output, rows = replica.on_replica(_write)(job, now)
    except Superseded:
        return False
    except Exception as error:  # a job that cannot be built says so on its page
        log.exception("export %s failed", job_id)
        ExportRecord.objects.filter(pk=job_id, status=S.BUILDING, started_at=now).update(
            status=S.FAILED, error=str(error)[:500], finished_at=timezone.now()
        )
        return False
    try:
        return _store(job_id, now, output, rows)
    finally:
        output.close()


def _write(job: ExportRecord, claimed_at: dt.datetime) -> tuple[Any, int]:
    """The whole file in a temporary file (at its start) and its row count."""
    user = job.actor
    filters = exports.filters_from_record(job.filters)
    full = job.full_phones and permissions.may_export_full_phones(user, filters.community)
    expected = queries.inbox(user, filters).order_by().count()
    _beat(job.pk, claimed_at, rows_expected=expected)
    chunk = settings.YISHI_EXPORT_CHUNK_ROWS
    rows = _counted(
        exports.inbox_rows(user, filters, full_phones=full, chunk_size=chunk),
        job.pk, claimed_at, every=chunk,
    )  # fmt: skip
    if job.format == ExportRecord.Format.XLSX:
        output, counts = downloads.xlsx_sheets([(_("Issues"), exports.headers(), rows)])
        return output, counts[0]
    output = tempfile.TemporaryFile()  # noqa: SIM115 (returned open)
    total: list[int] = []
    for line in downloads.csv_lines(rows, on_done=total.append, header=exports.headers):
        output.write(line.encode("utf-8"))
    output.seek(0)
    return output, total[0]


def _counted(
    rows: Iterable[list[Any]], job_id: int, claimed_at: dt.datetime, *, every: int
) -> Iterator[list[Any]]:
    for count, row in enumerate(rows, start=1):
        yield row
        if count % every == 0:
            _beat(job_id, claimed_at, rows_written=count)


def _beat(job_id: int, claimed_at: dt.datetime, **progress: int) -> None:
    """Progress, and a sign of life; Superseded when the job is no longer this worker's."""
    alive = ExportRecord.objects.filter(pk=job_id, status=S.BUILDING, started_at=claimed_at).update(
        heartbeat=timezone.now(), **progress
    )
    if not alive:
        raise Superseded


def _store(job_id: int, claimed_at: dt.datetime, output: Any, rows: int) -> bool:
    with transaction.atomic():
        job = ExportRecord.objects.select_for_update().get(pk=job_id)
        if job.status != S.BUILDING or job.started_at != claimed_at:
            return False  # taken back from this worker as stale: the other one stores it
        finished = timezone.now()
        job.rows = job.rows_written = rows
        job.finished_at = finished
        ascii_name, _full = filename_for(job)
        path = f"exports/{uuid.uuid4().hex}/{ascii_name}"
        job.file.save(path, File(output, name=ascii_name), save=False)
        job.size = job.file.size
        job.status = S.DONE
        job.expires_at = finished + dt.timedelta(days=settings.YISHI_EXPORT_KEEP_DAYS)
        job.save(
            update_fields=[
                "file", "size", "status", "rows", "rows_written", "finished_at", "expires_at",
            ]
        )  # fmt: skip
        notifications.notify(
            job.actor, "export_ready", {"export_id": job.pk, "rows": rows},
            key=f"export_ready:{job.pk}",
        )  # fmt: skip
    return True


def filename_for(job: ExportRecord) -> tuple[str, str]:
    """(ASCII name, full UTF-8 name) of a built file: when it was built and its rows,
    e.g. ``问题-2026-12-07-0341-1000000行.csv``."""
    stamp = timezone.localtime(job.finished_at or timezone.now()).strftime("%Y-%m-%d-%H%M")
    rows = job.rows or 0
    with translation.override(job.language or settings.LANGUAGE_CODE):
        stem = _("Issues")
        counted = _("%(rows)s rows") % {"rows": rows}
    full = f"{stem}-{stamp}-{counted}.{job.format}".replace(" ", "")
    return f"issues-{stamp}-{rows}rows.{job.format}", full


def exports_sweep(*, now: dt.datetime | None = None) -> int:
    """Hand waiting jobs to a worker again (queued a while, or building on a dead worker),
    and log streams abandoned without a word as incomplete. Returns the jobs sent."""
    now = now or timezone.now()
    ExportRecord.objects.filter(
        status=S.STREAMING, created__lt=now - STREAM_ABANDONED_AFTER
    ).update(status=S.INCOMPLETE, finished_at=now)
    due = (
        ExportRecord.objects.filter(kind=KIND)
        .filter(
            Q(status=S.QUEUED, created__lt=now - RESEND_AFTER)
            | Q(status=S.BUILDING, heartbeat__lt=now - stale_after())
        )
        .order_by("created", "id")
        .values_list("pk", flat=True)
    )
    ids = list(due[:100])
    for job_id in ids:
        _send(job_id)
    return len(ids)


def exports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files kept past their time and mark their jobs expired; returns how many."""
    now = now or timezone.now()
    expired = 0
    for job in ExportRecord.objects.filter(status=S.DONE, expires_at__lte=now).exclude(file=""):
        with transaction.atomic():
            claimed = ExportRecord.objects.filter(pk=job.pk, status=S.DONE).update(
                status=S.EXPIRED, file=""
            )
            if claimed:
                # Deleted after the row says so: a failure leaves a file nobody can reach
                # rather than a row that points at nothing.
                name = job.file.name
                transaction.on_commit(lambda name=name: default_storage.delete(name))
                expired += 1
    return expired
