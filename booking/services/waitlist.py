"""The waitlist [候补]: patients waiting for a full session; freed places go to them first.

First come, first served. A freed place is held back on its quota (release.place_freed)
and offered, in a new transaction per candidate, to the session's first eligible
waiting entry; an ineligible entry (limits, suspension...) is skipped and keeps its
place in the queue. Without a taker the place returns to its quota at its release time.
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from booking import channels, rules
from booking import exceptions as errors
from booking.models import Booking, HeldPlace, WaitlistEntry
from booking.selectors import policy_for_department
from booking.selectors.waitlist import (
    WAITLIST_LIMIT,
    session_online_places_left,
    waitlist_candidates,
    waitlist_closes_at,
    waitlist_last_open_date,
)
from booking.services import bookings, release
from clinics.models import Session
from core.errors import YuyueError
from patients.exceptions import NotYourPatient
from patients.models import Account, Patient

logger = logging.getLogger(__name__)


def waitlist_join(*, patient: Patient, session: Session, requested_by: Account) -> WaitlistEntry:
    """Put `patient` on the waitlist of a full `session`.

    Judged under the patient's row lock and then the session's (lock order: patient …
    session), by the rules of booking (staff join for phone callers, patients online).
    The session lock serialises a join with `session_stop`: a join either commits before
    the stop, whose waitlist closing then finds it, or sees the stopped session and is
    refused. Refuses with: not_your_patient, session_stopped, waitlist_closed,
    outside_window, not_yet_released, channel_closed, patient_suspended,
    already_booked_session, duplicate_department_day, daily_limit, weekly_limit,
    session_has_places, already_waitlisted, waitlist_limit. A refusal writes nothing.
    """
    if not requested_by.is_staff and patient.account_id != requested_by.pk:
        raise NotYourPatient()
    channel = channels.waitlist_channel(staff=requested_by.is_staff)
    now = timezone.now()
    try:
        with transaction.atomic():
            locked = Patient.objects.select_for_update().get(pk=patient.pk)
            session = (
                Session.objects.select_for_update(of=("self",))
                .select_related("department")
                .get(pk=session.pk)
            )
            policy = policy_for_department(session.department)
            if session.is_stopped:
                raise errors.SessionStopped()
            if now >= waitlist_closes_at(session=session):
                raise errors.WaitlistClosed()
            rules.check_window(session=session, policy=policy, now=now)
            rules.check_channel_open(session=session, channel=channel, now=now)
            rules.check_patient(
                patient=locked, session=session, channel=channel, policy=policy, now=now
            )
            if session_online_places_left(session=session, now=now) > 0:
                raise errors.SessionHasPlaces()
            waiting = WaitlistEntry.objects.filter(
                patient=locked, status=WaitlistEntry.Status.WAITING
            )
            if waiting.filter(session=session).exists():
                raise errors.AlreadyWaitlisted()
            if waiting.count() >= WAITLIST_LIMIT:
                raise errors.WaitlistLimit(limit=WAITLIST_LIMIT)
            return WaitlistEntry.objects.create(
                patient=locked, session=session, requested_by=requested_by
            )
    except IntegrityError as exc:  # the partial unique constraint: a twin request won
        if WaitlistEntry.objects.filter(
            patient=patient, session=session, status=WaitlistEntry.Status.WAITING
        ).exists():
            raise errors.AlreadyWaitlisted() from exc
        raise


def waitlist_leave(*, entry: WaitlistEntry, requested_by: Account) -> WaitlistEntry:
    """Take an entry off the waitlist; leaving twice returns the entry that left.

    Refuses with: not_your_patient, waitlist_not_waiting (booked or closed).
    """
    if not requested_by.is_staff and entry.patient.account_id != requested_by.pk:
        raise NotYourPatient()
    with transaction.atomic():
        Patient.objects.select_for_update().get(pk=entry.patient_id)
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status == WaitlistEntry.Status.LEFT:
            return entry
        if entry.status != WaitlistEntry.Status.WAITING:
            raise errors.NotWaiting()
        entry.status = WaitlistEntry.Status.LEFT
        entry.closed_at = timezone.now()
        entry.save(update_fields=["status", "closed_at"])
    return entry


def waitlist_close_due(*, now: datetime.datetime | None = None) -> int:
    """Beat: close the waiting entries of sessions whose waitlist closed (20:00 the day
    before). Catches up on any missed run; safe to run twice. Returns entries closed."""
    now = now or timezone.now()
    return WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.WAITING,
        session__date__lte=waitlist_last_open_date(now=now),
    ).update(status=WaitlistEntry.Status.CLOSED, closed_at=now)


# --- a freed place goes to the waitlist first ---------------------------------------


def held_place_offer(*, held_place_id: int) -> Booking | None:
    """Book the first eligible waiting entry into a held place; None if nobody took it.

    One transaction per candidate, in the lock order patient, held place, waitlist
    entry, quota, session. The booking is made by the rules of booking_create
    (bookings.booking_create_from_held) and its message is `waitlist_booked`. An
    ineligible entry is skipped and stays waiting. Safe to run twice: the held place and
    the entry are re-read under their locks, and the booking's idempotency key is the
    entry's.
    """
    held = (
        HeldPlace.objects.select_related("quota__slot", "freed_by")
        .filter(pk=held_place_id, released_at__isnull=True)
        .first()
    )
    if held is None or held.quota.channel not in channels.PUBLIC:
        return None
    now = timezone.now()
    candidates = waitlist_candidates(
        session_id=held.quota.slot.session_id,
        joined_by=held.freed_by.cancelled_at or now,
        now=now,
    )
    for entry in candidates:
        try:
            with transaction.atomic():
                booking = _offer_to(entry=entry, held_place_id=held.pk, now=now)
        except YuyueError as refusal:
            logger.info("waitlist entry %s skipped: %s", entry.pk, refusal.code)
            continue
        if booking is not _SKIP:
            return booking
    return None


_SKIP = object()


def _offer_to(*, entry: WaitlistEntry, held_place_id: int, now: datetime.datetime):
    """Must be called inside a transaction. Returns the booking, None when the place is
    gone (stop looking), or _SKIP when this entry no longer waits."""
    Patient.objects.select_for_update().get(pk=entry.patient_id)
    held = (
        HeldPlace.objects.select_for_update()
        .select_related("quota__slot")
        .filter(pk=held_place_id, released_at__isnull=True)
        .first()
    )
    if held is None:
        return None
    entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(pk=entry.pk, status=WaitlistEntry.Status.WAITING)
        .first()
    )
    if entry is None:
        return _SKIP
    booking = bookings.booking_create_from_held(
        patient=entry.patient,
        slot=held.quota.slot,
        channel=held.quota.channel,
        requested_by=entry.requested_by,
        idempotency_key=f"waitlist:{entry.pk}",
    )
    held.released_at = now
    held.outcome = HeldPlace.Outcome.WAITLIST
    held.taken_by = booking
    held.save(update_fields=["released_at", "outcome", "taken_by"])
    entry.status = WaitlistEntry.Status.BOOKED
    entry.booking = booking
    entry.closed_at = now
    entry.save(update_fields=["status", "booking", "closed_at"])
    return booking


def held_places_settle(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Beat (every minute): each held place whose release time passed is offered to the
    waitlist once more (a lost offer task loses nothing), else returned to its quota."""
    now = now or timezone.now()
    offered = returned = 0
    for held_place_id in release.held_places_due(now=now):
        if held_place_offer(held_place_id=held_place_id) is not None:
            offered += 1
        elif release.held_place_return(held_place_id=held_place_id, now=now):
            returned += 1
    return {"offered": offered, "returned": returned}
