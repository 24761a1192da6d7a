"""Thin Celery tasks of the patients app."""

from celery import shared_task

from patients import services


@shared_task
def sign_in_codes_purge_task() -> int:
    """Beat, nightly: drop sign-in code rows that no limit or sign-in needs any more."""
    return services.sign_in_codes_purge()
