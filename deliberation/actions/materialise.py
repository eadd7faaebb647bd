"""Creating the meetings of every schedule ahead of time, and filling their agendas.

This runs from a periodic task that two beat processes may start at once, so
each step holds by the database, on SQLite as on PostgreSQL:

- meetings are inserted with ON CONFLICT DO NOTHING on the unique (council,
  starts_at) constraint, so a meeting is created once however many runs race;
- agendas are topped up under a lock on the meetings topped up (PostgreSQL) or
  the write lock every SQLite transaction takes up front (IMMEDIATE), and the
  unique (meeting, issue) constraint keeps an issue off an agenda twice.

The statements themselves are in ``materialise_sql``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db import transaction
from django.utils import timezone

from deliberation.actions import materialise_sql
from deliberation.models import Meeting


def meetings_materialise(
    *,
    today: dt.date,
    horizon_days: int = 42,
    council_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Create the meetings of every active schedule from ``today`` to ``horizon_days`` ahead.

    Safe to run any number of times, concurrently too. Then tops up the agendas: issues
    that became ready after the notice of the council's next meeting join it as late items
    until it begins (``agenda_late_top_up``), the others the next meeting not announced yet.
    With ``council_id``, only that council's (a schedule edit need not visit the
    others: 1.6 s at 100,000 councils). Returns the number of meetings inserted.
    """
    created = materialise_sql.meetings_insert(
        today, today + dt.timedelta(days=horizon_days), council_id
    )
    materialise_sql.analyze_after_bulk(Meeting, created)
    # Late first: otherwise the issue would wait on the following meeting's agenda.
    materialise_sql.agenda_late_top_up(now or timezone.now(), council_id)
    materialise_sql.agenda_top_up(today, council_id)
    return created


def councils_with_agenda_work(council_ids: Collection[int] | None, *, today: dt.date) -> list[int]:
    """The councils whose next unannounced meeting has an awaiting issue to take (None: all).

    Visiting every council to find nothing to add cost ~6 ms each (60 s for
    10,000 councils, bench/RESULTS.md); most runs have work for only a few.
    """
    councils = {council_id for _, council_id in materialise_sql.agenda_targets(today)}
    if council_ids is not None:
        councils &= set(council_ids)
    return sorted(councils)


@transaction.atomic
def agenda_build(*, council_id: int, today: dt.date, now: dt.datetime | None = None) -> int:
    """Put the council's issues awaiting deliberation on its next unannounced meeting.

    Urgent issues first, then the must-deliberate categories, then the oldest.
    An issue already on any upcoming meeting's agenda is not added again. The
    agenda stays open until the notice goes out, so issues that arrive until
    then join it; afterwards they join it as late items until it begins. Returns the
    number of items added, late ones included. The same statements as
    ``meetings_materialise``'s top-up.
    """
    late = materialise_sql.agenda_late_top_up(now or timezone.now(), council_id=council_id)
    return late + materialise_sql.agenda_top_up(today, council_id=council_id)
