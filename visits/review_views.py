"""The quarter's review of a street's visiting teams (its page, its PDF for the quarterly
meeting, the street's thresholds) and the year's figures (page and export).

Street admins only: anyone else who cannot see the street gets 404, someone who sees it
without administering it 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from common import downloads, flows
from common.pdf import pdf_from_html
from members import downloads as member_downloads
from members import queries as members_queries
from members.models import Street
from visits import figures, permissions
from visits.actions import review as review_actions
from visits.review_forms import PeriodForm, ThresholdsForm


def _street(request: HttpRequest, street_id: int) -> Street:
    street = members_queries.street_for(request.user, street_id)
    permissions.require_manage_teams(request.user, street)
    return street


def _review_context(request: HttpRequest, street: Street) -> dict[str, Any]:
    today = timezone.localdate()
    form = PeriodForm(request.GET or None, today=today)
    year, quarter = form.period()
    span = figures.Span(year, quarter)
    thresholds = figures.thresholds_of(street)
    rows = figures.team_figures(street, span, today=today, thresholds=thresholds)
    return {
        "street": street,
        "form": form,
        "span": span,
        "thresholds": thresholds,
        "rows": rows,
        "flagged": [row for row in rows if row.flagged],
    }


@login_required
@require_GET
def review(request: HttpRequest, street_id: int) -> HttpResponse:
    """Each team's quarter: households visited of the target, concerns raised and
    resolved, median days, satisfied share, overdue; teams below the bar flagged, and the
    items for the quarterly meeting."""
    street = _street(request, street_id)
    return render(request, "visits/review.html", _review_context(request, street))


@login_required
@require_GET
def review_pdf(request: HttpRequest, street_id: int) -> HttpResponse:
    """The same review as a PDF for the quarterly meeting (set like the period reports)."""
    street = _street(request, street_id)
    context = _review_context(request, street)
    context.update(lang=translation.get_language(), printed=timezone.localtime())
    pdf = pdf_from_html(render_to_string("visits/review_pdf.html", context, request=request))
    span = context["span"]
    ascii_name = f"team-review-{span.year}-q{span.quarter}.pdf"
    name = _("%(street)s visiting teams %(year)s Q%(quarter)s.pdf") % {
        "street": street.name,
        "year": span.year,
        "quarter": span.quarter,
    }
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = downloads.content_disposition(ascii_name, name)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def review_thresholds(request: HttpRequest, street_id: int) -> HttpResponse:
    """The shares below which the review flags a team."""
    street = _street(request, street_id)
    form = ThresholdsForm(request.POST or None, instance=figures.thresholds_of(street))
    return flows.form_response(
        request,
        form,
        lambda data: review_actions.thresholds_set(
            actor=request.user,
            street=street,
            visited_percent=data["visited_percent"],
            satisfied_percent=data["satisfied_percent"],
        ),
        done=_("The review's thresholds were saved."),
        to=reverse("visits:review", args=[street.pk]),
        template="visits/review_thresholds.html",
        context={"street": street},
    )


def _year(request: HttpRequest) -> tuple[int, PeriodForm]:
    today = timezone.localdate()
    form = PeriodForm(request.GET or None, today=today)
    return form.period()[0], form


@login_required
@require_GET
def review_year(request: HttpRequest, street_id: int) -> HttpResponse:
    """Each team's satisfaction and visit figures over the year's four quarters."""
    street = _street(request, street_id)
    year, form = _year(request)
    rows = figures.year_figures(street, year, today=timezone.localdate())
    return render(
        request,
        "visits/review_year.html",
        {"street": street, "year": year, "form": form, "rows": rows, "quarters": (1, 2, 3, 4)},
    )


def year_header() -> list[str]:
    return [
        _("Team"),
        _("Team leader"),
        _("Period"),
        _("Households to visit"),
        _("Households visited"),
        _("Visited share (%)"),
        _("Concerns raised"),
        _("Resolved"),
        _("Median days to resolution"),
        _("Ratings"),
        _("Satisfied ratings"),
        _("Satisfied share (%)"),
        _("Households overdue"),
    ]


def year_rows(rows: list[figures.YearRow], year: int):
    """A row per team and quarter, then the team's whole year."""
    for row in rows:
        periods = [(f"{year} Q{q}", f) for q, f in zip((1, 2, 3, 4), row.quarters, strict=True)]
        periods.append((str(year), row.year))
        for label, f in periods:
            yield [
                row.team.name,
                str(row.team.leader),
                label,
                f.target,
                f.visited,
                f.visited_share.percent,
                f.raised,
                f.resolved,
                f.median_days,
                f.rated,
                f.satisfied,
                f.satisfied_share.percent,
                f.overdue_left,
            ]


def _year_export(request: HttpRequest, street_id: int, format: str) -> HttpResponseBase:
    street = _street(request, street_id)
    year, _form = _year(request)
    rows = figures.year_figures(street, year, today=timezone.localdate())
    return member_downloads.export_download(
        actor=request.user,
        kind="visit_teams_year",
        format=format,
        filters={"street": street.pk, "year": year},
        name=(f"visit-teams-{year}", _("Visiting teams %(year)s") % {"year": year}),
        sheets=[member_downloads.Sheet(_("Visiting teams"), year_header, year_rows(rows, year))],
    )


@login_required
@require_GET
def review_year_csv(request: HttpRequest, street_id: int) -> HttpResponseBase:
    return _year_export(request, street_id, "csv")


@login_required
@require_GET
def review_year_xlsx(request: HttpRequest, street_id: int) -> HttpResponseBase:
    return _year_export(request, street_id, "xlsx")
