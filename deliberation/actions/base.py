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


def has_begun(meeting: Meeting, now: dt.datetime | None = None) -> bool:
    return meeting.starts_at <= (now or timezone.now())


def joins_late(meeting: Meeting, now: dt.datetime | None = None) -> bool:
    """Whether a matter put on ``meeting``'s agenda now is a late item (临时增加): the
    members were sent the notice, and the meeting has not begun."""
    return meeting.notice_sent_at is not None and not has_begun(meeting, now)


def put_on_agenda(
    meeting: Meeting, *, issue_id: int | None, topic: str, kind: str, late: bool = False
) -> AgendaItem:
    """Append a matter to ``meeting``'s agenda, reusing the issue's row there if it has one.

    An issue has one row per meeting (a constraint): one taken off earlier is put back at
    the end, one still on the agenda stays where it is. ``late`` marks a matter that joins
    after the notice (see ``joins_late``); the members are told of it by the next sweep.
    """
    if issue_id is not None:
        existing = AgendaItem.objects.filter(meeting=meeting, issue_id=issue_id).first()
        if existing is not None:
            if existing.removed_at is not None:
                existing.position = _next_position(meeting)
                existing.removed_at = existing.removed_by = existing.moved_to = None
                fields = ["position", "removed_at", "removed_by", "moved_to"]
                if late and not existing.late:
                    existing.late, existing.late_notified_at = True, None
                    fields += ["late", "late_notified_at"]
                existing.save(update_fields=fields)
            return existing
    return AgendaItem.objects.create(
        meeting=meeting,
        issue_id=issue_id,
        topic=topic if issue_id is None else "",
        kind=kind,
        position=_next_position(meeting),
        late=late,
    )
