"""One way to send people's data as a file: record who exported what, write it, record how
many rows left.

Every export of the app (the inbox, a council's meetings, its roster) goes through
``export_download``, so each is logged in ``ExportRecord`` the same way (PIPL art. 51)
and sent private to the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponseBase

from common import downloads
from members import actions
from members.models import User


@dataclass(frozen=True)
class Sheet:
    """One table of an export: a CSV file, or a sheet of a workbook."""

    title: str
    header: Callable[[], list[str]]
    rows: Iterable[list[Any]]


def export_download(
    *,
    actor: User,
    kind: str,
    format: str,
    filters: dict[str, Any],
    name: tuple[str, str],
    sheets: Sequence[Sheet],
    full_phones: bool = False,
) -> HttpResponseBase:
    """The export as a CSV (the first sheet, streamed) or an XLSX workbook (every sheet).

    ``name`` is the file's stem in ASCII and in the user's language; the local time is
    added. The export's log row is written first and told the row count once the last row
    is out: after the stream ends for CSV, before sending for XLSX (a zip file is written
    whole). A CSV stream cut off before its end (the reader went away) is logged as
    incomplete with the rows sent so far, never with a count as if it were whole.
    """
    record = actions.export_record(
        actor=actor, kind=kind, format=format, filters=filters, full_phones=full_phones
    )
    filename = downloads.named_file(*name, format)
    if format == "csv":
        first = sheets[0]

        def done(count: int) -> None:
            actions.export_finish(record=record, rows=count)

        def cut(count: int) -> None:
            actions.export_cut(record=record, rows_sent=count)

        lines = downloads.csv_lines(first.rows, on_done=done, on_cut=cut, header=first.header)
        return downloads.csv_response(lines, filename)
    output, counts = downloads.xlsx_sheets([(s.title, s.header(), s.rows) for s in sheets])
    actions.export_finish(record=record, rows=sum(counts))
    return downloads.xlsx_response(output, filename)
