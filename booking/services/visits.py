"""The visit day: check-in [签到], seen, no-shows [爽约] and their undo, extra places [加号].

Each service is one transaction that locks the booking row before changing its status
and saves only the fields it changes (`save(update_fields=...)`), so the audit log sees
every change. Locks follow the one order of `booking.services.bookings`: patient,
booking, quota (by primary key), session.
"""

import datetime
import uuid

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from booking import exceptions as errors
from booking import rules
from booking.models import Booking
from booking.selectors import policy_for_department
from booking.selectors.stops import session_alternatives
from booking.services.bookings import booking_create
from clinics.models import CapacityChange, Channel, Quota, Session
from core.errors import YuyueError
from patients.models import Account, Patient
from patients.services import patient_no_show_remove, patient_record_no_show

# How far back the beat task looks for bookings nobody came for: older ones were
# either marked already or are left to staff.
NO_SHOW_LOOKBACK = datetime.timedelta(days=7)


def booking_check_in(
    *, booking: Booking, checked_in_by: Account, now: datetime.datetime | None = None
) -> Booking:
    """The patient arrived [签到]: the booking joins the day's queue.

    Locks the booking row. Checking in twice returns the booking unchanged. A late
    arrival (after the slot's end) is still checked in; `arrived_late` tells the queue.
    `checked_in_by` is the desk's account (the audit log records the actor). Refuses
    with: booking_cancelled_by_hospital (with `.alternatives`), booking_cancelled,
    not_checkable (completed or no-show), not_today. A refusal writes nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_booking(booking)
        status = locked.status
        if status == Booking.Status.CHECKED_IN:
            return locked
        if status == Booking.Status.CANCELLED_BY_HOSPITAL:
            raise errors.BookingCancelledByHospital(
                reason=locked.cancel_reason,
                alternatives=session_alternatives(session=locked.session, now=now),
            )
        if status == Booking.Status.CANCELLED_BY_PATIENT:
            raise errors.BookingCancelled()
        if status != Booking.Status.CONFIRMED:
            raise errors.NotCheckable()
        if locked.visit_date != timezone.localdate(now):
            raise errors.NotToday(date=locked.visit_date)
        locked.status = Booking.Status.CHECKED_IN
        locked.checked_in_at = now
        locked.save(update_fields=["status", "checked_in_at", "updated_at"])
    return locked


def arrived_late(booking: Booking) -> bool:
    """Checked in after the slot had ended (the queue may call them last). No query
    when `booking.slot` is loaded."""
    return booking.checked_in_at is not None and booking.checked_in_at > booking.slot.ends_at


def booking_complete(
    *, booking: Booking, completed_by: Account, now: datetime.datetime | None = None
) -> Booking:
    """The doctor saw the patient. Locks the booking row; completing twice returns it
    unchanged. Refuses with: not_checked_in."""
    with transaction.atomic():
        locked = _lock_booking(booking)
        if locked.status == Booking.Status.COMPLETED:
            return locked
        if locked.status != Booking.Status.CHECKED_IN:
            raise errors.NotCheckedIn()
        locked.status = Booking.Status.COMPLETED
        locked.save(update_fields=["status", "updated_at"])
    return locked


def booking_mark_no_show(
    *, booking: Booking, marked_by: Account | None, now: datetime.datetime | None = None
) -> Booking:
    """The patient never came [爽约]: the slot has ended and the booking is still only
    confirmed. Recorded against the patient once (reference "booking:<id>"); at the
    department's `no_show_limit` within `no_show_window_days`, online and phone booking
    is suspended for `suspension_days` (walk-in stays open: `rules.check_patient`).

    `marked_by` is None for the beat task. Locks the patient, then the booking. Marking
    twice returns the booking unchanged and records nothing more. Refuses with:
    no_show_too_early, not_markable_no_show (checked in, completed, or cancelled: a
    hospital cancellation never counts).
    """
    return _mark_no_show(booking=booking, now=now or timezone.now())[0]


def booking_no_show_undo(
    *,
    booking: Booking,
    undone_by: Account,
    reason: str,
    now: datetime.datetime | None = None,
) -> Booking:
    """Staff take back a wrong no-show mark, saying why (`status_note`).

    The booking is confirmed again while its session has not ended (the patient can
    still check in), completed after. The no-show is removed from the patient's record
    and a suspension lifted when the no-shows left in the window are below the limit.
    Locks the patient, then the booking. Refuses with: status_note_required, not_no_show.
    """
    reason = (reason or "").strip()
    if not reason:
        raise errors.StatusNoteRequired()
    now = now or timezone.now()
    with transaction.atomic():
        patient = _lock_patient(booking.patient_id)
        locked = _lock_booking(booking)
        if locked.status != Booking.Status.NO_SHOW:
            raise errors.NotNoShow()
        locked.status = (
            Booking.Status.CONFIRMED if now < locked.session.ends_at else Booking.Status.COMPLETED
        )
        locked.status_note = reason[:200]
        locked.save(update_fields=["status", "status_note", "updated_at"])
        policy = policy_for_department(locked.department)
        patient_no_show_remove(
            patient=patient,
            reference=no_show_reference(locked),
            limit=policy.no_show_limit,
            window_days=policy.no_show_window_days,
            on=timezone.localdate(now),
        )
    return locked


def no_shows_mark_due(
    *,
    now: datetime.datetime | None = None,
    grace: datetime.timedelta = datetime.timedelta(minutes=30),
    limit: int = 500,
) -> int:
    """For the beat task: mark as no-shows the confirmed bookings whose session ended at
    least `grace` ago (at most NO_SHOW_LOOKBACK back), each in its own transaction.

    Returns how many this run marked. Safe to run twice or concurrently: each booking
    is judged under its lock, and one a twin run marked (or the desk checked in
    meanwhile) is skipped.
    """
    now = now or timezone.now()
    due = list(
        Booking.objects.filter(
            status=Booking.Status.CONFIRMED,
            session__ends_at__lte=now - grace,
            session__ends_at__gt=now - NO_SHOW_LOOKBACK,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    marked = 0
    for pk in due:
        try:
            _, changed = _mark_no_show(booking=Booking(pk=pk), now=now)
        except YuyueError:
            continue  # its status changed since the list was read
        marked += changed
    return marked


def booking_create_extra(
    *,
    patient: Patient,
    session: Session,
    requested_by: Account,
    reason: str,
    idempotency_key: str | None = None,
    now: datetime.datetime | None = None,
) -> Booking:
    """An extra place [加号] at the desk, once the session's walk-in places are gone.

    One transaction, locks in the documented order: the patient (the idempotency key is
    looked up under it, so a replay returns the first booking and adds no capacity),
    the walk-in quota of the session's first slot that has not started, the session.
    That quota's capacity grows by one (conditional UPDATE, recorded as a
    CapacityChange with reason extra_place, `reason` as its note), then the place is
    booked through `booking_create` with every one of its rules; any refusal rolls the
    capacity back too. Refuses with: extra_place_reason_required, walkin_places_left,
    extra_place_limit (`policy.extra_places_per_session`), slot_started (no slot left),
    idempotency_key_reused, and booking_create's codes. `now` chooses the slot;
    booking_create judges at the clock's time (they differ only in tests).
    """
    reason = (reason or "").strip()
    if not reason:
        raise errors.ExtraPlaceReasonRequired()
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    channel = Channel.WALKIN
    rules.check_requester(patient=patient, channel=channel, requested_by=requested_by)
    now = now or timezone.now()
    with transaction.atomic():
        _lock_patient(patient.pk)
        existing = Booking.objects.filter(requested_by=requested_by, idempotency_key=key).first()
        if existing is not None:
            if existing.patient_id != patient.pk or existing.session_id != session.pk:
                raise errors.IdempotencyKeyReused()
            return existing
        quota = (
            Quota.objects.select_for_update(of=("self",))
            .select_related("slot")
            .filter(slot__session_id=session.pk, channel=channel, slot__starts_at__gt=now)
            .order_by("slot__starts_at")
            .first()
        )
        if quota is None:
            raise errors.SlotStarted()
        locked = (
            Session.objects.select_for_update(of=("self",))
            .select_related("department", "doctor")
            .get(pk=session.pk)
        )
        policy = policy_for_department(locked.department)
        rules.check_timing(session=locked, slot=quota.slot, channel=channel, policy=policy, now=now)
        if Quota.objects.filter(
            slot__session_id=locked.pk,
            channel=channel,
            slot__starts_at__gt=now,
            booked__lt=F("capacity") - F("held"),
        ).exists():
            raise errors.WalkinPlacesLeft()
        added = CapacityChange.objects.filter(
            quota__slot__session_id=locked.pk, reason=CapacityChange.Reason.EXTRA_PLACE
        ).count()
        if added >= policy.extra_places_per_session:
            raise errors.ExtraPlaceLimit(limit=policy.extra_places_per_session)
        grown = Quota.objects.filter(pk=quota.pk, booked__gte=F("capacity") - F("held")).update(
            capacity=F("capacity") + 1
        )
        if grown != 1:
            raise errors.WalkinPlacesLeft()
        CapacityChange.objects.create(
            quota=quota,
            delta=1,
            capacity_after=Quota.objects.values_list("capacity", flat=True).get(pk=quota.pk),
            reason=CapacityChange.Reason.EXTRA_PLACE,
            ref=f"session:{locked.pk}",
            note=reason[:200],
            changed_by=requested_by,
        )
        return booking_create(
            patient=patient,
            slot=quota.slot,
            channel=channel,
            requested_by=requested_by,
            idempotency_key=key,
        )


# --- steps -------------------------------------------------------------------


def no_show_reference(booking: Booking) -> str:
    """The patient's NoShow row of this booking: recorded once, removed by an undo."""
    return f"booking:{booking.pk}"


def _lock_patient(patient_id: int) -> Patient:
    return Patient.objects.select_for_update().get(pk=patient_id)


def _lock_booking(booking: Booking) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot", "session__department", "session__doctor", "department")
        .get(pk=booking.pk)
    )


def _mark_no_show(*, booking: Booking, now: datetime.datetime) -> tuple[Booking, bool]:
    """`booking_mark_no_show`, also saying whether this call changed the booking."""
    with transaction.atomic():
        patient_id = Booking.objects.values_list("patient_id", flat=True).get(pk=booking.pk)
        patient = _lock_patient(patient_id)
        locked = _lock_booking(booking)
        if locked.status == Booking.Status.NO_SHOW:
            return locked, False
        if locked.status != Booking.Status.CONFIRMED:
            raise errors.NotMarkableNoShow()
        if now < locked.slot.ends_at:
            raise errors.NoShowTooEarly()
        locked.status = Booking.Status.NO_SHOW
        locked.save(update_fields=["status", "updated_at"])
        policy = policy_for_department(locked.department)
        patient_record_no_show(
            patient=patient,
            visit_date=locked.visit_date,
            reference=no_show_reference(locked),
            limit=policy.no_show_limit,
            window_days=policy.no_show_window_days,
            suspension_days=policy.suspension_days,
        )
    return locked, True
