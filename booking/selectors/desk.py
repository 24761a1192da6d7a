"""The front desk's reads: sessions with walk-in or phone places, bookings to check in.

Places are counted as the home page counts them (`clinics.selectors.session_list_upcoming`
over the slots not started, `booking.selectors.availability.session_availability` for the
state: stopped, ended, paused by a closure, not released, full, open); these pages only
add what the desk needs next: the slot a walk-in gets now, the slots a caller can choose.
Fixed queries whatever the number of sessions.
"""

import datetime

from django.db.models import F, Q
from django.utils import timezone

from booking.models import Booking
from booking.selectors.availability import State, closures_in_force, session_availability
from booking.selectors.bookings import policies_by_department
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Department, Quota, Session, Slot

__all__ = [
    "State",
    "booking_find_by_code",
    "booking_get_for_desk",
    "bookings_today_for_phone",
    "phone_sessions",
    "session_slots_with_places",
    "walkin_sessions_today",
]


def walkin_sessions_today(*, department: Department, now: datetime.datetime) -> list[Session]:
    """Today's sessions of `department` (and its sub-clinics), in time order, each with
    `availability` (the walk-in channel's state and places left in the slots not started
    at `now`) and `next_slot`: the first slot not started with a walk-in place, or None.

    Stopped and ended sessions are listed too, with their state, so the desk can say
    why. Four queries: sessions, their quotas, closures in force, the next slots.
    """
    today = timezone.localdate(now)
    sessions = clinic_selectors.session_list_upcoming(
        start=today, days=1, department=department, now=now
    )
    if not sessions:
        return sessions
    closures = closures_in_force(now=now)
    for session in sessions:
        # Walk-in is not a public channel: the booking window and release time (the
        # policy) do not apply to it, so no policy is read.
        session.availability = session_availability(
            session=session, channel=Channel.WALKIN, policy=None, closures=closures, now=now
        )
        session.next_slot = None
    _attach_next_slots(sessions, channel=Channel.WALKIN, now=now)
    return sessions


def _attach_next_slots(sessions: list[Session], *, channel: str, now: datetime.datetime) -> None:
    """Set `next_slot` on each open session: its first slot not started with a place
    of `channel`. One query."""
    open_ids = [s.pk for s in sessions if s.availability.state == State.OPEN]
    if not open_ids:
        return
    first: dict[int, Slot] = {}
    quotas = (
        Quota.objects.filter(
            slot__session_id__in=open_ids,
            channel=channel,
            slot__starts_at__gt=now,
            booked__lt=F("capacity") - F("held"),
        )
        .select_related("slot")
        .order_by("slot__starts_at", "slot_id")
    )
    for quota in quotas:
        first.setdefault(quota.slot.session_id, quota.slot)
    for session in sessions:
        session.next_slot = first.get(session.pk)


def phone_sessions(
    *, department: Department, now: datetime.datetime, days: int = 7
) -> list[Session]:
    """Sessions of `department` (and its sub-clinics) from today for `days` days that a
    caller can be booked into now: the phone channel open (not stopped, ended, paused or
    before its release) with places left in the slots not started. Each carries
    `availability` (its `places`). Four queries: policies, sessions, quotas, closures.
    """
    today = timezone.localdate(now)
    policies = policies_by_department()
    sessions = clinic_selectors.session_list_upcoming(
        start=today, days=days, department=department, now=now
    )
    if not sessions:
        return sessions
    closures = closures_in_force(now=now)
    listed = []
    for session in sessions:
        session.availability = session_availability(
            session=session,
            channel=Channel.PHONE,
            policy=policies[session.department_id],
            closures=closures,
            now=now,
        )
        if session.availability.state == State.OPEN:
            listed.append(session)
    return listed


def session_slots_with_places(
    *, session: Session, channel: str, now: datetime.datetime
) -> list[Slot]:
    """`session`'s slots not started at `now` with a place of `channel` left, in time
    order, each with `places` (how many). One query."""
    quotas = (
        Quota.objects.filter(
            slot__session=session,
            channel=channel,
            slot__starts_at__gt=now,
            booked__lt=F("capacity") - F("held"),
        )
        .select_related("slot")
        .order_by("slot__starts_at", "slot_id")
    )
    slots = []
    for quota in quotas:
        slot = quota.slot
        slot.places = quota.available
        slots.append(slot)
    return slots


def _booking_related():
    return Booking.objects.select_related(
        "patient__account", "slot", "session__doctor", "session__room", "department"
    )


def booking_find_by_code(*, code: str) -> Booking | None:
    """The booking with this code (as printed, or as a QR scanner types it), or None.
    One query, with patient, slot, session, doctor, room and department joined."""
    code = "".join((code or "").split()).upper()
    if not code:
        return None
    return _booking_related().filter(code=code).first()


def bookings_today_for_phone(*, phone: str, now: datetime.datetime) -> list[Booking]:
    """Today's bookings of the patients reached at `phone` (the patient's own phone or
    their account's; `phone` already normalised), every status, in time order: the desk
    checks in the one the patient means. One query."""
    if not phone:
        return []
    return list(
        _booking_related()
        .filter(visit_date=timezone.localdate(now))
        .filter(Q(patient__phone=phone) | Q(patient__account__phone=phone))
        .order_by("slot__starts_at", "pk")
    )


def booking_get_for_desk(*, booking_id: object) -> Booking | None:
    """One booking, any patient's (the desk's pages need staff rights), with patient,
    slot, session, doctor, room and department joined; None if unknown. One query."""
    try:
        return _booking_related().get(pk=int(booking_id))
    except (Booking.DoesNotExist, ValueError, TypeError):
        return None
