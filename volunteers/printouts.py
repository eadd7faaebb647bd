"""The statement's and the certificate's PDFs, made once per state of the ledger.

A PDF takes WeasyPrint a good part of a second, too long to make in every request. Its
key names the volunteer, the year, the language and the ledger's state (how many rows the
volunteer has and the newest one's id, read with one indexed query): a new row makes a new
key, so a PDF is never out of date. A request finds its PDF in the cache, or asks a worker
to make it (``volunteers.tasks.make_printout``, enqueued on commit, at most once a minute
per key) and shows a page that opens the PDF once it is there. Making it twice makes the
same PDF; the cache holds nothing that cannot be made again.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max
from django.utils import translation

from common.queue import task_named
from volunteers import statement
from volunteers.models import HoursEntry, Volunteer

KINDS = ("statement", "certificate")
KEEP_SECONDS = 30 * 24 * 3600
QUEUED_SECONDS = 60
TASK = "volunteers.tasks.make_printout"


def key_of(volunteer: Volunteer, kind: str, year: int, language: str) -> str:
    """The cache key of a PDF as the ledger stands now (one query)."""
    rows = HoursEntry.objects.filter(volunteer=volunteer)
    state = rows.aggregate(rows=Count("id"), last=Max("id"))
    names = f"{volunteer.resident.name}|{volunteer.resident.community.name}"
    digest = hashlib.sha256(names.encode()).hexdigest()[:12]
    return (
        f"volunteers:printout:{kind}:{volunteer.pk}:{year}:{language}:"
        f"{state['rows']}:{state['last'] or 0}:{digest}"
    )


def render(volunteer: Volunteer, kind: str, year: int) -> bytes:
    if kind == "certificate":
        return statement.render_certificate_pdf(statement.certificate_of(volunteer, year))
    return statement.render_pdf(statement.statement_of(volunteer, year))


def make(*, volunteer_id: int, kind: str, year: int, language: str) -> str:
    """Make the PDF unless it is in the cache already; returns its key. Safe to run twice."""
    volunteer = Volunteer.objects.select_related("resident__community").get(pk=volunteer_id)
    with translation.override(language):
        key = key_of(volunteer, kind, year, language)
        if cache.get(key) is None:
            cache.set(key, render(volunteer, kind, year), KEEP_SECONDS)
    return key


def printout(volunteer: Volunteer, kind: str, year: int) -> bytes | None:
    """The PDF if it is made; otherwise a worker is asked to make it (once a minute at most)
    and None is returned, unless the worker made it at once (tasks run eagerly)."""
    if kind not in KINDS:
        raise ValueError(kind)
    language = translation.get_language()
    key = key_of(volunteer, kind, year, language)
    made = cache.get(key)
    if made is not None:
        return made
    if cache.add(f"{key}:queued", 1, QUEUED_SECONDS):
        task = task_named(TASK)
        arguments = {"volunteer_id": volunteer.pk, "kind": kind, "year": year,
                     "language": language}  # fmt: skip
        transaction.on_commit(lambda: task.delay(**arguments))
    return cache.get(key)
