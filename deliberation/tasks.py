"""Background work for meetings: one periodic task, safe to run from two beats at once."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from deliberation.actions import materialise, notices, review_items


@shared_task(acks_late=True)
def materialise_meetings() -> dict[str, int]:
    """Create upcoming meetings and their agendas, then send the notices that are due.

    The database holds every due date and claim (see ``actions.materialise`` and ``notices``),
    so a second run, a redelivered message or a second beat process does nothing twice.
    """
    created = materialise.meetings_materialise(today=timezone.localdate())
    sent = notices.meeting_notices_send(now=timezone.now())
    return {"meetings": created, "notices": sent}


@shared_task(acks_late=True)
def send_due_reviews() -> dict[str, int]:
    """Ask reporters about due follow-up reviews, put them on agendas, send reminders.

    Claims live in the database (``issues.reviews``, ``actions.review_items``): two beats, a
    redelivered message or a worker killed mid-sweep send nothing twice and lose nothing.
    """
    return review_items.reviews_sweep(now=timezone.now())
