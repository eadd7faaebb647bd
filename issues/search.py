"""Search that finds two-character Chinese words quickly.

Each issue stores the overlapping character pairs of its title, description
and place (``search_bigrams``). On PostgreSQL a GIN index over that text as a
``tsvector`` answers "电梯" by looking up one token instead of scanning every
row; a longer query becomes all of its pairs (array containment, ``@>``, which
needs no text-search parser and so treats Chinese, digits and Latin alike).
Elsewhere (SQLite) the search is a plain substring match.
"""

from __future__ import annotations

import re

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField, Value

_WORD = re.compile(r"[\w]+", re.UNICODE)


def bigrams(text: str) -> list[str]:
    """Overlapping pairs of each word, lower-cased; a one-character word stands alone."""
    pairs: list[str] = []
    for word in _WORD.findall((text or "").lower()):
        if len(word) == 1:
            pairs.append(word)
        pairs.extend(word[i : i + 2] for i in range(len(word) - 1))
    return pairs


def pairs_of(field: str) -> Func:
    """string_to_array(field, ' '): the expression migration 0002 indexes with GIN."""
    return Func(
        F(field), Value(" "), function="string_to_array", output_field=ArrayField(TextField())
    )


def document(*texts: str) -> str:
    return " ".join(dict.fromkeys(pair for text in texts for pair in bigrams(text)))


def lookup_pairs(query: str) -> list[str]:
    """The character pairs of a query's words of two or more characters: what the index can
    look up. A one-character word has none (its character may stand inside any pair)."""
    words = [word for word in _WORD.findall((query or "").lower()) if len(word) > 1]
    return list(dict.fromkeys(pair for word in words for pair in bigrams(word)))


# Chinese characters and digits have no case: for a word of two of them, "the text holds the
# word" (the substring match) and "the text's pairs hold it" are the same statement.
_COUNTABLE = re.compile(r"[0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}")


def counted_pair(query: str) -> str | None:
    """The pair whose kept counts (``PairCount``) answer this query exactly, if any: a
    query of one two-character word of Chinese characters or digits."""
    word = (query or "").strip()
    return word if _COUNTABLE.fullmatch(word) else None


def searchable(query: str) -> bool:
    """Whether a query can be searched without reading every issue: it has at least one
    word of two letters or digits. ("a", "%_", spaces: no.)"""
    return bool(lookup_pairs(query))


def matching(queryset: QuerySet, query: str) -> QuerySet:
    query = query.strip()
    if not query:
        return queryset
    if connection.vendor == "postgresql":
        pairs = lookup_pairs(query)
        if pairs:
            # The index finds rows holding every pair of the longer words; the substring
            # check then keeps only those where each word stands as typed (漏水到楼上 ≠ its
            # pairs scattered; a one-character word is checked here only).
            return queryset.alias(search_pairs=pairs_of("search_bigrams")).filter(
                Q(search_pairs__contains=pairs) & substring(query)
            )
    return queryset.filter(substring(query))


def substring(query: str) -> Q:
    """Each word of the query inside the title, the description or the place."""
    condition = Q()
    for word in query.split():
        condition &= (
            Q(title__icontains=word) | Q(description__icontains=word) | Q(place__icontains=word)
        )
    return condition
