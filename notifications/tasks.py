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
def outbox_sweep_task() -> dict:
    return services.outbox_sweep()


@shared_task(ignore_result=True)
def reminders_release_task() -> int:
    return services.reminders_release_due()
