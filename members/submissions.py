"""One-time submission keys: a form that creates something carries a random key drawn
with the form (``common.forms.SubmissionKeyField``); the create records the key in the
same transaction as what it creates, and a second post with the same key answers with
where the first one went, creating nothing and notifying nobody.

Race-proof by the key's unique constraint, not by a look before the write: a second post
sent while the first is still writing waits on the first one's row (PostgreSQL) or on the
write lock (SQLite), then finds the key taken and reads the first one's result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from members.models import Submission, User

# Keys older than this are pruned: no one taps twice two days apart.
KEEP_FOR = dt.timedelta(days=2)


def submit_once(key: str, user: User | None, create: Callable[[], str]) -> tuple[str, bool]:
    """Run ``create`` (which returns the address of what it made) once per ``key``: the
    address and True the first time; the first time's address and False after. Without
    a key, ``create`` simply runs."""
    if not key:
        return create(), True
    key = _own(key, user)
    try:
        with transaction.atomic():
            submission = Submission.objects.create(key=key, user=user)
            submission.result_url = create()
            submission.save(update_fields=["result_url"])
            return submission.result_url, True
    except IntegrityError:
        first = Submission.objects.filter(key=key).exclude(result_url="").first()
        if first is None:
            raise
        return first.result_url, False


def _own(key: str, user: User | None) -> str:
    # Each person's keys apart: someone else's key (guessed or copied) creates anew.
    return f"{user.pk if user else '-'}:{key}"


def sent_before(key: str, user: User | None) -> str | None:
    """Where this person's form sent before under ``key`` went; None if it was not."""
    if not key:
        return None
    return (
        Submission.objects.filter(key=_own(key, user))
        .exclude(result_url="")
        .values_list("result_url", flat=True)
        .first()
    )


def outbox_owner(user: User) -> str:
    """Whose reports a phone keeps to send later: an id of the person (not of the login,
    which a new login changes), so a report made before the login ran out is still
    theirs after they log in again, and is never sent under someone else's login."""
    return salted_hmac("yishi.outbox-owner", str(user.pk)).hexdigest()[:20]


def submissions_prune(*, now: dt.datetime | None = None) -> int:
    """Forget the keys older than ``KEEP_FOR``; the number forgotten."""
    now = now or timezone.now()
    deleted, _ = Submission.objects.filter(created__lt=now - KEEP_FOR).delete()
    return deleted


class _Once:
    def __init__(self, user: User | None) -> None:
        self.user = user

    def __call__(self, key: str, create: Callable[[], str]) -> tuple[str, bool]:
        return submit_once(key, self.user, create)

    def sent_before(self, key: str) -> str | None:
        return sent_before(key, self.user)


def once_for(user: User | None) -> _Once:
    """``submit_once`` for this person, as ``common.flows.form_response`` takes it
    (``common.flows.Once``)."""
    return _Once(user)
