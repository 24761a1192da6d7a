"""Thin Celery tasks of the front desk: they call one service.

Every task is safe to run twice (acks late): the services are idempotent.
"""

from celery import shared_task
from django.db import OperationalError

from booking import services as booking_services

_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**_RETRY)
def no_shows_mark_task() -> int:
    """Beat, every 10 minutes: bookings nobody came for, once their session has ended,
    become no-shows [爽约] (booking's `no_shows_mark_due`). Returns how many."""
    return booking_services.no_shows_mark_due()
