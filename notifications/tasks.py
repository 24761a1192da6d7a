from celery import shared_task

from notifications import services


@shared_task(
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def outbox_send_task(message_id: int) -> bool:
    return services.message_send(message_id=message_id)


@shared_task
def outbox_sweep_task() -> int:
    return services.outbox_republish_pending()
