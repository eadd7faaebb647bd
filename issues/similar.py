"""Matters that look like the one being reported: the hints shown before a report is sent,
so that a resident can add "me too" to an open matter instead of filing a second one.

Candidates are the community's open matters of the last ``RECENT_DAYS``. On PostgreSQL the
GIN index over the character pairs (``issues.search``) finds those sharing a pair with the
typed title and place, and the database ranks them by how many pairs they share; elsewhere the
most recent open matters are ranked here. The same category adds to the score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, F, FloatField, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from common.periods import local_midnight
from issues import search
from issues.models import Issue

RECENT_DAYS = 90
HINTS = 3
# Below this share of the typed pairs found in a matter, it does not look alike.
MIN_SCORE = 0.34
SAME_CATEGORY_BONUS = 0.15
# Without the index (SQLite), how many recent open matters are compared.
SCAN_LIMIT = 400


@dataclass(frozen=True)
class Hint:
    issue: Issue
    score: float


def typed_pairs(title: str, place: str = "") -> list[str]:
    return list(dict.fromkeys(search.bigrams(f"{title} {place}")))[:40]


def similar_open(
    community_id: int,
    *,
    title: str,
    place: str = "",
    category_id: int | None = None,
    today: dt.date | None = None,
    limit: int = HINTS,
) -> list[Hint]:
    """The community's open matters most like the typed title and place, best first."""
    pairs = typed_pairs(title, place)
    if len(pairs) < 2:
        return []
    today = today or timezone.localdate()
    since = local_midnight(today - dt.timedelta(days=RECENT_DAYS))
    recent_open = Issue.objects.filter(
        community_id=community_id, status__in=Issue.OPEN_STATUSES, created__gte=since
    )
    fields = ("pk", "title", "place", "status", "created", "supporter_count", "category_id")
    if connection.vendor == "postgresql":
        return _ranked_in_database(recent_open, pairs, category_id, fields, limit)
    return _ranked_here(recent_open, pairs, category_id, fields, limit)


def _ranked_in_database(issues, pairs, category_id, fields, limit) -> list[Hint]:
    # The share of the typed pairs the matter holds, counted by the database for the few rows
    # the index finds (those sharing at least one pair), not for every open matter.
    shared_share = RawSQL(
        "(SELECT count(*) FROM unnest(%s::text[]) AS typed(pair)"
        " WHERE typed.pair = ANY(string_to_array(issues_issue.search_bigrams, ' ')))::float"
        " / %s",
        (pairs, float(len(pairs))),
        output_field=FloatField(),
    )
    same_category = Case(
        When(category_id=category_id or 0, then=Value(SAME_CATEGORY_BONUS)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    rows = (
        issues.alias(search_pairs=search.pairs_of("search_bigrams"))
        .filter(search_pairs__overlap=pairs)
        .annotate(score=shared_share + same_category)
        .filter(score__gte=MIN_SCORE)
        .order_by(F("score").desc(), "-created", "-pk")
        .only(*fields)[:limit]
    )
    return [Hint(issue, round(issue.score, 2)) for issue in rows]


def _ranked_here(issues, pairs, category_id, fields, limit) -> list[Hint]:
    wanted = set(pairs)
    hints = []
    for issue in issues.order_by("-created", "-pk").only(*fields, "search_bigrams")[:SCAN_LIMIT]:
        shared = len(wanted & set(issue.search_bigrams.split()))
        score = shared / len(wanted)
        if category_id and issue.category_id == category_id:
            score += SAME_CATEGORY_BONUS
        if score >= MIN_SCORE and shared:
            hints.append(Hint(issue, round(score, 2)))
    hints.sort(key=lambda hint: (-hint.score, -hint.issue.created.timestamp(), -hint.issue.pk))
    return hints[:limit]


def hints_context(community, typed) -> dict:
    """The hint list's context from what was typed so far (a GET or a bound form's data)."""
    category = str(typed.get("category", ""))
    hints = similar_open(
        community.pk,
        title=str(typed.get("title", ""))[:200],
        place=str(typed.get("place", ""))[:200],
        category_id=int(category) if category.isdigit() else None,
    )
    return {"hints": hints, "hint_url": "?hint=1"}
