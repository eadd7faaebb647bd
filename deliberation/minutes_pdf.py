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
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from common.pdf import pdf_from_html
from deliberation import queries
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
            "joined_councils": queries.councils_at(meeting)[1:],
            "is_draft": not minutes.is_locked,
            "lang": "zh-Hans" if translation.get_language() == "zh-hans" else "en",
            "printed_at": timezone.localtime(),
            "printed_note": css_string(
                _("Printed from Yishi on %(when)s.")
                % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M")}
            ),
        },
    )


def css_string(text: str) -> str:
    """``text`` as the inside of a CSS string: ASCII punctuation as hex escapes, so neither
    CSS nor the template's HTML escaping can change it."""
    return mark_safe(
        "".join(
            char if char.isalnum() or char in " .:-" or ord(char) > 127 else f"\\{ord(char):x} "
            for char in text
        )
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
