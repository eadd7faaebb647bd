"""A text-message provider and a mail server for tests that run real worker processes.

A worker selects them through ``SMS_BACKEND=tests.deliveries.SmsProvider`` and
``EMAIL_BACKEND=tests.deliveries.MailServer``. Both write what they receive under
``TEST_OUTBOX``, one file per message, so that a test counts deliveries across
processes. ``TEST_SLOW=<channel>:<stage>`` (``sms:before``, ``sms:after``,
``email:before``, ``email:after``) makes the first delivery on that channel wait
``TEST_SLOW_SECONDS`` before or after the message is accepted, announcing the
wait in ``slow.json`` first: a test kills the worker during the wait.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

from common.sms import BaseSmsBackend


def _outbox() -> Path:
    outbox = Path(os.environ["TEST_OUTBOX"])
    outbox.mkdir(parents=True, exist_ok=True)
    return outbox


def _create(path: Path, data: bytes) -> bool:
    """Write ``path`` unless it exists; False when it did (another delivery got there first)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return True


def _pause(channel: str, stage: str, what: str) -> None:
    """Wait in the first delivery on the slow channel and stage; later ones run at once."""
    if os.environ.get("TEST_SLOW") != f"{channel}:{stage}":
        return
    marker = {"channel": channel, "stage": stage, "what": what, "pid": os.getpid()}
    if _create(_outbox() / "slow.json", json.dumps(marker).encode()):
        time.sleep(float(os.environ.get("TEST_SLOW_SECONDS", "30")))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class SmsProvider(BaseSmsBackend):
    """Delivers each message id once, as a provider that takes a client-side message id does.

    Every request is kept (``sms-request-*``) apart from what reaches the phone
    (``sms-delivered-*``), so a test sees a second send even when the phone shows one.
    """

    def send(self, *, phone: str, text: str, key: str) -> None:
        _pause("sms", "before", key)
        record = json.dumps({"phone": phone, "text": text, "key": key}).encode()
        _create(_outbox() / f"sms-request-{uuid.uuid4().hex}.json", record)
        _create(_outbox() / f"sms-delivered-{_digest(key)}.json", record)
        _pause("sms", "after", key)


class MailServer(BaseEmailBackend):
    """Accepts every message it is given, one file each, as an SMTP server would."""

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            recipients = ",".join(message.recipients())
            _pause("email", "before", recipients)
            _create(_outbox() / f"mail-{uuid.uuid4().hex}.eml", message.message().as_bytes())
            _pause("email", "after", recipients)
        return len(email_messages)


# --- In the test process: choosing these for a worker, reading the outbox ------------------


def delivery_env(outbox: Path) -> dict[str, str]:
    """The environment that makes a worker deliver through these, into ``outbox``."""
    return {
        "TEST_OUTBOX": str(outbox),
        "SMS_BACKEND": "tests.deliveries.SmsProvider",
        "EMAIL_BACKEND": "tests.deliveries.MailServer",
    }


def slow_delivery(outbox: Path) -> dict | None:
    """The delivery that is waiting: channel, stage, key or address, and process id."""
    try:
        return json.loads((outbox / "slow.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None  # not yet, or still being written


def sms_requests(outbox: Path) -> Counter:
    """How many times the provider was asked to send each notice key."""
    return Counter(json.loads(p.read_text())["key"] for p in outbox.glob("sms-request-*.json"))


def sms_delivered(outbox: Path) -> Counter:
    """How many messages each notice key put on a phone."""
    return Counter(json.loads(p.read_text())["key"] for p in outbox.glob("sms-delivered-*.json"))


def mails(outbox: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("mail-*.eml"))
    ]


def mail_key(message: email.message.EmailMessage) -> tuple[str, str, str]:
    """What the reader sees: to whom, the subject and the text."""
    return (str(message["To"]), str(message["Subject"]), message.get_content().strip())


def mailbox(outbox: Path) -> Counter:
    """The messages as a mail client shows them: one per Message-ID, as Gmail does."""
    seen: dict[str, tuple[str, str, str]] = {}
    for message in mails(outbox):
        seen.setdefault(str(message["Message-ID"]), mail_key(message))
    return Counter(seen.values())
