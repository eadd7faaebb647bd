"""Quarterly and year-end reports of a community or a street, as PDF files.

Asking for a report writes a pending row and, after the commit, hands its id to a worker;
the worker claims the row (pending → running by a conditional UPDATE, so a redelivered
message builds nothing twice), computes the period's figures, draws the charts as SVG,
sets the whole in a CJK font with WeasyPrint and stores the file. The page polls the row
for progress. A sweeper re-sends pending rows whose message was lost and takes back rows
whose worker died while building (``STALE_AFTER``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common import downloads, replica
from common.pdf import pdf_from_html
from common.periods import Period
from common.queue import task_named
from issues.models import Issue
from members.models import Community, Street, User
from members.queries import communities_visible_to, scope_of
from reports import charts as report_charts
from reports import dashboard
from reports.models import PeriodReport
from visits import figures as visit_figures

log = logging.getLogger(__name__)

R = PeriodReport.State
STALE_AFTER = dt.timedelta(minutes=15)
RESEND_AFTER = dt.timedelta(minutes=2)
NOTABLE = 10
TEMPLATE = "reports/period_report_pdf.html"


class ReportRefused(ValueError):
    """The report cannot be asked for; the message says why."""


def report_period(kind: str, year: int, quarter: int | None, *, today: dt.date) -> Period:
    """The quarter or year asked for; a period that has not begun is refused."""
    if kind == PeriodReport.Kind.YEAR:
        since, until = dt.date(year, 1, 1), dt.date(year, 12, 31)
    elif kind == PeriodReport.Kind.QUARTER and quarter in (1, 2, 3, 4):
        since = dt.date(year, 3 * quarter - 2, 1)
        after = dt.date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
        until = after - dt.timedelta(days=1)
    else:
        raise ReportRefused(_("Choose a quarter or a whole year."))
    if since > today:
        raise ReportRefused(_("That period has not begun yet."))
    return Period(since, until, "custom")


def _scope_key(community: Community | None, street: Street | None) -> str:
    return f"community:{community.pk}" if community else f"street:{street.pk}"


@transaction.atomic
def report_request(
    *,
    actor: User,
    kind: str,
    period: Period,
    community: Community | None = None,
    street: Street | None = None,
) -> tuple[PeriodReport, bool]:
    """The report being built for this scope and period, or a new one: (report, is new).

    Asked twice while the first is pending or running, the first is returned and no second
    task starts (the partial unique constraint decides between two requests at once).
    """
    if (community is None) == (street is None):
        raise ValueError("a report is of one community or one street")
    language = translation.get_language() or "zh-hans"
    key = _scope_key(community, street)
    busy = PeriodReport.objects.filter(
        scope_key=key, since=period.since, until=period.until, language=language,
        state__in=PeriodReport.BUSY_STATES,
    )  # fmt: skip
    existing = busy.first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            report = PeriodReport.objects.create(
                community=community, street=street, scope_key=key, kind=kind,
                since=period.since, until=period.until, language=language, requested_by=actor,
            )  # fmt: skip
    except IntegrityError:
        return busy.get(), False
    _enqueue(report.pk)
    return report, True


def _enqueue(report_id: int) -> None:
    transaction.on_commit(lambda: _send(report_id))


def _send(report_id: int) -> None:
    """Hand a report to the broker; if the broker is down, the sweeper sends it later."""
    try:
        task_named("reports.tasks.build_period_report").delay(report_id)
    except Exception:
        log.warning("could not enqueue report %s; the sweeper will", report_id, exc_info=True)


def report_build(report_id: int, *, now: dt.datetime | None = None) -> bool:
    """Build one report if it is still to be built; True if this call built it."""
    now = now or timezone.now()
    claimed = PeriodReport.objects.filter(pk=report_id).filter(
        Q(state=R.PENDING) | Q(state=R.RUNNING, started_at__lt=now - STALE_AFTER)
    ).update(state=R.RUNNING, started_at=now, progress=5)  # fmt: skip
    if not claimed:
        return False
    report = PeriodReport.objects.select_related("community__street", "street").get(pk=report_id)
    try:
        with translation.override(report.language):
            # The figures are heavy reads: from the replica when there is one (the progress
            # marks are writes and still go to the primary).
            pdf = replica.on_replica(render_pdf)(report, progress=lambda n: _progress(report.pk, n))
    except Exception as error:  # a report that cannot be built says so on the page
        log.exception("period report %s failed", report_id)
        PeriodReport.objects.filter(pk=report_id, state=R.RUNNING).update(
            state=R.FAILED, error=str(error)[:500], finished_at=timezone.now()
        )
        return False
    with transaction.atomic():
        locked = PeriodReport.objects.select_for_update().get(pk=report_id)
        if locked.state != R.RUNNING or locked.started_at != now:
            return False  # taken back from this worker as stale: the other one saves it
        locked.file.save(filename_for(locked)[0], ContentFile(pdf), save=False)
        locked.size = len(pdf)
        locked.state = R.DONE
        locked.progress = 100
        locked.finished_at = timezone.now()
        locked.save(update_fields=["file", "size", "state", "progress", "finished_at"])
    return True


def _progress(report_id: int, percent: int) -> None:
    PeriodReport.objects.filter(pk=report_id, state=R.RUNNING).update(progress=percent)


def reports_sweep(*, now: dt.datetime | None = None) -> int:
    """Hand waiting reports to a worker again: pending a while, or running on a dead worker."""
    now = now or timezone.now()
    due = PeriodReport.objects.filter(
        Q(state=R.PENDING, created__lt=now - RESEND_AFTER)
        | Q(state=R.RUNNING, started_at__lt=now - STALE_AFTER)
    ).values_list("pk", flat=True)
    ids = list(due[:100])
    for report_id in ids:
        _send(report_id)
    return len(ids)


# --- What the report holds -----------------------------------------------------------------


def communities_of(report: PeriodReport) -> list[Community]:
    if report.community_id:
        return [report.community]
    return list(Community.objects.filter(street=report.street).order_by("name", "pk"))


def notable_resolved(communities: list[Community], period: Period) -> list[Issue]:
    """Resolutions of the period worth naming: must-deliberate matters first, then urgent."""
    issues = list(
        Issue.objects.filter(
            community__in=communities,
            resolved_at__gte=period.start,
            resolved_at__lt=period.end,
        )
        .select_related("category", "community")
        .order_by("-category__must_deliberate", "-is_urgent", "-resolved_at", "-id")[:NOTABLE]
    )
    for issue in issues:
        issue.days_to_resolution = (issue.resolved_at - issue.created).total_seconds() / 86400
    return issues


def visiting_teams(report: PeriodReport) -> list[visit_figures.TeamFigures]:
    """A street report's visiting teams with their visit and satisfaction figures for the
    report's quarter or year (the quarter's review's figures); none for a community's."""
    if not report.street_id:
        return []
    quarter = None
    if report.kind == PeriodReport.Kind.QUARTER:
        quarter = (report.since.month - 1) // 3 + 1
    span = visit_figures.Span(report.since.year, quarter)
    return visit_figures.team_figures(report.street, span, today=timezone.localdate())


def render_html(report: PeriodReport, progress=lambda n: None) -> str:
    period = Period(report.since, report.until, "custom")
    communities = communities_of(report)
    links = dashboard.InboxLinks(period, enabled=False)
    figures = dashboard.dashboard(
        communities, period, links=links, street=report.street,
        with_attendance=bool(report.community_id),
    )  # fmt: skip
    progress(40)
    top = sorted((t for t in figures.categories if t.count), key=lambda t: -t.count)[:5]
    context = {
        "report": report,
        "scope_name": report.community.name if report.community_id else report.street.name,
        "street_name": report.community.street.name if report.community_id else "",
        "dashboard": figures,
        "top_categories": top,
        "notable": notable_resolved(communities, period),
        "teams": visiting_teams(report),
        "months_chart": report_charts.month_bars(figures.months),
        "categories_chart": report_charts.horizontal_bars(top),
        "lang": "zh-Hans" if report.language == "zh-hans" else "en",
        "printed_at": timezone.localtime(),
        # Built from a replica that lags: the figures are as of its last applied change.
        "as_of": replica.current_snapshot().as_of,
    }
    progress(60)
    return render_to_string(TEMPLATE, context)


def render_pdf(report: PeriodReport, progress=lambda n: None) -> bytes:
    pdf = pdf_from_html(render_html(report, progress))
    progress(95)
    return pdf


def filename_for(report: PeriodReport) -> tuple[str, str]:
    """(ASCII name, full UTF-8 name) of the PDF file."""
    if report.kind == PeriodReport.Kind.YEAR:
        period = f"{report.since:%Y}"
    else:
        period = f"{report.since:%Y}-Q{(report.since.month - 1) // 3 + 1}"
    scope = report.community or report.street
    ascii_name = f"report-{report.scope_key.replace(':', '-')}-{period}.pdf"
    name = " ".join(re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", scope.name).split())
    return ascii_name, f"{name} {period}.pdf"


def content_disposition(report: PeriodReport) -> str:
    return downloads.content_disposition(*filename_for(report))


# --- Reads, as the acting user sees them ---------------------------------------------------


def reports_of(
    user: User, *, community: Community | None = None, street: Street | None = None
) -> QuerySet[PeriodReport]:
    """The scope's reports, newest first (the caller has checked the user sees the scope)."""
    key = _scope_key(community, street)
    return PeriodReport.objects.filter(scope_key=key).order_by("-created", "-id")[:20]


def report_for(user: User, pk: int) -> PeriodReport:
    """A report of a community the user sees, or of a street they administer; else 404."""
    scope = scope_of(user)
    visible = Q(community__in=communities_visible_to(user)) | Q(
        street_id__in=scope.admin_street_ids
    )
    return get_object_or_404(
        PeriodReport.objects.filter(visible).select_related("community", "street"), pk=pk
    )
