"""Large inbox exports: built by a worker into storage, never cut by a request's timeout.

Above ``YISHI_EXPORT_INLINE_ROWS`` rows the click writes a job and sends the reader to its
page; a worker writes the file (as the person who asked), which only that person
downloads until it expires. Every CSV ends with a line giving its row count, and the
export log says whether a file went out whole. Most tests run the task in this process;
the ``worker`` ones start real Celery workers (``tests.processes``) on the test database.

New strings are compared with what the catalogue says for them (``zh``), so the tests
hold before and after they are translated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from common import downloads
from issues import exports
from issues.actions import exports as export_jobs
from issues.models import Issue
from members.models import ExportRecord, Notice, Role
from tests import factories
from tests.processes import finished

S = ExportRecord.Status
CSV_URL = reverse("issues:export_csv")
XLSX_URL = reverse("issues:export_xlsx")
BUILD = "issues.tasks.build_inbox_export"
PHONE = "13812345678"
MASKED = "138****5678"


def zh(text) -> str:
    with translation.override("zh-hans"):
        return gettext(text)


def job_url(job: ExportRecord) -> str:
    return reverse("issues:export_job", args=[job.pk])


def download_url(job: ExportRecord) -> str:
    return reverse("issues:export_download", args=[job.pk])


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def threshold(settings) -> int:
    settings.YISHI_EXPORT_INLINE_ROWS = 5
    return 5


def issues_in(community, count: int, *, reporter=None, prefix: str = "批量") -> None:
    """``count`` matters in ``community``, written in one statement."""
    start = Issue.objects.count()
    category = factories.category(community.street)
    Issue.objects.bulk_create(
        Issue(
            community=community, title=f"{prefix}{start + i}", category=category,
            channel="patrol", reporter=reporter, tracking_code=f"L{start + i:07d}",
        )
        for i in range(count)
    )  # fmt: skip


def csv_of(data: bytes) -> tuple[list[list[str]], list[str]]:
    """(header and rows, the last line) of a CSV file as the export writes it."""
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    *rows, last = list(csv.reader(io.StringIO(text[1:])))
    return rows, last


def column(rows, header: str) -> list:
    with translation.override("en"):
        index = exports.headers().index(header)
    return [row[index] for row in rows[1:]]


# --- Above the threshold: a job, not a stream ----------------------------------------------


def test_an_export_above_the_threshold_is_a_job_and_streams_nothing(
    manan, manan_staff, as_user, threshold, media, django_capture_on_commit_callbacks
):
    issues_in(manan, threshold + 1)
    client = as_user(manan_staff)
    with django_capture_on_commit_callbacks() as sent:
        response = client.get(CSV_URL, {"status": "submitted"})

    job = ExportRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert not getattr(response, "streaming", False)
    assert (job.status, job.kind, job.format, job.actor) == (S.QUEUED, "inbox", "csv", manan_staff)
    assert job.filters == {"status": "submitted"} and job.rows is None
    assert len(sent) == 1  # the worker is told after the commit, once

    page = client.get(response["Location"])
    text = page.content.decode()
    assert (
        zh(
            "A large export: it is being prepared. You may leave this page; "
            "we will send you a notice when the file is ready."
        )
        in text
    )
    assert f'hx-get="{job_url(job)}"' in text and 'hx-trigger="every 2s"' in text
    assert client.get(download_url(job)).status_code == 404  # nothing to download yet

    # Clicking again while it is prepared gives the same job, not a second one.
    with django_capture_on_commit_callbacks() as again:
        assert client.get(CSV_URL, {"status": "submitted"})["Location"] == job_url(job)
    assert ExportRecord.objects.count() == 1 and not again


def test_at_the_threshold_the_file_is_streamed_whole_with_its_count(
    manan, manan_staff, as_user, threshold
):
    issues_in(manan, threshold)
    response = as_user(manan_staff).get(CSV_URL)
    assert response.streaming
    rows, last = csv_of(b"".join(response.streaming_content))
    assert len(rows) == threshold + 1
    with translation.override("zh-hans"):
        assert last == [downloads.end_marker(threshold)]
    assert last == [zh("# end of export: %(rows)s rows, complete") % {"rows": threshold}]
    record = ExportRecord.objects.get()
    assert (record.status, record.rows, record.rows_written) == (S.DONE, threshold, threshold)


def build_in_process(client, url: str, params=None, *, capture) -> ExportRecord:
    with capture(execute=True):
        response = client.get(url, params or {})
    assert response.status_code == 302
    return ExportRecord.objects.order_by("-id").first()


def test_the_built_csv_holds_every_row_masked_its_count_and_its_end_line(
    manan, xingfu, manan_staff, as_user, threshold, file_store, django_capture_on_commit_callbacks
):
    caller = factories.resident(manan, "李阿姨", phone=PHONE)
    issues_in(manan, 7, reporter=caller)
    issues_in(xingfu, 3, prefix="别处")  # not the reader's: never in the file
    client = as_user(manan_staff)
    job = build_in_process(client, CSV_URL, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert (job.status, job.rows, job.rows_written, job.rows_expected) == (S.DONE, 7, 7, 7)
    assert job.file.name.startswith("exports/")
    assert job.expires_at - job.finished_at == dt.timedelta(days=7)

    response = client.get(download_url(job))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = unquote(response["Content-Disposition"])
    assert disposition.startswith('attachment; filename="issues-')
    counted = (zh("%(rows)s rows") % {"rows": 7}).replace(" ", "")
    assert disposition.endswith(f"-{counted}.csv") and f"''{zh('Issues')}-" in disposition
    rows, last = csv_of(b"".join(response.streaming_content))
    assert len(rows) == 8
    assert last == [zh("# end of export: %(rows)s rows, complete") % {"rows": 7}]
    assert set(column(rows, "Reporter's phone")) == {MASKED}
    assert set(column(rows, "Community")) == {"马南社区"}
    # The inbox's order, newest first, as the streamed file has it.
    listed = list(
        Issue.objects.filter(community=manan).order_by("-created", "-id")
        .values_list("tracking_code", flat=True)
    )  # fmt: skip
    assert column(rows, "Tracking code") == listed

    # The person who asked is told, and the notice opens the job's page.
    notice = Notice.objects.get(kind="export_ready", recipient=manan_staff, channel="inapp")
    assert notice.context == {"export_id": job.pk, "rows": 7}
    assert client.get(f"/n/{notice.pk}/")["Location"] == job_url(job)
    page = client.get(job_url(job)).content.decode()
    assert f'href="{download_url(job)}"' in page and "every 2s" not in page
    assert job.file.name not in page  # the file is reached through the scoped view only


def test_the_built_xlsx_holds_full_numbers_only_when_asked_and_allowed(
    manan, manan_staff, as_user, threshold, media, django_capture_on_commit_callbacks
):
    caller = factories.resident(manan, "李阿姨", phone=PHONE)
    issues_in(manan, 6, reporter=caller)
    client = as_user(manan_staff)
    job = build_in_process(
        client, XLSX_URL, {"phones": "full"}, capture=django_capture_on_commit_callbacks
    )
    job.refresh_from_db()
    assert (job.status, job.rows, job.full_phones) == (S.DONE, 6, True)
    response = client.get(download_url(job))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    counted = (zh("%(rows)s rows") % {"rows": 6}).replace(" ", "")
    assert unquote(response["Content-Disposition"]).endswith(f"-{counted}.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 7
    assert set(column(rows, "Reporter's phone")) == {PHONE}


def test_building_a_done_job_again_does_nothing(
    manan, manan_staff, as_user, threshold, media, django_capture_on_commit_callbacks
):
    issues_in(manan, 6)
    job = build_in_process(
        as_user(manan_staff), CSV_URL, capture=django_capture_on_commit_callbacks
    )
    job.refresh_from_db()
    built = (job.file.name, job.size, job.finished_at)
    assert export_jobs.export_build(job.pk) is False
    job.refresh_from_db()
    assert (job.file.name, job.size, job.finished_at) == built
    assert len([p for p in Path(media).rglob("*") if p.is_file()]) == 1
    assert Notice.objects.filter(kind="export_ready", channel="inapp").count() == 1


def test_a_job_taken_back_from_a_worker_that_seemed_dead_is_stored_once(
    manan, manan_staff, threshold, media
):
    issues_in(manan, 6)
    job = ExportRecord.objects.create(
        actor=manan_staff, kind="inbox", format="csv", status=S.BUILDING, language="zh-hans",
        started_at=timezone.now() - dt.timedelta(hours=1),
        heartbeat=timezone.now() - dt.timedelta(hours=1), rows_written=3,
    )  # fmt: skip
    # The sweep sends it again; the next worker starts the file from scratch.
    assert export_jobs.exports_sweep() == 1
    job.refresh_from_db()
    assert (job.status, job.rows, job.rows_written) == (S.DONE, 6, 6)
    rows, _last = csv_of(default_storage.open(job.file.name).read())
    assert len(rows) == 7 and len(set(column(rows, "Tracking code"))) == 6


def test_a_job_that_cannot_be_built_says_so(
    manan, manan_staff, as_user, threshold, media, monkeypatch, django_capture_on_commit_callbacks
):
    issues_in(manan, 6)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "inbox_rows", broken)
    client = as_user(manan_staff)
    job = build_in_process(client, CSV_URL, capture=django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.status, job.rows, job.error) == (S.FAILED, None, "disk full")
    assert zh("could not be prepared") in client.get(job_url(job)).content.decode()
    assert client.get(download_url(job)).status_code == 404


# --- Who sees a job ----------------------------------------------------------------------


@pytest.mark.outsider("issues:export_job", "issues:export_download")
def test_only_who_asked_sees_the_job_and_its_file(
    manan, manan_staff, xingfu_staff, nanen_admin, as_user, threshold, file_store,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    issues_in(manan, 6)
    job = build_in_process(
        as_user(manan_staff), CSV_URL, capture=django_capture_on_commit_callbacks
    )
    colleague = factories.user("manan_staff2")
    factories.role(colleague, Role.Kind.COMMUNITY_STAFF, community=manan)
    for other in (colleague, xingfu_staff, nanen_admin):
        client = as_user(other)
        for url in (job_url(job), download_url(job)):
            assert client.get(url).status_code == 404, (other, url)
            assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
        assert job_url(job) not in client.get(reverse("issues:my_exports")).content.decode()
    assert as_user(manan_staff).get(download_url(job)).status_code == 200


def test_the_job_pages_need_a_login(manan, manan_staff, client):
    job = ExportRecord.objects.create(actor=manan_staff, kind="inbox", format="csv", status="done")
    for url in (job_url(job), download_url(job), reverse("issues:my_exports")):
        assert client.get(url).status_code == 302


def test_a_streamed_export_has_no_job_page(manan, manan_staff, as_user):
    as_user(manan_staff).get(CSV_URL)
    record = ExportRecord.objects.get()
    assert as_user(manan_staff).get(job_url(record)).status_code == 404


def test_my_exports_and_the_job_page_in_a_fixed_number_of_queries(
    manan, manan_staff, as_user, django_assert_max_num_queries
):
    for status in (S.QUEUED, S.BUILDING, S.DONE, S.FAILED, S.EXPIRED) * 4:
        job = ExportRecord.objects.create(
            actor=manan_staff, kind="inbox", format="csv", status=status, rows_expected=9000,
            rows_written=3000, rows=9000 if status == S.DONE else None,
            expires_at=timezone.now() + dt.timedelta(days=7),
        )  # fmt: skip
    client = as_user(manan_staff)
    # session, user, roles (the navigation), unread notices, the jobs.
    with django_assert_max_num_queries(8):
        page = client.get(reverse("issues:my_exports"))
    assert page.status_code == 200 and page.content.decode().count("/issues/exports/") >= 20
    with django_assert_max_num_queries(8):
        assert client.get(job_url(job)).status_code == 200
    building = ExportRecord.objects.filter(status=S.BUILDING).first()
    # session, user, roles, the job (the partial has no navigation).
    with django_assert_max_num_queries(5):
        poll = client.get(job_url(building), HTTP_HX_REQUEST="true")
    assert "3000" in poll.content.decode() and "9000" in poll.content.decode()
    assert "<html" not in poll.content.decode()


# --- Expiry --------------------------------------------------------------------------------


def test_files_past_their_time_are_deleted_and_the_job_says_so(
    manan, manan_staff, as_user, threshold, file_store, django_capture_on_commit_callbacks
):
    issues_in(manan, 6)
    client = as_user(manan_staff)
    job = build_in_process(client, CSV_URL, capture=django_capture_on_commit_callbacks)
    job.refresh_from_db()
    name = job.file.name
    assert default_storage.exists(name)

    assert export_jobs.exports_expire(now=job.expires_at - dt.timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert export_jobs.exports_expire(now=job.expires_at) == 1
    assert not default_storage.exists(name)
    job.refresh_from_db()
    assert (job.status, job.file.name, job.rows) == (S.EXPIRED, "", 6)  # the log keeps rows
    assert client.get(download_url(job)).status_code == 404
    assert zh("This file was deleted after its time. Export again from the issue list.") in (
        client.get(job_url(job)).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert export_jobs.exports_expire(now=job.expires_at + dt.timedelta(days=1)) == 0


# --- A stream cut off half-way -------------------------------------------------------------


def test_a_stream_cut_off_is_logged_incomplete_not_with_a_count_as_if_whole(
    manan, manan_staff, as_user, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    issues_in(manan, 9)
    response = as_user(manan_staff).get(CSV_URL)
    content = iter(response.streaming_content)
    received = [next(content) for _ in range(4)]  # the header and three rows
    # The reader went away: the server closes the response (the test client's wrapper of the
    # stream does so when it is closed, keeping the test's database connection).
    response._iterator.close()

    record = ExportRecord.objects.get()
    assert (record.status, record.rows, record.rows_written) == (S.INCOMPLETE, None, 3)
    assert not any(b"# " in line for line in received)


def test_a_stream_whose_server_process_was_killed_is_swept_as_incomplete(manan_staff):
    record = ExportRecord.objects.create(actor=manan_staff, kind="inbox", format="csv")
    assert record.status == S.STREAMING
    export_jobs.exports_sweep(now=timezone.now() + dt.timedelta(minutes=30))
    record.refresh_from_db()
    assert record.status == S.STREAMING
    export_jobs.exports_sweep(now=timezone.now() + dt.timedelta(hours=2))
    record.refresh_from_db()
    assert (record.status, record.rows) == (S.INCOMPLETE, None)


# --- With real workers ---------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_file_the_reader_downloads(
    manan, manan_staff, as_user, threshold, media, celery_processes
):
    issues_in(manan, 40)
    client = as_user(manan_staff)
    response = client.get(CSV_URL)
    job = ExportRecord.objects.get()
    assert response["Location"] == job_url(job)

    worker = celery_processes.worker("worker", MEDIA_ROOT=str(media), YISHI_EXPORT_CHUNK_ROWS="7")
    celery_processes.wait_ready(worker)
    celery_processes.wait_for(
        lambda: ExportRecord.objects.filter(pk=job.pk, status=S.DONE).exists(),
        seconds=60,
        what="the export to be built",
    )
    job.refresh_from_db()
    assert (job.rows, job.rows_written, job.rows_expected) == (40, 40, 40)
    rows, last = csv_of(b"".join(client.get(download_url(job)).streaming_content))
    assert len(rows) == 41 and len(set(column(rows, "Tracking code"))) == 40
    assert last == [zh("# end of export: %(rows)s rows, complete") % {"rows": 40}]
    assert [name for name, _, result in finished(worker) if name == BUILD] == [BUILD]
    assert "Traceback" not in worker.text(), worker.text()[-5000:]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_killed_is_finished_by_the_sweep_without_doubled_rows(
    manan, manan_staff, as_user, threshold, media, celery_processes
):
    total = 4000
    issues_in(manan, total)
    # Small chunks: the worker reports progress often, and is caught half-way.
    env = {"MEDIA_ROOT": str(media), "YISHI_EXPORT_CHUNK_ROWS": "5"}
    doomed = celery_processes.worker("doomed", **env)
    celery_processes.wait_ready(doomed)
    as_user(manan_staff).get(CSV_URL)
    job = ExportRecord.objects.get()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        written = ExportRecord.objects.filter(pk=job.pk).values_list("rows_written", flat=True)[0]
        if written >= 50:
            break
        time.sleep(0.01)
    doomed.kill()
    job.refresh_from_db()
    assert job.status == S.BUILDING, celery_processes.logs()
    assert 50 <= job.rows_written < total
    assert not job.file and not [p for p in Path(media).rglob("*") if p.is_file()]

    # Its heartbeat stops; once it is old enough, the sweep (which beat runs) sends the
    # job again and a new worker writes the file from its start.
    ExportRecord.objects.filter(pk=job.pk).update(heartbeat=timezone.now() - dt.timedelta(hours=1))
    survivor = celery_processes.worker("survivor", **env)
    celery_processes.wait_ready(survivor)
    assert export_jobs.exports_sweep() == 1
    celery_processes.wait_for(
        lambda: ExportRecord.objects.filter(pk=job.pk, status=S.DONE).exists(),
        seconds=120,
        what="the export to be finished by the survivor",
    )
    job.refresh_from_db()
    assert (job.rows, job.rows_written) == (total, total)
    rows, last = csv_of(default_storage.open(job.file.name).read())
    codes = column(rows, "Tracking code")
    assert len(codes) == total and len(set(codes)) == total
    assert last == [zh("# end of export: %(rows)s rows, complete") % {"rows": total}]
    assert len([p for p in Path(media).rglob("*") if p.is_file()]) == 1
    assert Notice.objects.filter(kind="export_ready", channel="inapp").count() == 1
