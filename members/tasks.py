from celery import shared_task

from members import notifications


@shared_task(
    acks_late=True,
    autoretry_for=(notifications.DeliveryError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=notifications.MAX_ATTEMPTS,
)
def deliver_notice(notice_id: int) -> bool:
    return notifications.deliver(notice_id)


@shared_task(acks_late=True)
def requeue_stalled_notices() -> int:
    notice_ids = notifications.stalled_notice_ids()
    for notice_id in notice_ids:
        deliver_notice.delay(notice_id)
    return len(notice_ids)
