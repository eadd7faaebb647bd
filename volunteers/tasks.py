"""Background work for volunteers: the PDFs of statements and certificates."""

from __future__ import annotations

from celery import shared_task

from volunteers import printouts
from volunteers.models import Volunteer


@shared_task(acks_late=True)
def make_printout(*, volunteer_id: int, kind: str, year: int, language: str) -> str:
    """Make a statement's or a certificate's PDF into the cache; nothing if it is there."""
    try:
        return printouts.make(volunteer_id=volunteer_id, kind=kind, year=year, language=language)
    except Volunteer.DoesNotExist:
        return ""
