"""Printable minutes: one version rendered to PDF with WeasyPrint, Chinese set in Noto CJK.

The page is a Django template with its own print stylesheet; nothing is
fetched while rendering (no network, no files), so text typed into the minutes
cannot make the server load anything.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from django.template.loader import render_to_string
from django.utils import timezone, translation

from common.pdf import pdf_from_html
from deliberation.models import Minutes

TEMPLATE = "meetings/minutes_pdf.html"


def render_html(minutes: Minutes) -> str:
    meeting = minutes.meeting
    return render_to_string(
        TEMPLATE,
        {
            "minutes": minutes,
            "meeting": meeting,
            "council": meeting.council,
            "is_draft": not minutes.is_locked,
            "lang": "zh-Hans" if translation.get_language() == "zh-hans" else "en",
            "printed_at": timezone.localtime(),
        },
    )


def render_pdf(minutes: Minutes) -> bytes:
    return pdf_from_html(render_html(minutes))


def filename_for(minutes: Minutes) -> tuple[str, str]:
    """(ASCII fallback, full UTF-8 name) for the Content-Disposition header."""
    day = timezone.localtime(minutes.meeting.starts_at).strftime("%Y-%m-%d")
    state = "" if minutes.is_locked else "-draft"
    ascii_name = f"minutes-{day}-v{minutes.version}{state}.pdf"
    title = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", minutes.title).strip() or ascii_name
    return ascii_name, f"{title} v{minutes.version}{state}.pdf"


def content_disposition(minutes: Minutes, *, inline: bool = True) -> str:
    ascii_name, full_name = filename_for(minutes)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full_name, safe='')}"
