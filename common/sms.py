"""Text-message delivery, pluggable like Django's email backends.

``settings.SMS_BACKEND`` names a class with this interface::

    class MyProviderBackend(BaseSmsBackend):
        def send(self, *, phone: str, text: str, key: str) -> None:
            ...  # call the provider; raise SmsDeliveryError on failure

``key`` is the notice's idempotency key, the same on every attempt at one notice.
The contract: a message whose key the provider has already accepted is not delivered
a second time. Pass it as the provider's client-side message id (or keep the keys
sent, for a provider without one). A notice is asked for again only when its worker
died, or lost the database for good, after the provider accepted it (its claim goes
stale and the sweeper re-sends it): the key is what keeps that from reaching the phone
twice. Raise :class:`SmsDeliveryError` (or any exception) when the provider refuses
or cannot be reached: the notice is retried with backoff.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsDeliveryError(Exception):
    pass


class BaseSmsBackend:
    def send(self, *, phone: str, text: str, key: str) -> None:
        raise NotImplementedError


class LoggingSmsBackend(BaseSmsBackend):
    """Writes each message to the log instead of sending it (the default).

    The number is masked: phone numbers never go to logs in full.
    """

    def send(self, *, phone: str, text: str, key: str) -> None:
        from common.phones import mask_phone

        logger.info("SMS to %s [%s]: %s", mask_phone(phone), key, text)


class MemorySmsBackend(BaseSmsBackend):
    """Keeps every request in ``outbox``, for tests: a test counts the requests per key
    (``tests.deliveries.SmsProvider`` also keeps what a phone would show, once per key)."""

    outbox: list[dict[str, str]] = []

    def send(self, *, phone: str, text: str, key: str) -> None:
        self.outbox.append({"phone": phone, "text": text, "key": key})


def get_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()
