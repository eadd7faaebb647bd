"""Background work for issues: overdue reminders, contact erasure and the
dashboards' monthly roll-up (follow-up reviews are swept by ``deliberation.tasks``)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from issues import queries, rollup
from issues.actions import exports, upkeep
from issues.models import Issue
from members import submissions


@shared_task(acks_late=True)
def notify_overdue_issues() -> int:
    """Remind the people responsible for each overdue open issue; returns notices created.

    The members of a council's own task are reminded of their task ("task_overdue", which
    leads to 我的任务); everyone else responsible gets "issue_overdue".

    Safe to run any number of times: each reminder's key holds the date, so a
    second run on the same day sends nothing and the next day sends again. The
    database, not this task, is the record of what is due.
    """
    today = timezone.localdate()
    sent = 0
    for issue_id in queries.overdue_issue_ids(today):
        try:
            sent += upkeep.overdue_notify(issue_id=issue_id, today=today)
        except Issue.DoesNotExist:
            continue  # deleted since the list was read
    return sent


@shared_task(acks_late=True)
def erase_expired_contact_details() -> int:
    """Blank contact details of matters closed six months ago; idempotent (see the action).
    Also forgets the one-time keys of forms sent more than two days ago."""
    now = timezone.now()
    submissions.submissions_prune(now=now)
    return upkeep.contact_details_erase(now=now)


@shared_task(acks_late=True)
def refresh_issue_months(since: str | None = None) -> int:
    """Recompute the dashboards' monthly figures from the issues, from ``since`` (an ISO
    date; by default the first of last month); the months written.

    The actions keep these months exact as they write; this repairs what was written around
    them (an import, a hand correction). It recomputes rather than adds, so a second run or
    a redelivered message changes nothing.
    """
    first = (
        dt.date.fromisoformat(since)
        if since
        else timezone.localdate().replace(day=1) - relativedelta(months=1)
    )
    return rollup.rebuild(since=first)


@shared_task(acks_late=True)
def build_inbox_export(job_id: int) -> bool:
    """Build one large export's file; a second delivery finds it claimed and does nothing."""
    return exports.export_build(job_id)


@shared_task(acks_late=True)
def sweep_inbox_exports() -> int:
    """Re-send export jobs whose message was lost or whose worker died (the rows say which)."""
    return exports.exports_sweep()


@shared_task(acks_late=True)
def expire_exports() -> int:
    """Delete export files kept past their time."""
    return exports.exports_expire()
