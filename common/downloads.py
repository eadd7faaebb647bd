"""Files to download: CSV streamed row by row, XLSX written to a temporary file, and the
headers that keep them private to the browser.

Cells that a spreadsheet would run as formulas are defused (OWASP "CSV injection");
characters XML cannot hold are dropped from XLSX cells. Bidirectional controls are dropped
from every cell, so rows stored before forms took them out cannot carry them either.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any
from urllib.parse import quote

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common.text import strip_bidi

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold: openpyxl refuses them, so they are dropped from XLSX cells.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# --- CSV -----------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """Text for one CSV cell; one that a spreadsheet would run as a formula gets an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = strip_bidi(str(value))
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


class _Echo:
    """A file that hands back what is written to it, so csv.writer makes one line at a time."""

    def write(self, value: str) -> str:
        return value


def end_marker(rows: int) -> str:
    """The last line of every CSV file: a file without it was cut off before its end."""
    return _("# end of export: %(rows)s rows, complete") % {"rows": rows}


def csv_lines(
    rows: Iterable[list[Any]],
    *,
    on_done: Callable[[int], None],
    header: Callable[[], list[str]],
    on_cut: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The BOM (Excel reads the file as UTF-8 only with it), the header, each row, and
    the end marker (``end_marker``) as the last line.

    ``on_done`` gets the number of rows once the end marker has been handed on. If the
    stream stops before that (the reader went away and the server closed it, or reading
    a row failed), ``on_cut`` gets the number of rows handed on so far instead. The
    active language is kept for the whole stream: rows are made after the view has
    returned. ``header`` gives the header row, in that language.
    """
    language = translation.get_language()
    writer = csv.writer(_Echo())
    count = 0
    with translation.override(language):
        try:
            yield "\ufeff" + writer.writerow(header())
            for row in rows:
                count += 1
                yield writer.writerow([csv_cell(value) for value in row])
            yield writer.writerow([end_marker(count)])
        except BaseException:
            if on_cut is not None:
                on_cut(count)
            raise
        on_done(count)


# --- XLSX ----------------------------------------------------------------------------------


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
                cell = WriteOnlyCell(sheet, value=ILLEGAL_XML.sub("", strip_bidi(value)))
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


def named_file(ascii_stem: str, stem: str, extension: str) -> tuple[str, str]:
    """(ASCII fallback, full UTF-8 name) for an export made now: ``<stem>-<local time>.<ext>``."""
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
    stem = strip_bidi(stem)
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
