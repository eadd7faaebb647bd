"""The inbox as a file: CSV streamed row by row, XLSX written to a temporary file.

Rows are read through ``queries.inbox``, so an export holds exactly what the inbox
lists for the same filters and the same person, never more. They are read in
keyset chunks on (created, id): each chunk is one query for the issues with their
community, category, reporter, staff and department, and one for the assigned
council members, however long the export; memory holds one chunk at a time.

Phone numbers are masked (``mask_phone``) unless full numbers were asked for and
``may_export_full_phones`` allows them; each row is checked again on its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from typing import IO, Any
from urllib.parse import quote

from django.db.models import Prefetch
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from deliberation.paging import after
from issues import queries
from issues.models import Issue
from members.models import CouncilMember, User
from members.phones import mask_phone
from members.queries import communities_visible_to, scope_of

CHUNK_SIZE = 500
KEYS = ("-created", "-id")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold: openpyxl refuses them, so they are dropped from XLSX cells.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

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


def may_export_full_phones(user: User, filters: queries.InboxFilters) -> bool:
    """Full numbers only for community staff, and only if every community the export
    can reach is one of theirs: the residents page lets staff reveal a number, while a
    street admin (or a department handler) sees residents' numbers masked."""
    scope = scope_of(user)
    staff = scope.staff_community_ids
    if not staff:
        return False
    if filters.community:
        return filters.community in staff
    if scope.admin_street_ids or scope.department_ids:
        return False
    # A council member's own community is visible too; it must also be a staff community.
    return not communities_visible_to(user).exclude(pk__in=staff).exists()


def inbox_rows(
    user: User, filters: queries.InboxFilters, *, full_phones: bool = False
) -> Iterator[list[Any]]:
    """One list of values per issue, in the inbox's order (newest first).

    Values keep their type (dates, datetimes in local time, booleans as translated
    words) so XLSX cells are real dates; the CSV writer turns them into text.
    """
    staff_ids = scope_of(user).staff_community_ids
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
    last: list[Any] | None = None
    while True:
        chunk_query = base if last is None else base.filter(after(KEYS, last))
        chunk = list(chunk_query[:CHUNK_SIZE])
        for issue in chunk:
            # Checked per row as well: a number is shown in full only to staff of its community.
            full = full_phones and issue.community_id in staff_ids
            yield _row(issue, full_phone=full)
        if len(chunk) < CHUNK_SIZE:
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


# --- CSV -----------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """Text for one CSV cell; one that a spreadsheet would run as a formula gets an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


class _Echo:
    """A file that hands back what is written to it, so csv.writer makes one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    rows: Iterable[list[Any]],
    *,
    on_done: Callable[[int], None],
    header: Callable[[], list[str]] = headers,
) -> Iterator[str]:
    """The BOM (Excel reads the file as UTF-8 only with it), the header, then each row.

    ``on_done`` gets the number of rows once the last one has been written. The active
    language is kept for the whole stream: rows are made after the view has returned.
    ``header`` gives the header row (the inbox's by default), in that language.
    """
    language = translation.get_language()
    writer = csv.writer(_Echo())
    with translation.override(language):
        yield "\ufeff" + writer.writerow(header())
        count = 0
        for row in rows:
            count += 1
            yield writer.writerow([csv_cell(value) for value in row])
        on_done(count)


# --- XLSX ----------------------------------------------------------------------------------


def xlsx_file(rows: Iterable[list[Any]], *, sheet_title: str) -> tuple[IO[bytes], int]:
    """The rows as an XLSX workbook in a temporary file (at its start), and how many rows."""
    output, (count,) = xlsx_sheets([(sheet_title, headers(), rows)])
    return output, count


def xlsx_sheets(
    sheets: Iterable[tuple[str, list[str], Iterable[list[Any]]]],
) -> tuple[IO[bytes], list[int]]:
    """Sheets of (title, header, rows) as one XLSX workbook in a temporary file (at its
    start), and how many rows each sheet holds.

    openpyxl's write-only mode serialises each row as it is appended and writes strings
    inline (no shared-strings table growing in memory), so memory stays flat.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    counts = []
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])

        def cell(value: Any, sheet: Any = sheet) -> Any:
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=ILLEGAL_XML.sub("", value))
                # Always text: openpyxl would otherwise store "=…" as a formula to be run.
                cell.data_type = "s"
                return cell
            if isinstance(value, dt.datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd hh:mm"
                return cell
            if isinstance(value, dt.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                return cell
            return value

        sheet.append([cell(str(name)) for name in header])
        count = 0
        for row in rows:
            count += 1
            sheet.append([cell(value) for value in row])
        counts.append(count)
    # Spooled: a small export stays in memory, a large one goes to disk.
    output = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output, counts


# --- File names ----------------------------------------------------------------------------


def filename_for(extension: str) -> tuple[str, str]:
    """(ASCII fallback, full UTF-8 name) for an inbox export made now."""
    return named_file("issues", _("Issues"), extension)


def named_file(ascii_stem: str, stem: str, extension: str) -> tuple[str, str]:
    """(ASCII fallback, full UTF-8 name) for an export made now: ``<stem>-<local time>.<ext>``."""
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
    return f"{ascii_stem}-{stamp}.{extension}", f"{stem}-{stamp}.{extension}"


def content_disposition(ascii_name: str, full_name: str) -> str:
    """As the minutes PDF sets it: an ASCII name for old clients, ``filename*`` for the rest."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full_name, safe='')}"


# --- Responses -------------------------------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_response(lines: Iterable[str], filename: tuple[str, str]) -> StreamingHttpResponse:
    """A CSV download streamed from ``lines`` (``csv_lines``): memory stays flat."""
    return _download(StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8"), filename)


def xlsx_response(output: IO[bytes], filename: tuple[str, str]) -> FileResponse:
    """An XLSX download from the temporary file ``xlsx_file``/``xlsx_sheets`` wrote."""
    return _download(FileResponse(output, content_type=XLSX_TYPE), filename)


def _download(response: HttpResponseBase, filename: tuple[str, str]):
    response["Content-Disposition"] = content_disposition(*filename)
    # Personal data: kept by no shared cache, and not by the browser's either.
    response["Cache-Control"] = "private, no-store"
    return response
