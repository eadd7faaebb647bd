"""QR codes drawn as inline SVG, for posters and sign-in sheets."""

from __future__ import annotations

import re

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error="m")


def qr_svg(url: str) -> SafeString:
    """The QR code of ``url`` as an ``<svg class="qr-code">`` element to put in a page.

    segno draws with attributes (stroke, transform), never style="", which the
    Content-Security-Policy would refuse; the strip guards against a later segno
    starting to emit one.
    """
    svg = qr_code(url).svg_inline(scale=1, border=4, omitsize=True, svgclass="qr-code")
    return mark_safe(re.sub(r'\sstyle="[^"]*"', "", svg))  # segno's markup: paths, no text of ours
