"""The community and street dashboards: a period's figures, charts and tables."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from common import replica
from common.periods import period_form
from issues import permissions as issue_permissions
from members import queries as member_queries
from reports import dashboard, period_reports, permissions
from reports.forms import ReportRequestForm
from visits import permissions as visit_permissions
from volunteers import figures as volunteer_figures

SORT_COLUMNS = [
    ("name", _("Community")),
    ("collected", _("Collected")),
    ("resolved", _("Resolved")),
    ("open", _("Still open")),
    ("overdue", _("Overdue")),
    ("median", _("Median days")),
    ("reviewed", _("Reviewed")),
    ("satisfied", _("Satisfied")),
    ("meetings", _("Meetings held")),
]


@login_required
@require_GET
def community_dashboard(request: HttpRequest, community_id: int) -> HttpResponse:
    community = member_queries.community_for(request.user, community_id)
    permissions.require_see_community_dashboard(request.user, community)
    form = period_form(request.GET)
    figures = volunteering = None
    snapshot = replica.PRIMARY
    if form.is_valid():
        links = dashboard.InboxLinks(
            form.result,
            community=community.pk,
            enabled=issue_permissions.may_use_inbox(request.user),
        )
        (figures, volunteering), snapshot = replica.read_on_replica(
            _community_figures, community, form.result, links
        )
    return _render(
        request,
        "reports/dashboard.html",
        {
            "community": community,
            "form": form,
            "dashboard": figures,
            "volunteering": volunteering,
            "as_of": snapshot.as_of,
            "reports": period_reports.reports_of(request.user, community=community),
        },
    )


@login_required
@require_GET
def street_dashboard(request: HttpRequest, street_id: int) -> HttpResponse:
    street = member_queries.street_for(request.user, street_id)
    form = period_form(request.GET)
    figures, volunteering, sort = None, None, "name"
    snapshot = replica.PRIMARY
    if form.is_valid():
        communities = list(
            member_queries.communities_visible_to(request.user)
            .filter(street=street)
            .order_by("name", "pk")
        )
        links = dashboard.InboxLinks(form.result, street=street.pk)
        (figures, volunteering), snapshot = replica.read_on_replica(
            _street_figures, communities, form.result, links, street
        )
        for row in figures.communities:
            row.url = dashboard.InboxLinks(form.result, community=row.community.pk).collected()
        figures.communities, sort = dashboard.sorted_rows(
            figures.communities, request.GET.get("sort", "name")
        )
    return _render(
        request,
        "reports/street_dashboard.html",
        {
            "street": street,
            "form": form,
            "dashboard": figures,
            "volunteering": volunteering,
            "as_of": snapshot.as_of,
            "sort": sort,
            "sort_columns": SORT_COLUMNS,
            "reports": period_reports.reports_of(request.user, street=street),
            "team_exports": visit_permissions.may_manage_teams(request.user, street),
        },
    )


def _community_figures(community, period, links):
    """The figures of one community's dashboard: heavy reads, made on the replica."""
    figures = dashboard.dashboard([community], period, links=links, with_attendance=True)
    return figures, volunteer_figures.figures_of([community.pk], period)


def _street_figures(communities, period, links, street):
    """The figures of a street's dashboard: heavy reads, made on the replica."""
    figures = dashboard.dashboard(communities, period, links=links, street=street)
    return figures, volunteer_figures.figures_of([c.pk for c in communities], period)


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    form = context["form"]
    query = form.result.query() if form.is_valid() else {}
    context |= {
        "period_query": query,
        "today": timezone.localdate(),
        "report_form": ReportRequestForm(today=timezone.localdate()),
    }
    if request.htmx and request.htmx.target == "figures":
        template += "#figures"
    return render(request, template, context)
