from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from members import notifications

# A send still running when its claim goes stale would be taken over and sent twice.
# So a send gives up at half the claim's timeout (the notice goes back to pending and
# is retried) and its pool process is stopped at three quarters. Only the prefork pool
# enforces time limits; the solo and threads pools do not.
_CLAIM_TIMEOUT = settings.NOTICE_CLAIM_TIMEOUT_SECONDS


@shared_task(
    acks_late=True,
    # A worker whose pool process died puts the message back on the queue. Back at a
    # worker it finds the notice claimed and does nothing; once the claim is stale the
    # sweeper below enqueues it again. Neither path sends a notice that went out.
    reject_on_worker_lost=True,
    soft_time_limit=max(1, _CLAIM_TIMEOUT // 2),
    time_limit=max(2, _CLAIM_TIMEOUT * 3 // 4),
    # A lost database connection too: the claim gives itself back first (notifications.claim).
    autoretry_for=(notifications.DeliveryError, OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=notifications.MAX_ATTEMPTS,
)
def deliver_notice(notice_id: int) -> bool:
    return notifications.deliver(notice_id)


@shared_task(acks_late=True)
def requeue_stalled_notices() -> int:
    """Enqueue again the notices the broker lost and those whose worker died mid-send."""
    notice_ids = notifications.stalled_notice_ids()
    for notice_id in notice_ids:
        deliver_notice.delay(notice_id)
    return len(notice_ids)
