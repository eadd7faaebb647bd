"""The notification service every part of Yishi uses to tell people things.

``notify()`` writes one :class:`Notice` row per channel and, once the caller's
transaction commits, asks Celery to deliver it. The row is the record of the
work: a sweeper re-enqueues notices the broker lost, and each row's unique
``key`` makes a second ``notify()`` with the same key a no-op.

A notice goes out at most once even when a worker loses its database connection or dies:
the claim records the attempt on the row ("sending", ``attempts``, ``claimed_at``) before
the provider is asked; once the provider accepted the message, marking it sent reconnects
and tries again (``_mark_sent``); and a claim that stays "sending" anyway is re-sent by the
sweeper with the same ``key``, which the provider delivers once (``common.sms``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TypeVar

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from common import sms
from common.queue import task_named
from members import extensions
from members.models import Notice, User
from members.queries import forget_unread_count

MAX_ATTEMPTS = 6
# A write after a lost database connection: this many tries on a new connection, waiting
# RECONNECT_BACKOFF seconds before the first retry and twice as long before each next one.
RECONNECT_TRIES = 5
RECONNECT_BACKOFF = 0.2
# The database went away: the connection is broken, a new one may well work.
CONNECTION_ERRORS = (OperationalError, InterfaceError)

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class NoticeKind:
    subject: Promise
    # The whole message on its own: a text message carries the body alone (no subject).
    body: Promise
    # Sent by text message to residents without an account, never to an inbox: the body
    # carries its own link. Every other kind links to the page it is about
    # (``members.extensions.notice_target``).
    to_residents: bool = False


# Each kind's text is formatted with the notice's context at the moment it is
# shown or sent, in the language of whoever reads it. The context holds the ids of what
# the notice is about, by one convention: ``issue_id``, ``meeting_id``, ``minutes_id``,
# ``community_id``.
KINDS: dict[str, NoticeKind] = {
    "welcome": NoticeKind(
        subject=_("Welcome to Yishi"),
        body=_("Hello %(name)s, your account for %(place)s is ready."),
    ),
    "member_joined": NoticeKind(
        subject=_("A new council member"),
        body=_("%(name)s has joined %(council)s."),
    ),
    "issue_reported": NoticeKind(
        subject=_("New issue"),
        body=_("%(community)s: “%(title)s” was reported."),
    ),
    "issue_assigned": NoticeKind(
        subject=_("An issue was assigned to you"),
        body=_("%(community)s: “%(title)s” is assigned to you."),
    ),
    "issue_escalated": NoticeKind(
        subject=_("An issue was escalated"),
        body=_("%(community)s: “%(title)s” was escalated and needs your attention."),
    ),
    "escalation_assigned": NoticeKind(
        subject=_("The street office assigned an issue"),
        body=_("%(community)s: “%(title)s” has a department and a deadline."),
    ),
    "escalation_returned": NoticeKind(
        subject=_("The street office returned an issue"),
        body=_("%(community)s: the street office returned “%(title)s” to the community."),
    ),
    "escalation_handled": NoticeKind(
        subject=_("A department handled an issue"),
        body=_("%(community)s: a department handled “%(title)s”; please confirm."),
    ),
    "escalation_reworked": NoticeKind(
        subject=_("The street office says an issue is not done"),
        body=_("%(community)s: “%(title)s” is back with your department: %(reason)s"),
    ),
    "issue_resolved": NoticeKind(
        subject=_("An issue was resolved"),
        body=_("%(community)s: “%(title)s” was resolved."),
    ),
    "issue_overdue": NoticeKind(
        subject=_("An issue is overdue"),
        body=_("%(community)s: “%(title)s” is past its due date."),
    ),
    "meeting_notice": NoticeKind(
        subject=_("Notice of a council meeting"),
        body=_("%(council)s meets on %(when)s at %(place)s."),
    ),
    "meeting_late_items": NoticeKind(
        subject=_("Items added to a council meeting"),
        body=_("%(council)s, meeting of %(when)s: added after the notice (%(count)s): %(items)s"),
    ),
    # To a unit based in the area, through its contact person, by text message.
    "meeting_guest_unit": NoticeKind(
        subject=_("Invitation to a council meeting"),
        body=_("%(unit)s is invited to the meeting of %(council)s on %(when)s at %(place)s."),
        to_residents=True,
    ),
    # Work a decision gave to an outside party (deliberation.actions.parties), and its reply.
    "party_task_unit": NoticeKind(
        subject=_("Work from a council meeting"),
        body=_("%(council)s, meeting of %(when)s, asks %(party)s about “%(title)s”: %(work)s"),
        to_residents=True,
    ),
    "party_task": NoticeKind(
        subject=_("Work from a council meeting"),
        body=_("%(council)s, meeting of %(when)s, asks you about “%(title)s”: %(work)s"),
    ),
    "party_replied": NoticeKind(
        subject=_("An outside party replied"),
        body=_("%(party)s replied about “%(title)s” (%(council)s, meeting of %(when)s)."),
    ),
    "meeting_guest_invited": NoticeKind(
        subject=_("Invitation to a council meeting"),
        body=_("You are invited to the meeting of %(council)s on %(when)s at %(place)s."),
    ),
    "meeting_reminder": NoticeKind(
        subject=_("Council meeting today"),
        body=_("Reminder: %(council)s meets today, %(when)s, at %(place)s."),
    ),
    "issue_reopened": NoticeKind(
        subject=_("An issue was reopened"),
        body=_("%(community)s: “%(title)s” was reopened after its follow-up review."),
    ),
    # To residents, by text message: the rating link is the point of the message, and
    # the message asks its question once.
    "review_invite": NoticeKind(
        subject=_("Was your problem fixed?"),
        body=_(
            "%(community)s: “%(title)s”, which you reported, has been handled. Was it fixed? "
            "Rate it within 30 days: %(link)s"
        ),
        to_residents=True,
    ),
    "review_reminder": NoticeKind(
        subject=_("Reminder: was your problem fixed?"),
        body=_("%(community)s: please rate how “%(title)s” was handled: %(link)s"),
        to_residents=True,
    ),
    # To the resident who raised a matter: staff's reply (issues.actions.replies), once each.
    "issue_reply": NoticeKind(
        subject=_("A reply about your report"),
        body=_("%(community)s: about “%(title)s” (%(code)s): %(reply)s"),
        to_residents=True,
    ),
    # To the residents who added "me too" to a matter (issues.actions.supporters).
    "supporter_progress": NoticeKind(
        subject=_("News about a problem you reported"),
        body=_(
            "%(community)s: there is news about “%(title)s”, which you also reported. "
            "Follow it with the code %(code)s."
        ),
        to_residents=True,
    ),
    # To a resident who asked the visiting team for a visit (visits.actions.asked): once.
    "asked_visit_scheduled": NoticeKind(
        subject=_("Your visit is scheduled"),
        body=_("%(community)s: the visiting team %(team)s will visit you on %(when)s."),
        to_residents=True,
    ),
    # A council member's own tasks on matters the council solves itself (issues.actions.tasks).
    "task_assigned": NoticeKind(
        subject=_("A task for you"),
        body=_("%(community)s: the council gave you “%(title)s” to solve."),
    ),
    "task_overdue": NoticeKind(
        subject=_("Your task is overdue"),
        body=_("%(community)s: “%(title)s” is past its due date."),
    ),
    "task_done_reported": NoticeKind(
        subject=_("A task was reported done"),
        body=_("%(community)s: “%(title)s” waits for your confirmation."),
    ),
    "task_confirmed": NoticeKind(
        subject=_("Your task was confirmed"),
        body=_("%(community)s: “%(title)s” is resolved. Thank you."),
    ),
    "task_returned": NoticeKind(
        subject=_("Your task was returned"),
        body=_("%(community)s: “%(title)s” is not done yet: %(reason)s"),
    ),
    "test": NoticeKind(subject=_("Test notice"), body=_("Message: %(text)s")),
    # To a visiting team's leader, once a day while the quarter's round is past due.
    "round_overdue": NoticeKind(
        subject=_("Your team's visiting round is overdue"),
        body=_(
            "%(team)s: %(visited)s of %(target)s households visited; the round was due on %(due)s."
        ),
    ),
    "meeting_cancelled": NoticeKind(
        subject=_("A council meeting was cancelled"),
        body=_("%(council)s will not meet on %(when)s at %(place)s."),
    ),
    # Staff moved an announced meeting (deliberation.actions.moving): once per move.
    "meeting_moved": NoticeKind(
        subject=_("A council meeting was moved"),
        body=_(
            "%(council)s: the meeting of %(before)s now takes place on %(when)s at %(place)s."
            " Reason: %(reason)s"
        ),
    ),
    "meeting_urgent": NoticeKind(
        subject=_("Urgent council meeting"),
        body=_("%(council)s meets urgently on %(when)s at %(place)s about “%(title)s”."),
    ),
    # A large export a worker built (issues.actions.exports): it opens the export's page.
    "export_ready": NoticeKind(
        subject=_("Your export is ready"),
        body=_("Your export of %(rows)s rows is ready to download."),
    ),
    "minutes_ready": NoticeKind(
        subject=_("Minutes waiting for your approval"),
        body=_("%(council)s: “%(title)s” (version %(version)s) is ready for your approval."),
    ),
}


class DeliveryError(Exception):
    """Delivery failed in a way that is worth retrying."""


def notify(
    recipient: User,
    kind: str,
    context: dict | None = None,
    channels: Iterable[str] | None = None,
    *,
    key: str | None = None,
) -> list[Notice]:
    """Record a notice to ``recipient`` on each channel and deliver it after commit.

    ``channels`` defaults to the in-app inbox plus text message and email where
    the person asked for them and has a number or address. ``key`` identifies
    the notice: calling again with the same key creates and sends nothing new.
    Returns the notices created by this call.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind: {kind}")
    wanted = list(channels) if channels is not None else default_channels(recipient)
    base_key = key or f"{kind}:{uuid.uuid4().hex}"
    created: list[Notice] = []
    with transaction.atomic():
        for channel in wanted:
            if not reachable(recipient, channel):
                continue
            notice, is_new = Notice.objects.get_or_create(
                key=f"{base_key}:{channel}",
                defaults={
                    "recipient": recipient,
                    "kind": kind,
                    "channel": channel,
                    "context": context or {},
                },
            )
            if is_new:
                created.append(notice)
    for notice in created:
        _enqueue_on_commit(notice.pk)
    return created


def notify_phone(phone: str, kind: str, context: dict, *, key: str) -> list[Notice]:
    """A text message to someone without an account (a resident), delivered after commit.

    As ``notify``: the row is the record, and the same ``key`` sends nothing twice.
    """
    return notify_phones(kind, {key: (phone, context)})


def notify_phones(kind: str, messages: Mapping[str, tuple[str, dict]]) -> list[Notice]:
    """Text messages to many people without an account: ``messages`` maps each notice's key
    to (phone, context). Returns the notices created; a key already there sends nothing.

    Two statements for any number (a sweep asks thousands of residents at once, and a
    ``get_or_create`` each was most of its time). The caller holds whatever the keys stand
    for, so nobody writes the same keys meanwhile; if someone did, the unique key fails the
    caller's transaction rather than send anything twice.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind: {kind}")
    wanted = {
        f"{key}:{Notice.Channel.SMS}": (phone, context)
        for key, (phone, context) in messages.items()
        if phone
    }
    if not wanted:
        return []
    present = set(Notice.objects.filter(key__in=list(wanted)).values_list("key", flat=True))
    created = Notice.objects.bulk_create(
        Notice(key=key, phone=phone, kind=kind, channel=Notice.Channel.SMS, context=context)
        for key, (phone, context) in wanted.items()
        if key not in present
    )
    for notice in created:
        _enqueue_on_commit(notice.pk)
    return created


def forget_phone(*, context_issue_id: int) -> int:
    """Blank the number on the text messages to residents about one issue (PIPL art. 19).

    A message still waiting has no one to go to any more: it is marked failed, not sent.
    """
    about = Notice.objects.filter(recipient__isnull=True, context__issue_id=context_issue_id)
    about.filter(status__in=[Notice.Status.PENDING, Notice.Status.SENDING]).update(
        status=Notice.Status.FAILED, last_error="contact details erased"
    )
    return about.exclude(phone="").update(phone="")


def forget_phone_of(*, key: str) -> int:
    """Blank the number on the text message to a resident sent by ``notify_phone`` under
    ``key`` (PIPL art. 19); still waiting, it is marked failed, not sent."""
    about = Notice.objects.filter(recipient__isnull=True, key=f"{key}:{Notice.Channel.SMS}")
    about.filter(status__in=[Notice.Status.PENDING, Notice.Status.SENDING]).update(
        status=Notice.Status.FAILED, last_error="contact details erased"
    )
    return about.exclude(phone="").update(phone="")


def default_channels(user: User) -> list[str]:
    channels = [Notice.Channel.INAPP]
    if user.notify_by_sms:
        channels.append(Notice.Channel.SMS)
    if user.notify_by_email:
        channels.append(Notice.Channel.EMAIL)
    return channels


def reachable(user: User, channel: str) -> bool:
    if channel == Notice.Channel.SMS:
        return bool(user.phone)
    if channel == Notice.Channel.EMAIL:
        return bool(user.email)
    return channel == Notice.Channel.INAPP


def render(notice: Notice) -> tuple[str, str]:
    """Subject and body in the active language."""
    kind = KINDS[notice.kind]
    return str(kind.subject), _format(kind.body, notice.context)


def email_text(notice: Notice) -> tuple[str, str]:
    """An email's subject and body: the body ends with the link to what it is about."""
    subject, body = render(notice)
    link = notice_link(notice)
    return subject, f"{body}\n\n{link}" if link else body


def _format(text: Promise, context: Mapping) -> str:
    try:
        return str(text) % context
    except (KeyError, TypeError, ValueError):
        return str(text)


# A text message of up to 70 Chinese characters goes as one; a matter's title is cut to
# this many characters in a text, where the link leads to the whole of it.
SMS_TITLE_CHARS = 16


def sms_text(notice: Notice) -> str:
    """What a text message says: the sender's 【signature】 first (carriers require it
    there), then the body alone, asking its question once, and, for a person with an
    account, the short link to what the notice is about."""
    context = dict(notice.context)
    title = str(context.get("title", ""))
    if len(title) > SMS_TITLE_CHARS:
        context["title"] = title[: SMS_TITLE_CHARS - 1] + "…"
    text = f"【{settings.SMS_SIGNATURE}】{_format(KINDS[notice.kind].body, context)}"
    link = notice_link(notice)
    return f"{text} {link}" if link else text


def notice_link(notice: Notice) -> str:
    """The absolute address that opens the notice (``members:notice_open``), on the site's
    public address; empty for a resident's text, whose body carries its own link."""
    if notice.recipient_id is None or KINDS[notice.kind].to_residents:
        return ""
    return settings.BASE_URL + reverse("members:notice_open", args=[notice.pk])


def target_of(user: User, notice: Notice) -> str:
    """The path of the page the notice is about; Http404 when ``user`` may no longer see it.

    The app that sends the kind answers (``members.extensions.notice_target``). A notice
    whose context does not name its target (written before its kind linked anywhere)
    leads back to the notices.
    """
    provider = extensions.notice_target.provider_for(notice.kind)
    if provider is None:
        return reverse("members:notices")
    try:
        return provider(user, notice.context)
    except (KeyError, TypeError, ValueError):
        return reverse("members:notices")


def claim(notice_id: int) -> Notice | None:
    """Take a notice for delivery; None when it is sent, failed, or another worker holds it.

    The conditional UPDATE is the lock, so it holds on SQLite as on PostgreSQL.
    A claim older than the timeout belongs to a worker that died and is taken over.
    The claim is the record that a delivery was attempted: "sending", ``claimed_at`` and
    one more ``attempts``. When the database connection is lost before the notice is read
    back, the claim is given back (on a new connection) and the error raised, for the task
    to retry: no claim is left behind by a delivery that never reached the provider.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.NOTICE_CLAIM_TIMEOUT_SECONDS)
    try:
        taken = Notice.objects.filter(
            Q(status=Notice.Status.PENDING) | Q(status=Notice.Status.SENDING, claimed_at__lt=stale),
            pk=notice_id,
        ).update(status=Notice.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if not taken:
            return None
        return Notice.objects.select_related("recipient").get(pk=notice_id)
    except CONNECTION_ERRORS:
        # Whether the UPDATE was committed is unknown: give back only a claim made now.
        _surviving_disconnect(
            lambda: Notice.objects.filter(
                pk=notice_id, status=Notice.Status.SENDING, claimed_at=now
            ).update(status=Notice.Status.PENDING, attempts=F("attempts") - 1)
        )
        raise


def deliver(notice_id: int) -> bool:
    """Deliver one notice. True when it went out now; raises DeliveryError to retry.

    A lost database connection before the send raises OperationalError or InterfaceError,
    which the task retries as well. After the provider accepted the message, recording it
    sent reconnects and retries (``_mark_sent``). Should that fail for good, the notice
    stays "sending" with its ``attempts`` counted; once the claim is stale the sweeper
    sends it again under the same ``key``, and the provider, which delivers a key once
    (``common.sms``), does not put it on the phone twice. Email gets the same Message-ID.
    """
    notice = claim(notice_id)
    if notice is None:
        return False
    try:
        _send(notice)
    except Exception as error:
        gave_up = notice.attempts >= MAX_ATTEMPTS
        outcome = {
            "status": Notice.Status.FAILED if gave_up else Notice.Status.PENDING,
            "last_error": f"{type(error).__name__}: {error}"[:2000],
        }
        _surviving_disconnect(lambda: Notice.objects.filter(pk=notice.pk).update(**outcome))
        if gave_up:
            return False
        raise DeliveryError(str(error)) from error
    _mark_sent(notice)
    return True


def _mark_sent(notice: Notice) -> None:
    """Record that the provider accepted ``notice``, on a new connection if the old one died."""
    _surviving_disconnect(
        lambda: Notice.objects.filter(pk=notice.pk).update(
            status=Notice.Status.SENT, sent_at=timezone.now(), last_error=""
        )
    )


def _surviving_disconnect(write: Callable[[], T]) -> T:
    """Run ``write`` (one autocommit statement, safe to repeat); when the database connection
    is lost, close it and run ``write`` again on a new one, a few times with a short back-off.

    Inside a transaction nothing can be retried (the transaction is gone with its
    connection): the error is raised at once.
    """
    for attempt in range(RECONNECT_TRIES):
        try:
            return write()
        except CONNECTION_ERRORS:
            if connection.in_atomic_block or attempt == RECONNECT_TRIES - 1:
                raise
            logger.warning("database connection lost; reconnecting", exc_info=True)
            connection.close()
            time.sleep(RECONNECT_BACKOFF * 2**attempt)
    raise AssertionError("unreachable")


def stalled_notice_ids(*, older_than: dt.timedelta = dt.timedelta(minutes=2)) -> list[int]:
    """Notices whose delivery never started or whose worker died: enqueue them again."""
    now = timezone.now()
    stale_claim = now - dt.timedelta(seconds=settings.NOTICE_CLAIM_TIMEOUT_SECONDS)
    return list(
        Notice.objects.filter(
            Q(status=Notice.Status.PENDING, created__lt=now - older_than)
            | Q(status=Notice.Status.SENDING, claimed_at__lt=stale_claim)
        )
        .order_by("created", "id")
        .values_list("pk", flat=True)[:1000]
    )


def notice_mark_opened(*, actor: User, notice: Notice) -> int:
    """The person opened the notice, from the inbox or from the link in its text or email:
    the inbox entry about the same thing (same key, in-app channel) is read now."""
    base = notice.key.rpartition(":")[0]
    forget_unread_count(actor)
    return Notice.objects.filter(
        recipient=actor,
        channel=Notice.Channel.INAPP,
        read_at__isnull=True,
        key__in=[notice.key, f"{base}:{Notice.Channel.INAPP}"],
    ).update(read_at=timezone.now())


@transaction.atomic
def mark_read(*, actor: User, notice_ids: Iterable[int] | None = None) -> int:
    unread = Notice.objects.filter(
        recipient=actor, channel=Notice.Channel.INAPP, read_at__isnull=True
    )
    if notice_ids is not None:
        unread = unread.filter(pk__in=list(notice_ids))
    forget_unread_count(actor)
    return unread.update(read_at=timezone.now())


def _send(notice: Notice) -> None:
    if notice.channel == Notice.Channel.INAPP:
        return  # the row itself is the inbox entry
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = email_text(notice)
        text = sms_text(notice)
    recipient = notice.recipient
    if recipient is None:
        if notice.channel != Notice.Channel.SMS or not notice.phone:
            raise ValueError("a notice without an account needs a phone number")
        sms.get_backend().send(phone=notice.phone, text=text, key=notice.key)
        return
    if notice.channel == Notice.Channel.EMAIL:
        # One Message-ID for every attempt at a notice: when a worker dies after the
        # mail server took the message, the retry is the same message to mail clients,
        # which show it once (the SMS provider gets the notice's key for the same reason).
        headers = {"Message-ID": message_id(notice)}
        EmailMessage(
            subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email], headers=headers
        ).send()
    elif notice.channel == Notice.Channel.SMS:
        sms.get_backend().send(phone=recipient.phone, text=text, key=notice.key)
    else:
        raise ValueError(f"unknown channel: {notice.channel}")


def message_id(notice: Notice) -> str:
    """The notice's email Message-ID: stable across retries, unique to this installation.

    Derived from the key with the secret key, so the key itself stays internal and two
    installations sending from one domain never share an id.
    """
    digest = salted_hmac("notice-message-id", notice.key, algorithm="sha256").hexdigest()[:40]
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<notice.{digest}@{domain}>"


def _enqueue_on_commit(notice_id: int) -> None:
    transaction.on_commit(lambda: _enqueue(task_named("members.tasks.deliver_notice"), notice_id))


def _enqueue(task, notice_id: int) -> None:
    """Hand a notice to the broker; if the broker is down the sweeper will retry it."""
    try:
        task.delay(notice_id)
    except Exception:
        logger.warning(
            "could not enqueue notice %s; the sweeper will retry", notice_id, exc_info=True
        )
