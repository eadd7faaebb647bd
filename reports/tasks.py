"""Background work for period reports: building them, and re-sending lost ones."""

from __future__ import annotations

from celery import shared_task

from reports import period_reports


@shared_task(acks_late=True)
def build_period_report(report_id: int) -> bool:
    """Build one period report's PDF; a second delivery finds it claimed and does nothing."""
    return period_reports.report_build(report_id)


@shared_task(acks_late=True)
def sweep_period_reports() -> int:
    """Re-send reports whose message was lost or whose worker died (the rows say which)."""
    return period_reports.reports_sweep()
