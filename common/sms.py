"""Text-message delivery, pluggable like Django's email backends.

``settings.SMS_BACKEND`` names a class with this interface::

    class MyProviderBackend(BaseSmsBackend):
        def send(self, *, phone: str, text: str, key: str) -> None:
            ...  # call the provider; raise SmsDeliveryError on failure

``key`` is the notice's idempotency key. Pass it to providers that accept a
client-side message id, so that a retry after a worker died mid-send is not
delivered twice. Raise :class:`SmsDeliveryError` (or any exception) when the
provider refuses or cannot be reached: the notice is retried with backoff.
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
    """Keeps messages in ``outbox``, for tests."""

    outbox: list[dict[str, str]] = []

    def send(self, *, phone: str, text: str, key: str) -> None:
        self.outbox.append({"phone": phone, "text": text, "key": key})


def get_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()
