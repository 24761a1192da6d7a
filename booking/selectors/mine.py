"""Reads of the patient's own pages: my bookings, cancel, reschedule, waitlist, messages.

Every function here reads only the account's own rows (another account's id is "not
found": `patients.exceptions.NotYourPatient`) and runs a fixed number of queries,
whatever the number of bookings, waitlist entries or messages.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from booking import rules
from booking.models import Booking, BookingPolicy, HeldPlace, WaitlistEntry
from booking.selectors import availability
from booking.selectors.bookings import booking_list_for_account, policy_for_department
from booking.selectors.stops import session_alternatives_for
from booking.selectors.waitlist import waitlist_list_for_account
from clinics.models import Channel, Quota, Session, Slot
from core.errors import YuyueError
from notifications.selectors import InboxMessage, inbox_messages
from patients.exceptions import NotYourPatient
from patients.models import Account, Patient
from patients.selectors import patient_get_for_account, patient_list_for_account

# How many past bookings the page lists (newest first); older ones stay in the records.
PAST_SHOWN = 20
# How many alternatives a stopped session offers (as `session_alternatives`).
ALTERNATIVES_SHOWN = 3


# --- my bookings -----------------------------------------------------------------


@dataclass
class MyBookings:
    upcoming: list[Booking]
    past: list[Booking]
    waitlist: list[WaitlistEntry]
    undo_minutes: int


def _bookings(account: Account):
    """The account's bookings with everything a card shows joined, and whether the
    place a cancellation freed is still held back (`place_held`)."""
    held = HeldPlace.objects.filter(freed_by=OuterRef("pk"), released_at__isnull=True)
    moved_to = Booking.objects.filter(rescheduled_from=OuterRef("pk")).values("code")[:1]
    return (
        booking_list_for_account(account=account)
        .select_related("session__room")
        .annotate(place_held=Exists(held), moved_to_code=Subquery(moved_to))
    )


def my_bookings(*, account: Account, now: datetime.datetime) -> MyBookings:
    """The account's bookings, upcoming (the slot has not ended: in time order) and past
    (newest first, the last PAST_SHOWN), and its waiting waitlist entries with their
    places in the queue.

    Each booking carries `moved_to_code` (the code of the booking it was rescheduled
    to, else None), `undo_until` (when a cancellation by the patient can no longer
    be undone, else None) and `can_undo` (that moment is still ahead and the freed place
    is still held: the undo service judges the rest); a booking the hospital cancelled
    that is still ahead carries `alternatives` (sessions with online places, each with
    `first_slot_id`). Each waitlist entry carries `position` (1-based).

    Five queries, plus two when a booking the hospital cancelled is still ahead.
    """
    undo_within = rules.UNDO_WITHIN
    upcoming = list(_bookings(account).filter(slot__ends_at__gt=now))
    past = list(_bookings(account).filter(slot__ends_at__lte=now).order_by("-slot__starts_at"))[
        :PAST_SHOWN
    ]
    for booking in upcoming + past:
        booking.undo_until = None
        booking.can_undo = False
        booking.alternatives = []
        if (
            booking.status == Booking.Status.CANCELLED_BY_PATIENT
            and booking.cancelled_by_id == account.pk
            and not booking.moved_to_code
        ):
            booking.undo_until = booking.cancelled_at + undo_within
            booking.can_undo = booking.place_held and now < booking.undo_until
    cancelled = [b for b in upcoming if b.status == Booking.Status.CANCELLED_BY_HOSPITAL]
    if cancelled:
        found = session_alternatives_many(sessions=[b.session for b in cancelled], now=now)
        for booking in cancelled:
            booking.alternatives = found[booking.session_id]
    waitlist = list(
        waitlist_list_for_account(account=account)
        .filter(status=WaitlistEntry.Status.WAITING)
        .order_by("session__starts_at", "pk")
    )
    positions = waitlist_positions(entries=waitlist)
    for entry in waitlist:
        entry.position = positions[entry.pk]
    return MyBookings(
        upcoming=upcoming,
        past=past,
        waitlist=waitlist,
        undo_minutes=int(undo_within.total_seconds() // 60),
    )


def waitlist_positions(*, entries: list[WaitlistEntry]) -> dict[int, int]:
    """`waitlist_position` of many entries at once: entry id -> 1-based place among its
    session's waiting entries (first come, first served), 0 when not waiting. One query
    (none without waiting entries)."""
    positions = {entry.pk: 0 for entry in entries}
    sessions = {e.session_id for e in entries if e.status == WaitlistEntry.Status.WAITING}
    if not sessions:
        return positions
    queue = WaitlistEntry.objects.filter(
        session_id__in=sessions, status=WaitlistEntry.Status.WAITING
    ).order_by("session_id", "created_at", "pk")
    place: dict[int, int] = {}
    for entry_id, session_id in queue.values_list("pk", "session_id"):
        place[session_id] = place.get(session_id, 0) + 1
        if entry_id in positions:
            positions[entry_id] = place[session_id]
    return positions


def session_alternatives_many(
    *, sessions: list[Session], now: datetime.datetime, limit: int = ALTERNATIVES_SHOWN
) -> dict[int, list[Session]]:
    """`stops.session_alternatives_for`, each alternative carrying `first_slot_id`, its
    earliest slot with an online place (the one-tap rebook). Two queries, whatever the
    number of sessions."""
    found = session_alternatives_for(sessions=sessions, now=now, limit=limit)
    first_slots = first_free_slots(
        session_ids={c.pk for chosen in found.values() for c in chosen}, now=now
    )
    for chosen in found.values():
        for c in chosen:
            c.first_slot_id = first_slots.get(c.pk)
    return found


def first_free_slots(*, session_ids: set[int], now: datetime.datetime) -> dict[int, int]:
    """session id -> its earliest slot not yet started with an online place. One query."""
    if not session_ids:
        return {}
    rows = (
        _free_online_quotas(now)
        .filter(slot__session_id__in=session_ids)
        .order_by("slot__starts_at", "slot_id")
        .values_list("slot__session_id", "slot_id")
    )
    first: dict[int, int] = {}
    for session_id, slot_id in rows:
        first.setdefault(session_id, slot_id)
    return first


def _free_online_quotas(now: datetime.datetime):
    return Quota.objects.filter(
        channel=Channel.ONLINE,
        slot__starts_at__gt=now,
        booked__lt=F("capacity") - F("held"),
    )


# --- one booking: cancel, reschedule ---------------------------------------------


def booking_get_mine(*, account: Account, booking_id: int) -> Booking:
    """One of the account's bookings with its slot, session (doctor, room), department
    and patient. Raises NotYourPatient for another account's or a missing id."""
    booking = (
        booking_list_for_account(account=account)
        .select_related("session__room", "patient__account")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise NotYourPatient()
    return booking


@dataclass
class CancelPreview:
    booking: Booking
    policy: BookingPolicy
    # The last moment to cancel online (the policy's cut-off before the slot).
    cutoff_at: datetime.datetime
    # Why it cannot be cancelled now (the rule's own refusal), or None.
    refusal: YuyueError | None


def booking_cancel_preview(
    *, account: Account, booking_id: int, now: datetime.datetime
) -> CancelPreview:
    """What cancelling would do, asked of the booking rules before the patient confirms.
    Raises NotYourPatient for another account's booking."""
    booking = booking_get_mine(account=account, booking_id=booking_id)
    policy = policy_for_department(booking.department)
    refusal = None
    if booking.status not in Booking.CANCELLED:
        try:
            rules.check_cancellable(booking=booking, requested_by=account, policy=policy, now=now)
        except YuyueError as exc:
            refusal = exc
    cutoff_at = booking.slot.starts_at - datetime.timedelta(minutes=policy.cancel_cutoff_minutes)
    return CancelPreview(booking=booking, policy=policy, cutoff_at=cutoff_at, refusal=refusal)


@dataclass
class RescheduleChoices:
    booking: Booking
    # Sessions of the booking's department in its booking window with online places now.
    sessions: list[Session]
    # The chosen session (from `sessions`), its slots with an online place, and the
    # chosen slot (from `slots`).
    session: Session | None = None
    slots: list[Slot] = field(default_factory=list)
    slot: Slot | None = None
    refusal: YuyueError | None = None


def reschedule_choices(
    *,
    account: Account,
    booking_id: int,
    now: datetime.datetime,
    session_id: int | None = None,
    slot_id: int | None = None,
) -> RescheduleChoices:
    """Where one of the account's bookings can move: the sessions of its department
    (and sub-clinics) in the booking window with online places (the home page's
    reading, `availability.session_list_for_patients`), then the chosen session's slots
    with an online place. `refusal` is set when the booking cannot be moved now
    (`rules.check_cancellable`). Raises NotYourPatient for another account's booking,
    Slot.DoesNotExist / Session.DoesNotExist for a session or slot not offered."""
    booking = booking_get_mine(account=account, booking_id=booking_id)
    refusal = None
    try:
        rules.check_cancellable(
            booking=booking,
            requested_by=account,
            policy=policy_for_department(booking.department),
            now=now,
        )
    except YuyueError as exc:
        refusal = exc
    sessions = [
        s
        for s in availability.session_list_for_patients(now=now, department=booking.department)
        if s.availability[Channel.ONLINE].state == availability.State.OPEN
    ]
    choices = RescheduleChoices(booking=booking, sessions=sessions, refusal=refusal)
    if session_id is None and slot_id is None:
        return choices
    by_id = {s.pk: s for s in sessions}
    if session_id not in by_id:
        raise Session.DoesNotExist()
    choices.session = by_id[session_id]
    free = _free_online_quotas(now).filter(slot__session_id=session_id)
    choices.slots = list(
        Slot.objects.filter(pk__in=free.values("slot_id"))
        .exclude(pk=booking.slot_id)
        .order_by("starts_at")
    )
    if slot_id is not None:
        chosen = [s for s in choices.slots if s.pk == slot_id]
        if not chosen:
            raise Slot.DoesNotExist()
        choices.slot = chosen[0]
    return choices


def slot_get_for_reschedule(*, booking: Booking, session_id: int, slot_id: int) -> Slot:
    """A slot a booking may be asked to move to: of `session_id`, in the booking's
    department or one of its sub-clinics (as `reschedule_choices` lists them). Whether it has a place, is
    open, released... is the reschedule service's to judge. Raises Slot.DoesNotExist
    for a tampered id. One query."""
    department = booking.department
    departments = Q(session__department_id=department.pk) | Q(
        session__department__parent_id=department.pk
    )
    return Slot.objects.filter(departments).get(pk=slot_id, session_id=session_id)


# --- waitlist ----------------------------------------------------------------------


@dataclass
class WaitlistJoinChoices:
    session: Session
    patients: list[Patient]
    # Online places still bookable: a session with places is booked, not waited for.
    places_left: int


def waitlist_join_choices(*, account: Account, session_id: int) -> WaitlistJoinChoices:
    """A session to wait for and the account's patients to choose from. Raises
    Session.DoesNotExist for a missing or stopped session."""
    now = timezone.now()
    session = (
        Session.objects.select_related("doctor", "department", "room")
        .annotate(
            left=Sum(
                F("slots__quotas__capacity")
                - F("slots__quotas__booked")
                - F("slots__quotas__held"),
                filter=Q(slots__quotas__channel=Channel.ONLINE, slots__starts_at__gt=now),
            )
        )
        .get(pk=session_id, status=Session.Status.OPEN)
    )
    return WaitlistJoinChoices(
        session=session,
        patients=list(patient_list_for_account(account=account)),
        places_left=session.left or 0,
    )


def waitlist_entry_get_mine(*, account: Account, entry_id: int) -> WaitlistEntry:
    """One of the account's waitlist entries. Raises NotYourPatient otherwise."""
    entry = waitlist_list_for_account(account=account).filter(pk=entry_id).first()
    if entry is None:
        raise NotYourPatient()
    return entry


def patient_get_mine(*, account: Account, patient_id: object) -> Patient:
    return patient_get_for_account(account=account, patient_id=patient_id)


# --- messages ----------------------------------------------------------------------


# The "my messages" page's item (notifications.selectors.inbox_messages).
MyMessage = InboxMessage


def message_list_for_account(*, account: Account) -> list[MyMessage]:
    """The account's messages newest first, each with the code of the booking it speaks
    of, without one-time sign-in codes (`notifications.selectors.inbox_messages`, which
    the API's inbox reads too). One query."""
    return inbox_messages(account_id=account.pk)


__all__ = [
    "CancelPreview",
    "MyBookings",
    "MyMessage",
    "RescheduleChoices",
    "WaitlistJoinChoices",
    "booking_cancel_preview",
    "booking_get_mine",
    "first_free_slots",
    "message_list_for_account",
    "my_bookings",
    "patient_get_mine",
    "reschedule_choices",
    "session_alternatives_many",
    "slot_get_for_reschedule",
    "waitlist_entry_get_mine",
    "waitlist_join_choices",
    "waitlist_positions",
]
