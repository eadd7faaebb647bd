"""Period reports on the dashboards: ask for one, watch it being prepared, download it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common import files
from members import queries as member_queries
from reports import period_reports, permissions
from reports.forms import ReportRequestForm
from reports.models import PeriodReport


@login_required
@require_POST
def community_report_request(request: HttpRequest, community_id: int) -> HttpResponse:
    community = member_queries.community_for(request.user, community_id)
    permissions.require_request_community_report(request.user, community)
    return _request(request, community=community)


@login_required
@require_POST
def street_report_request(request: HttpRequest, street_id: int) -> HttpResponse:
    street = member_queries.street_for(request.user, street_id)
    return _request(request, street=street)


def _request(request: HttpRequest, *, community=None, street=None) -> HttpResponse:
    form = ReportRequestForm(request.POST, today=timezone.localdate())
    report, created = None, False
    if form.is_valid():
        report, created = period_reports.report_request(
            actor=request.user, kind=form.cleaned_data["kind"], period=form.period,
            community=community, street=street,
        )  # fmt: skip
    context = {
        "report_form": form if report is None else ReportRequestForm(today=timezone.localdate()),
        "reports": period_reports.reports_of(request.user, community=community, street=street),
        "report_community": community,
        "report_street": street,
        "just_asked": report,
        "already_running": report is not None and not created,
    }
    if request.htmx:
        return render(request, "reports/_period_reports.html", context)
    if report is None:
        messages.error(request, " ".join(form.errors.get("__all__", [])) or form.errors.as_text())
    elif not created:
        messages.info(
            request, _("This report is already being prepared: it is the one in the list.")
        )
    if community:
        return redirect("reports:community_dashboard", community_id=community.pk)
    return redirect("reports:street_dashboard", street_id=street.pk)


def _report(request: HttpRequest, pk: int) -> PeriodReport:
    report = period_reports.report_for(request.user, pk)
    if not permissions.may_download_report(request.user, report):
        raise Http404
    return report


@login_required
@require_GET
def report_status(request: HttpRequest, pk: int) -> HttpResponse:
    """One row of the list; while the report is being prepared, htmx asks again."""
    report = _report(request, pk)
    return render(request, "reports/_period_reports.html#row", {"report": report})


@login_required
@require_GET
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(request, pk)
    if report.state != PeriodReport.State.DONE or not report.file:
        raise Http404
    response = files.stored_file_response(
        report.file, content_type="application/pdf", what="period report"
    )
    response["Content-Disposition"] = period_reports.content_disposition(report)
    response["Cache-Control"] = "private, no-store"
    return response
