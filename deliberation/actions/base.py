"""What the meeting actions share: the refusal they raise and two small helpers."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max
from django.utils import timezone

from common.refusals import Refusal
from deliberation.models import AgendaItem, Meeting


class ActionError(Refusal):
    """A request the meeting rules refuse; the message is shown to the user."""


def start_of(day: dt.date) -> dt.datetime:
    """Local midnight at the start of ``day``."""
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def _next_position(meeting: Meeting) -> int:
    last = meeting.agenda_items.filter(removed_at__isnull=True).aggregate(last=Max("position"))
    return 0 if last["last"] is None else last["last"] + 1


def put_on_agenda(meeting: Meeting, *, issue_id: int | None, topic: str, kind: str) -> AgendaItem:
    """Append a matter to ``meeting``'s agenda, reusing the issue's row there if it has one.

    An issue has one row per meeting (a constraint): one taken off earlier is put back at
    the end, one still on the agenda stays where it is.
    """
    if issue_id is not None:
        existing = AgendaItem.objects.filter(meeting=meeting, issue_id=issue_id).first()
        if existing is not None:
            if existing.removed_at is not None:
                existing.position = _next_position(meeting)
                existing.removed_at = existing.removed_by = existing.moved_to = None
                existing.save(update_fields=["position", "removed_at", "removed_by", "moved_to"])
            return existing
    return AgendaItem.objects.create(
        meeting=meeting,
        issue_id=issue_id,
        topic=topic if issue_id is None else "",
        kind=kind,
        position=_next_position(meeting),
    )
