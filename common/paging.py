"""Keyset (cursor) pagination: each page starts after the last row of the one before.

An OFFSET reads and throws away every row before the page, so deep pages get
slower as data grows; a keyset page costs the same wherever it is.
"""

from __future__ import annotations

import base64
import json
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, ensure_ascii=False, default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any] | None:
    """The key of the last row seen, or None for a missing or tampered cursor (first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != width:
        return None
    if not isinstance(values[-1], int) or not all(isinstance(v, str | int) for v in values):
        return None
    return values


def after(keys: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in the order of ``keys``: (a > x) or (a = x and b > y) …

    A key written ``-name`` sorts descending, so "after" means smaller there. The first
    key is also bounded on its own (a >= x): the OR alone is no index condition, so
    without it a page N pages deep reads the N pages before it from the index.
    """
    first = keys[0]
    bound = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    condition = Q()
    for position in range(len(keys) - 1, -1, -1):
        key = keys[position]
        op = "lt" if key.startswith("-") else "gt"
        step = Q(**{f"{key.lstrip('-')}__{op}": values[position]})
        for earlier in range(position):
            step &= Q(**{keys[earlier].lstrip("-"): values[earlier]})
        condition |= step
    return bound & condition


def ordered_after(queryset: QuerySet, *, keys: tuple[str, ...], cursor: str = "") -> QuerySet:
    """``queryset`` in the order of ``keys``, from the row after the cursor's on."""
    ordered = queryset.order_by(*keys)
    start = decode_cursor(cursor, len(keys))
    if start is not None:
        # A cursor edited by hand starts again from the first page.
        with suppress(ValidationError, ValueError, TypeError):
            ordered = ordered.filter(after(keys, start))
    return ordered


def keyset_page(
    queryset: QuerySet, *, keys: tuple[str, ...], cursor: str = "", size: int = 50
) -> Page:
    """One page of ``queryset`` ordered by ``keys`` (the last one unique, e.g. the id)."""
    rows = list(ordered_after(queryset, keys=keys, cursor=cursor)[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor([_value(last, key) for key in keys])
    return Page(rows=rows, next_cursor=next_cursor)


def _value(row: Any, key: str) -> Any:
    for part in key.lstrip("-").split("__"):
        row = getattr(row, part)
    return row
