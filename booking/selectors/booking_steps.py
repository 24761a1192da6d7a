"""Reads for the patient's booking steps: department → doctor → a week of sessions → a
time band → confirm, the alternatives shown when a place is refused, and the
confirmation page with its calendar file.

Every function runs a fixed number of queries whatever the number of sessions, slots
or bookings; the states in words come from `booking.selectors.availability` (which asks
the booking rules), never from here.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import F, Q, Sum
from django.utils import timezone

from booking import channels
from booking.models import Booking, BookingPolicy, Closure
from booking.selectors import availability
from booking.selectors.bookings import policies_by_department
from booking.selectors.stops import session_alternatives
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Department, Doctor, Quota, Session, Slot
from patients.models import Account


def _pk(value: object) -> int | None:
    """A positive database id from a query string value, else None (tampered or empty)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def department_get(*, department_id: object) -> Department | None:
    """An active department (with its parent), or None. One query."""
    pk = _pk(department_id)
    if pk is None:
        return None
    return Department.objects.select_related("parent").filter(pk=pk, is_active=True).first()


def doctor_get(*, doctor_id: object, department: Department) -> Doctor | None:
    """An active doctor of `department` or one of its sub-clinics, or None. One query."""
    pk = _pk(doctor_id)
    if pk is None:
        return None
    return clinic_selectors.doctor_list(department=department).filter(pk=pk).first()


def _next_online(sessions: list[Session]) -> Session | None:
    """The first session whose online place can be taken now, else the first that opens
    later (not released yet); None when neither."""
    waiting = None
    for session in sessions:
        state = session.availability[Channel.ONLINE].state
        if state == availability.State.OPEN:
            return session
        if state == availability.State.NOT_RELEASED and waiting is None:
            waiting = session
    return waiting


def doctor_list_for_booking(*, department: Department, now: datetime.datetime) -> list[Doctor]:
    """The department's active doctors (sub-clinics included), each with `next_session`:
    the session of the booking window where the next online place is (its
    `availability["online"]` says how many, or when it opens), or None.

    Five queries, whatever the number of doctors and sessions: the doctors, then
    `availability.session_list_for_patients` (four)."""
    doctors = list(clinic_selectors.doctor_list(department=department))
    by_doctor: dict[int, list[Session]] = {}
    for session in availability.session_list_for_patients(now=now, department=department):
        by_doctor.setdefault(session.doctor_id, []).append(session)
    for doctor in doctors:
        doctor.next_session = _next_online(by_doctor.get(doctor.pk, []))
    return doctors


@dataclass
class Day:
    date: datetime.date
    sessions: list[Session] = field(default_factory=list)


def session_week(
    *, department: Department, doctor: Doctor | None, now: datetime.datetime
) -> tuple[BookingPolicy, list[Day]]:
    """The department's booking window, day by day from today: each day's sessions (of
    `doctor`, or of every doctor), each with `availability` per channel. The day after
    the window is listed when its sessions exist already (it opens at the release time).

    Five queries whatever the number of sessions: the policies, and
    `availability.session_list_for_patients` (four)."""
    today = timezone.localdate(now)
    policy = policies_by_department().get(department.pk) or BookingPolicy(department=department)
    sessions = availability.session_list_for_patients(now=now, department=department)
    if doctor is not None:
        sessions = [s for s in sessions if s.doctor_id == doctor.pk]
    last = today + datetime.timedelta(days=policy.window_days)
    if sessions:
        last = max(last, sessions[-1].date)
    days = [Day(today + datetime.timedelta(days=n)) for n in range((last - today).days + 1)]
    by_date = {day.date: day for day in days}
    for session in sessions:
        if session.date in by_date:
            by_date[session.date].sessions.append(session)
    return policy, days


def _slots_with_places(session: Session, *, now: datetime.datetime) -> list[Slot]:
    """`session`'s slots, each with `online_left` (bookable online places) and
    `has_started`; sets the session's `places_left` and `last_slot_starts_at` as
    `clinics.selectors.session_list_upcoming` does. Two queries."""
    slots = list(Slot.objects.filter(session=session).order_by("starts_at", "pk"))
    quotas = Quota.objects.filter(slot__session=session).values_list(
        "slot_id", "channel", "capacity", "booked", "held"
    )
    left: dict[tuple[int, str], int] = {}
    for slot_id, channel, capacity, booked, held in quotas:
        left[(slot_id, channel)] = capacity - booked - held
    session.places_left = {channel.value: 0 for channel in Channel}
    for slot in slots:
        slot.started = slot.has_started(now)
        slot.online_left = max(left.get((slot.pk, Channel.ONLINE), 0), 0)
        if not slot.started:
            for channel in Channel:
                session.places_left[channel.value] += left.get((slot.pk, channel.value), 0)
    session.last_slot_starts_at = slots[-1].starts_at if slots else None
    return slots


def session_for_booking(*, session_id: object, now: datetime.datetime) -> Session | None:
    """An open or stopped session with its slots (`session.slot_list`, each with
    `online_left`) and `availability` per patient-facing channel, or None.

    Five queries: the session (doctor, department and room joined), its slots, its
    quotas, the policies, the closures in force."""
    pk = _pk(session_id)
    if pk is None:
        return None
    session = (
        Session.objects.select_related("doctor", "department__parent", "room")
        .filter(pk=pk, department__is_active=True)
        .first()
    )
    if session is None:
        return None
    session.slot_list = _slots_with_places(session, now=now)
    policy = policies_by_department().get(session.department_id) or BookingPolicy(
        department=session.department
    )
    closures = list(Closure.objects.active_at(now))
    session.availability = {
        channel.value: availability.session_availability(
            session=session, channel=channel, policy=policy, closures=closures, now=now
        )
        for channel in channels.PATIENT_FACING
    }
    return session


def slot_for_booking(*, slot_id: object, now: datetime.datetime) -> Slot | None:
    """A slot with its session, doctor, department and room, and `online_left`; or None.
    One query."""
    pk = _pk(slot_id)
    if pk is None:
        return None
    slot = (
        Slot.objects.select_related(
            "session__doctor", "session__department__parent", "session__room"
        )
        .filter(pk=pk, session__department__is_active=True)
        .annotate(
            online_left=Sum(
                F("quotas__capacity") - F("quotas__booked") - F("quotas__held"),
                filter=Q(quotas__channel=Channel.ONLINE),
            )
        )
        .first()
    )
    if slot is not None:
        slot.online_left = max(slot.online_left or 0, 0)
        slot.started = slot.has_started(now)
    return slot


@dataclass(frozen=True)
class Alternatives:
    """Where a refused patient can go instead: other time bands of the same session
    with online places (nearest first), then other sessions (the same doctor's next,
    then the same level's in the department that day)."""

    slots: list[Slot]
    sessions: list[Session]

    def __bool__(self) -> bool:
        return bool(self.slots or self.sessions)


def slot_alternatives(*, slot: Slot, now: datetime.datetime, limit: int = 3) -> Alternatives:
    """The nearest free alternatives to `slot`. Three or four queries: the session's
    other slots with online places, then `stops.session_alternatives`."""
    others = (
        Slot.objects.filter(session_id=slot.session_id, starts_at__gt=now)
        .exclude(pk=slot.pk)
        .filter(quotas__channel=Channel.ONLINE)
        .annotate(online_left=Sum(F("quotas__capacity") - F("quotas__booked") - F("quotas__held")))
        .filter(online_left__gt=0)
        .order_by("starts_at")
    )
    session = slot.session
    nearest = sorted(
        (s for s in others if not session.is_stopped),
        key=lambda s: abs((s.starts_at - slot.starts_at).total_seconds()),
    )[:limit]
    return Alternatives(
        slots=nearest, sessions=session_alternatives(session=session, limit=limit, now=now)
    )


def booking_get_by_code(*, account: Account, code: str) -> Booking | None:
    """One of the account's bookings by its code, with everything the confirmation page
    shows; None for another account's or an unknown code (ids leak nothing). One query."""
    code = (code or "").strip().upper()
    if not code or len(code) > 12:
        return None
    return (
        Booking.objects.filter(code=code, patient__account=account)
        .select_related(
            "patient__account",
            "slot",
            "session__doctor",
            "session__room",
            "department__parent",
        )
        .first()
    )


def booking_location(booking: Booking) -> str:
    """Where to go: the room and the clinic's location (its parent's when it has none)."""
    department = booking.department
    where = department.location or (department.parent.location if department.parent else "")
    room = booking.session.room
    return " ".join(part for part in (f"{room.code} {room.name}".strip(), where) if part)


def booking_calendar(*, booking: Booking, language: str) -> bytes | None:
    """The booking as an iCalendar file in `language`: the same event the confirmation
    e-mail carries (`notifications.messages.calendar`), with the slot's start and end
    in Asia/Shanghai and the room as the location. No query beyond `booking`'s."""
    from booking.services.bookings import message_context, name_in
    from notifications import messages

    context = message_context(booking) | {
        "department": name_in(booking.department, language),
        "doctor": name_in(booking.session.doctor, language),
        "starts_at": timezone.localtime(booking.slot.starts_at).isoformat(),
        "ends_at": timezone.localtime(booking.slot.ends_at).isoformat(),
        "location": booking_location(booking),
    }
    return messages.calendar(kind="booking_confirmed", language=language, context=context)
