"""Thin Celery tasks of the booking app: they take ids and call one service.

Every task is safe to run twice (acks late): the services are idempotent.
"""

from celery import shared_task
from django.db import OperationalError

from booking.models import Closure
from booking.selectors import session_horizon
from booking.services import release, waitlist
from clinics.services import sessions_generate

_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**_RETRY)
def release_closure_task(closure_id: int) -> dict[str, int] | None:
    """Published on commit when a closure with release_places=True is created."""
    if not Closure.objects.filter(pk=closure_id).exists():
        return None  # a missing row is a return, not a retry
    run = release.release_for_closure(closure_id=closure_id)
    return {"run": run.pk, "places": run.places_moved, "sessions": run.sessions_touched}


@shared_task(**_RETRY)
def release_closures_pending_task() -> list[int]:
    """Beat, every 5 minutes: closure releases whose task was lost or failed."""
    return [run.pk for run in release.release_closures_pending()]


@shared_task(**_RETRY)
def release_due_sessions_task() -> dict[str, int] | None:
    """Beat, every 5 minutes: the pre-session release to walk-in."""
    run = release.release_due_sessions()
    if run is None:
        return None
    return {"run": run.pk, "places": run.places_moved, "sessions": run.sessions_touched}


@shared_task(**_RETRY)
def offer_freed_place_task(held_place_id: int) -> int | None:
    """Published on commit by a cancellation whose session has a waitlist."""
    booking = waitlist.held_place_offer(held_place_id=held_place_id)
    return booking.pk if booking is not None else None


@shared_task(**_RETRY)
def release_held_places_task() -> dict[str, int]:
    """Beat, every minute: held places past their release time go to the waitlist or
    back to their quota."""
    return waitlist.held_places_settle()


@shared_task(**_RETRY)
def waitlist_close_due_task() -> int:
    """Beat, at 20:00: close the waiting entries of tomorrow's (and earlier) sessions."""
    return waitlist.waitlist_close_due()


@shared_task(**_RETRY)
def release_return_task(closure_id: int) -> dict[str, int] | None:
    """Published on commit when a closure is reopened with return_places."""
    run = release.release_return_for_closure(closure_id=closure_id)
    if run is None:
        return None
    return {"run": run.pk, "places_returned": run.places_returned}


@shared_task(**_RETRY)
def sessions_generate_task() -> dict[str, int]:
    """Beat, daily: make sure each department's booking window of sessions exists (its
    policy's `window_days` ahead). Here, not in clinics: the window is booking's rule."""
    return sessions_generate(horizon_days=session_horizon()).as_dict()
