"""Large inbox exports a worker builds: their page, with progress, and their download.

Only the person who asked sees a job or downloads its file (``queries.export_job_for``):
anyone else gets 404, staff of the same community included.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common import downloads, files
from issues import permissions, queries
from issues.actions import exports as export_jobs
from members.models import ExportRecord

MY_EXPORTS = 20


@login_required
@require_GET
def my_exports(request: HttpRequest) -> HttpResponse:
    permissions.require_use_inbox(request.user)
    jobs = list(queries.export_jobs_of(request.user)[:MY_EXPORTS])
    return render(request, "issues/exports.html", {"jobs": jobs})


@login_required
@require_GET
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's state and progress; while it waits or is built, htmx asks again."""
    job = queries.export_job_for(request.user, pk)
    permissions.require_use_inbox(request.user)
    template = "issues/export_job.html"
    if request.htmx:
        template += "#job"
    return render(request, template, {"job": job})


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    job = queries.export_job_for(request.user, pk)
    permissions.require_use_inbox(request.user)
    if job.status != ExportRecord.Status.DONE or not job.file:
        raise Http404
    content_type = (
        downloads.XLSX_TYPE if job.format == ExportRecord.Format.XLSX else "text/csv; charset=utf-8"
    )
    response = files.stored_file_response(job.file, content_type=content_type, what="export")
    response["Content-Disposition"] = downloads.content_disposition(*export_jobs.filename_for(job))
    # Personal data: kept by no shared cache, and not by the browser's either.
    response["Cache-Control"] = "private, no-store"
    return response
