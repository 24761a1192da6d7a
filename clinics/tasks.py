from celery import shared_task
from django.db import OperationalError

from clinics import services


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def sessions_generate_task() -> dict[str, int]:
    """Daily (beat): make sure the booking window's sessions exist. Safe to run twice."""
    return services.sessions_generate().as_dict()
