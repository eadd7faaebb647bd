"""The inbox's rows for a file (``common.downloads`` streams them as CSV or XLSX).

Rows are read through ``queries.inbox``, so an export holds exactly what the inbox
lists for the same filters and the same person, never more. They are read in
keyset chunks on (created, id): each chunk is one query for the issues with their
community, category, reporter, staff and department, and one for the assigned
council members, however long the export; memory holds one chunk at a time.

Phone numbers are masked (``mask_phone``) unless full numbers were asked for and
``permissions.may_export_full_phones`` allows them; each row is checked again on its own.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import asdict, fields
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from common.paging import after
from common.phones import mask_phone
from issues import permissions, queries
from issues.models import Issue
from members.models import CouncilMember, User

CHUNK_SIZE = 500
KEYS = ("-created", "-id")

HEADERS = [
    gettext_lazy("Tracking code"),
    gettext_lazy("Title"),
    gettext_lazy("Community"),
    gettext_lazy("Category"),
    gettext_lazy("Channel"),
    gettext_lazy("Status"),
    gettext_lazy("Handled by"),
    gettext_lazy("Urgent"),
    gettext_lazy("Reported at"),
    gettext_lazy("Due on"),
    gettext_lazy("Resolved at"),
    gettext_lazy("Place"),
    gettext_lazy("Reporter"),
    gettext_lazy("Reporter's phone"),
    gettext_lazy("Council members assigned"),
    gettext_lazy("Staff member assigned"),
    gettext_lazy("Department"),
]


def headers() -> list[str]:
    return [str(header) for header in HEADERS]


def filters_record(filters: queries.InboxFilters) -> dict[str, Any]:
    """The filters as the export log keeps them: only those set, dates as ISO text."""
    record = {}
    for name, value in asdict(filters).items():
        if name == "extra" or value in ("", None, False, {}):
            continue
        record[name] = value.isoformat() if isinstance(value, dt.date) else value
    return record


def filters_from_record(record: dict[str, Any]) -> queries.InboxFilters:
    """The filters a log row kept (``filters_record``), back as the inbox's filters."""
    known = {f.name for f in fields(queries.InboxFilters)}
    values: dict[str, Any] = {}
    for name, value in record.items():
        if name not in known or name == "extra":
            continue
        if name in DATE_FILTERS and value:
            value = dt.date.fromisoformat(value)
        values[name] = value
    return queries.InboxFilters(**values)


DATE_FILTERS = ("since", "until", "resolved_since", "resolved_until")


def rows_at_most(user: User, filters: queries.InboxFilters, limit: int) -> int:
    """How many rows the export holds, counted up to ``limit + 1`` only: one bounded query
    (``LIMIT``), never a count of every matching issue."""
    return queries.inbox(user, filters).order_by().values("pk")[: limit + 1].count()


def inbox_rows(
    user: User,
    filters: queries.InboxFilters,
    *,
    full_phones: bool = False,
    chunk_size: int | None = None,
) -> Iterator[list[Any]]:
    """One list of values per issue, in the inbox's order (newest first).

    Values keep their type (dates, datetimes in local time, booleans as translated
    words) so XLSX cells are real dates; the CSV writer turns them into text.
    """
    base = (
        queries.inbox(user, filters)
        .select_related("reporter", "assigned_staff", "assigned_department")
        # Long texts no column shows: a chunk stays small in memory and on the wire.
        .defer("description", "outcome_note", "search_bigrams")
        # The members with their residents in one query per chunk, not two.
        .prefetch_related(
            Prefetch("assigned_members", CouncilMember.objects.select_related("resident"))
        )
        .order_by(*KEYS)
    )
    size = chunk_size or CHUNK_SIZE
    last: list[Any] | None = None
    while True:
        chunk_query = base if last is None else base.filter(after(KEYS, last))
        chunk = list(chunk_query[:size])
        for issue in chunk:
            # Checked per row as well: a number is shown in full only to staff of its community.
            full = full_phones and permissions.may_export_full_phone_of(user, issue)
            yield _row(issue, full_phone=full)
        if len(chunk) < size:
            return
        last = [chunk[-1].created, chunk[-1].pk]


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    """Local wall-clock time without tzinfo: spreadsheets have no time zones."""
    if moment is None:
        return None
    return timezone.localtime(moment, timezone.get_default_timezone()).replace(
        tzinfo=None, microsecond=0
    )


# Shared with the other exports: local wall-clock time for a spreadsheet cell.
local_time = _local


@functools.lru_cache(maxsize=8)
def _labels(language: str) -> dict[str, Any]:
    """The words every row repeats, translated once per language rather than once per row."""
    return {
        "channel": {value: str(label) for value, label in Issue.Channel.choices},
        "status": {value: str(label) for value, label in Issue.Status.choices},
        "tier": {value: str(label) for value, label in Issue.Tier.choices},
        True: _("yes"),
        False: _("no"),
        "anonymous": _("anonymous"),
    }


def _row(issue: Issue, *, full_phone: bool) -> list[Any]:
    words = _labels(get_language() or "")
    if issue.reporter_id:
        name, phone = issue.reporter.name, issue.reporter.phone
    else:
        name, phone = issue.contact_name, issue.contact_phone
    if not (name or phone):
        name = words["anonymous"]
    members = "、".join(member.resident.name for member in issue.assigned_members.all())
    return [
        issue.tracking_code,
        issue.title,
        issue.community.name,
        issue.category.label,
        words["channel"].get(issue.channel, issue.channel),
        words["status"].get(issue.status, issue.status),
        words["tier"].get(issue.tier, issue.tier),
        words[bool(issue.is_urgent)],
        _local(issue.created),
        issue.due_on,
        _local(issue.resolved_at),
        issue.place,
        name,
        phone if full_phone else mask_phone(phone),
        members,
        str(issue.assigned_staff) if issue.assigned_staff_id else "",
        issue.assigned_department.name if issue.assigned_department_id else "",
    ]
