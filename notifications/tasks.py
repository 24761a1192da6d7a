"""Thin Celery tasks: ids in, one service call each. Every task is safe to run twice."""

from celery import shared_task
from django.conf import settings

from notifications import services


@shared_task(ignore_result=True)
def outbox_send_task(message_id: int) -> str:
    attempt = services.message_attempt(message_id=message_id)
    # A short back-off goes back to the broker; a long one waits in the row for the
    # sweep (far-future work is never a broker ETA).
    if (
        attempt.retry_in is not None
        and attempt.retry_in <= settings.YUYUE_OUTBOX_COUNTDOWN_MAX_SECONDS
    ):
        services._publish(message_id, countdown=attempt.retry_in)
    return attempt.outcome


@shared_task(ignore_result=True)
def outbox_send_batch_task(message_ids: list[int]) -> int:
    """The web relay's batch: one task each, so messages are sent (and retried) in
    parallel and on their own. A lost publish is the sweep's, as for one message."""
    for message_id in message_ids:
        services._publish(message_id)
    return len(message_ids)


@shared_task(ignore_result=True)
def outbox_sweep_task() -> dict:
    return services.outbox_sweep()


@shared_task(ignore_result=True)
def reminders_release_task() -> int:
    return services.reminders_release_due()
