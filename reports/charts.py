"""Charts of the printed reports, drawn on the server as SVG (WeasyPrint renders it inline).

The browser's dashboards draw the same numbers with ECharts; a PDF cannot run scripts, so
these are plain bars with their values written on them, readable in black and white.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reports.dashboard import MonthRow, Tally

INK = "#1f2933"
COLLECTED = "#2f6fae"
RESOLVED = "#3f9142"
GRID = "#d5dbe1"


def _nice_max(value: int) -> int:
    """A round top for the axis: 1, 2, 5 × a power of ten, at least the largest value."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def month_bars(months: Sequence[MonthRow], *, width: int = 640, height: int = 240) -> SafeString:
    """Collected and resolved side by side, one pair of bars per month."""
    left, bottom, top = 40, 40, 16
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max([m.collected for m in months] + [m.resolved for m in months] + [0]))
    slot = plot_w / max(len(months), 1)
    bar = max(min(slot * 0.35, 28), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="10" fill="{INK}">'
    ]
    for i in range(5):
        y = top + plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{peak * (4 - i) // 4}</text>'
        )
    for index, month in enumerate(months):
        x = left + slot * index + (slot - 2 * bar) / 2
        for offset, value, colour in (
            (0, month.collected, COLLECTED),
            (bar, month.resolved, RESOLVED),
        ):
            h = plot_h * value / peak
            y = top + plot_h - h
            x0 = x + offset
            parts.append(
                f'<rect x="{x0:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"/>'
            )
            if value and len(months) <= 12:
                parts.append(
                    f'<text x="{x0 + bar / 2:.1f}" y="{y - 2:.1f}" '
                    f'text-anchor="middle">{value}</text>'
                )
        if len(months) <= 12 or index % max(len(months) // 12, 1) == 0:
            parts.append(
                f'<text x="{left + slot * index + slot / 2:.1f}" y="{height - bottom + 14}" '
                f'text-anchor="middle">{escape(month.label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def horizontal_bars(tallies: Sequence[Tally], *, width: int = 640) -> SafeString:
    """One bar per line with its label and count, longest first as given."""
    row, label_w = 24, 180
    height = max(len(tallies), 1) * row + 8
    peak = max([t.count for t in tallies] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="11" fill="{INK}">'
    ]
    for index, tally in enumerate(tallies):
        y = 4 + index * row
        w = (width - label_w - 48) * tally.count / peak
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(tally.label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{COLLECTED}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{tally.count}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
