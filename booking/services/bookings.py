"""The booking lifecycle: create, cancel, reschedule.

Capacity moves only through conditional UPDATEs of quota rows; the rules
(`booking.rules`) are judged while holding the patient's row lock, so two requests for
one patient are judged one after the other, and an idempotency key is looked up under
that lock too, so a replay always finds the first result. Locks are always taken in
one order — patient, booking, held place, waitlist entry, quota (by primary key),
session — so concurrent requests never deadlock.
"""

import datetime
import secrets
import uuid

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    F,
    Q,
)
from django.utils import formats, timezone, translation

from booking import exceptions as errors
from booking import rules
from booking.models import Booking, BookingPolicy, HeldPlace
from booking.selectors import policy_for_department
from booking.selectors.stops import session_alternatives
from booking.services import release
from booking.services.slot_read import slot_for_booking
from clinics.models import ClinicLevel, Department, Doctor, Quota, Session, Slot
from core.errors import YuyueError
from notifications.services import (
    message_cancel,
    message_enqueue,
    reminder_restore,
    reminder_schedule,
)
from patients.exceptions import NotYourPatient
from patients.models import Account, Patient

CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no 0/O, 1/I, 2/Z, 5/S, 8/B look-alikes
CODE_LENGTH = 8
CANCELLED_BY_HOSPITAL_MESSAGE = "booking_cancelled_by_hospital"
# Within a day of the visit the patient must know before leaving home: a hospital
# cancellation goes out even in quiet hours.
URGENT_WITHIN = datetime.timedelta(hours=24)


def booking_create(
    *,
    patient: Patient,
    slot: Slot,
    channel: str,
    requested_by: Account,
    idempotency_key: str | None = None,
) -> Booking:
    """Book one place for `patient` in `slot` through `channel`.

    The same `idempotency_key` from the same account returns the first booking
    instead of making a second. Refuses with: not_your_patient, channel_not_allowed,
    session_stopped, slot_started, outside_window, walkin_same_day, not_yet_released,
    slot_full, channel_closed, patient_suspended, already_booked_session,
    duplicate_department_day, daily_limit, weekly_limit, idempotency_key_reused. A
    refusal writes nothing.

    Built for the release minute: one read (the slot with its session, department,
    doctor, room, the places left and whether the key was used) and the policy judge the
    timing rules and refuse a sold-out slot without a transaction or a lock; a booking
    is then one transaction of eight statements (`tests/booking/test_query_counts.py`).
    The returned booking has its patient, slot, session (doctor, room) and department
    loaded, so a caller can render it without reading it back.
    """
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    rules.check_requester(patient=patient, channel=channel, requested_by=requested_by)
    slot = _slot_for_booking(slot_id=slot.pk, channel=channel, requested_by=requested_by, key=key)
    policy = None
    if not slot.replayed:
        policy = _policy_of(slot.session.department)
        _refuse_early(patient=patient, slot=slot, channel=channel, policy=policy)
    try:
        with transaction.atomic():
            locked = _lock_patient(patient)
            if slot.replayed:
                existing = _booking_for_key(requested_by=requested_by, key=key)
                if existing is not None:
                    return _replay(existing, patient=patient, slot=slot, rescheduled_from=None)
            return _book(
                patient=locked,
                slot=slot,
                channel=channel,
                requested_by=requested_by,
                key=key,
                loaded=True,
                policy=policy,
            )
    except YuyueError:
        # A twin with the same key may have committed while this request waited for the
        # patient's lock (its booking then refuses this one as already_booked_session):
        # the replay answers the first booking. Looked up only when refusing, after
        # the rollback.
        existing = _booking_for_key(requested_by=requested_by, key=key)
        if existing is None:
            raise
        return _replay(existing, patient=patient, slot=slot, rescheduled_from=None)
    except IntegrityError as exc:
        return _resolve_integrity_race(
            exc,
            patient=patient,
            slot=slot,
            requested_by=requested_by,
            key=key,
            rescheduled_from=None,
        )


def booking_create_from_held(
    *, patient: Patient, slot: Slot, channel: str, requested_by: Account, idempotency_key: str
) -> Booking:
    """Book `patient` into a place of `slot`'s quota that is held back (quota.held), not
    into free capacity: the waitlist's way in. Judged by every rule of booking_create
    except the requester's channel; the message is `waitlist_booked`.

    Must be called inside a transaction that already holds the patient's row lock and the
    held place's row (lock order: patient, held place, quota, session). Refuses as
    booking_create does; slot_full when the quota has no held place left.
    """
    return _book(
        patient=patient,
        slot=slot,
        channel=channel,
        requested_by=requested_by,
        key=idempotency_key,
        from_held=True,
    )


def booking_cancel(
    *, booking: Booking, requested_by: Account, reason: str = "", by_hospital: bool = False
) -> Booking:
    """Cancel a booking, record who cancelled and why, and free its place.

    A patient cancels their own booking online until the policy's cut-off before the
    slot. Staff cancel any confirmed booking, with a reason: on the patient's behalf
    (status cancelled_by_patient, `cancelled_by` the staff member) or, with
    `by_hospital`, for the hospital (cancelled_by_hospital: never counted against the
    patient, who is told why and offered alternatives). Cancelling again returns the
    cancelled booking. Refuses with: not_your_patient, hospital_cancel_staff_only,
    cancel_reason_required, cancel_too_late, not_cancellable.
    """
    reason = (reason or "").strip()
    if not requested_by.is_staff:
        if booking.patient.account_id != requested_by.pk:
            raise NotYourPatient()
        if by_hospital:
            raise errors.HospitalCancelStaffOnly()
    elif not reason:
        raise errors.CancelReasonRequired()
    now = timezone.now()
    alternatives = None
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("slot", "session__doctor", "department", "patient__account")
            .get(pk=booking.pk)
        )
        if booking.status in Booking.CANCELLED:
            return booking
        policy = policy_for_department(booking.department)
        rules.check_cancellable(booking=booking, requested_by=requested_by, policy=policy, now=now)
        status = (
            Booking.Status.CANCELLED_BY_HOSPITAL
            if by_hospital
            else Booking.Status.CANCELLED_BY_PATIENT
        )
        _cancel_and_release(booking, status=status, cancelled_by=requested_by, reason=reason)
        if by_hospital:
            alternatives = session_alternatives(session=booking.session, now=now)
            notify_cancelled_by_hospital(booking, reason=reason, alternatives=alternatives)
        else:
            _enqueue_message(booking, kind="booking_cancelled")
    return booking


def booking_cancel_undo(*, booking: Booking, requested_by: Account) -> Booking:
    """Take back a cancellation the requester made a moment ago, while its place is still
    held (not yet given to the waitlist, walk-in or the pool): the same booking, code and
    queue number, confirmed again.

    Lock order: patient, booking, held place, quota. Judged again by the timing rules and
    the patient's own limits (they may have booked elsewhere meanwhile); not by closures:
    it is the patient's own place coming back, not a new booking. The cancellation
    message is withdrawn if it has not gone yet, the reminder rescheduled, and the
    patient told the booking stands. Undoing twice returns the booking. Refuses with:
    not_your_patient, undo_not_possible, undo_expired, undo_place_gone, session_stopped,
    slot_started, and the patient rules' codes.
    """
    if not requested_by.is_staff and booking.patient.account_id != requested_by.pk:
        raise NotYourPatient()
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_patient(booking.patient)
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("slot", "session__department", "session__doctor", "department")
            .get(pk=booking.pk)
        )
        if booking.status == Booking.Status.CONFIRMED:
            return booking  # a second click: it stands already
        if (
            booking.status != Booking.Status.CANCELLED_BY_PATIENT
            or booking.cancelled_by_id != requested_by.pk
            # a reschedule moved away from it: the new booking holds the patient's place
            or Booking.objects.filter(rescheduled_from=booking).exists()
        ):
            raise errors.UndoNotPossible()
        if now - booking.cancelled_at > rules.UNDO_WITHIN:
            raise errors.UndoExpired(minutes=int(rules.UNDO_WITHIN.total_seconds() // 60))
        held = (
            HeldPlace.objects.select_for_update()
            .filter(freed_by=booking, released_at__isnull=True)
            .first()
        )
        if held is None:
            raise errors.UndoPlaceGone()
        policy = policy_for_department(booking.department)
        rules.check_timing(
            session=booking.session,
            slot=booking.slot,
            channel=booking.channel,
            policy=policy,
            now=now,
        )
        rules.check_patient(
            patient=locked, session=booking.session, channel=booking.channel, policy=policy, now=now
        )
        taken = Quota.objects.filter(pk=held.quota_id, held__gt=0).update(
            held=F("held") - 1, booked=F("booked") + 1
        )
        if taken != 1:
            raise RuntimeError(f"quota {held.quota_id} had no held place to take back")
        held.released_at = now
        held.outcome = HeldPlace.Outcome.UNDONE
        held.taken_by = booking
        held.save(update_fields=["released_at", "outcome", "taken_by"])
        booking.status = Booking.Status.CONFIRMED
        booking.cancelled_at = None
        booking.cancelled_by = None
        booking.cancel_reason = ""
        booking.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "updated_at"]
        )
        message_cancel(dedupe_keys=[f"booking:{booking.pk}:booking_cancelled"])
        reminder_restore(dedupe_keys=[reminder_key(booking.pk)])
        _enqueue_message(
            booking, kind="booking_confirmed", dedupe_key=f"booking:{booking.pk}:restored:{held.pk}"
        )
    return booking


def booking_reschedule(
    *,
    booking: Booking,
    new_slot: Slot,
    requested_by: Account,
    idempotency_key: str | None = None,
) -> Booking:
    """Move a booking to another slot: the new place is taken and the old one given
    back in one transaction, so the patient never holds two places or none.

    The new booking keeps the channel and is judged by every rule of booking_create,
    as if the old booking were already cancelled. A replay of the same request (same
    account, key, booking and slot) returns the first result whenever it arrives, even
    after the old booking was cancelled by that first request. Refuses as
    booking_create and booking_cancel do, plus reschedule_same_slot.
    """
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    patient = booking.patient
    rules.check_requester(patient=patient, channel=booking.channel, requested_by=requested_by)
    try:
        with transaction.atomic():
            locked = _lock_patient(patient)
            # Under the patient's lock: a replay that waited behind the first request
            # finds its booking here, before the old one is judged (already cancelled).
            existing = _booking_for_key(requested_by=requested_by, key=key)
            if existing is not None:
                return _replay(existing, patient=patient, slot=new_slot, rescheduled_from=booking)
            if new_slot.pk == booking.slot_id:
                raise errors.RescheduleSameSlot()
            old = (
                Booking.objects.select_for_update(of=("self",))
                .select_related("slot", "department")
                .get(pk=booking.pk)
            )
            policy = policy_for_department(old.department)
            rules.check_cancellable(
                booking=old, requested_by=requested_by, policy=policy, now=timezone.now()
            )
            # Lock both quota rows in primary-key order before moving either.
            _lock_quotas([(old.slot_id, old.channel), (new_slot.pk, old.channel)])
            _cancel_and_release(
                old,
                status=Booking.Status.CANCELLED_BY_PATIENT,
                cancelled_by=requested_by,
                reason="",
            )
            return _book(
                patient=locked,
                slot=new_slot,
                channel=old.channel,
                requested_by=requested_by,
                key=key,
                rescheduled_from=old,
            )
    except IntegrityError as exc:
        return _resolve_integrity_race(
            exc,
            patient=patient,
            slot=new_slot,
            requested_by=requested_by,
            key=key,
            rescheduled_from=booking,
        )


# --- the transaction's steps -------------------------------------------------


def _lock_patient(patient: Patient) -> Patient:
    return Patient.objects.select_for_update().select_related("account").get(pk=patient.pk)


def _slot_for_booking(*, slot_id: int, channel: str, requested_by: Account, key: str) -> Slot:
    """The slot with everything booking it needs, in one statement
    (`booking.services.slot_read`): its session (doctor, room, department),
    `places_left` in `channel` (None without a quota row) and `replayed` (this account
    already used `key`). Raises Slot.DoesNotExist."""
    return slot_for_booking(
        slot_id=slot_id, channel=channel, requested_by_id=requested_by.pk, key=key
    )


def _policy_of(department: Department) -> BookingPolicy:
    """The department's policy: its own, else its parent's (one query for both), else
    the nearest ancestor's or the defaults (`policy_for_department`). Joining the
    policies into the slot's read instead cost PostgreSQL more to plan (eight tables)
    than to run."""
    ids = [department.pk, department.parent_id]
    found = {
        policy.department_id: policy
        for policy in BookingPolicy.objects.filter(department_id__in=[i for i in ids if i])
    }
    for department_id in ids:
        if department_id in found:
            return found[department_id]
    if department.parent_id is None:
        return BookingPolicy(department=department)
    return policy_for_department(department)


def _refuse_early(*, patient: Patient, slot: Slot, channel: str, policy: BookingPolicy) -> None:
    """The refusals judged on what is already read, before any lock: the timing rules,
    a suspension, then a sold-out slot. At the release minute most requests end here,
    at the cost of the slot's one read. Under the locks `_book` judges everything again
    (a place may go between the two; a freed one is taken by the next request)."""
    now = timezone.now()
    rules.check_timing(session=slot.session, slot=slot, channel=channel, policy=policy, now=now)
    rules.check_not_suspended(patient=patient, channel=channel, now=now)
    if slot.places_left is None or slot.places_left <= 0:
        raise errors.SlotFull()


def _book(
    *,
    patient: Patient,
    slot: Slot,
    channel: str,
    requested_by: Account,
    key: str,
    rescheduled_from: Booking | None = None,
    from_held: bool = False,
    loaded: bool = False,
    policy: BookingPolicy | None = None,
) -> Booking:
    """Must be called inside a transaction holding `patient`'s row lock.

    `from_held` takes the place from the quota's held-back places instead of free ones.
    `loaded`: `slot` comes from `_slot_for_booking` (read just before the lock); else
    it is read here. Either way the session's status is judged again by the queue
    number's conditional UPDATE, and the places by the quota's. `policy`: the
    department's, if already read in this request.
    """
    now = timezone.now()
    if not loaded:
        slot = _slot_for_booking(
            slot_id=slot.pk, channel=channel, requested_by=requested_by, key=key
        )
    session = slot.session
    policy = policy or _policy_of(session.department)
    rules.check_bookable(
        patient=patient,
        session=session,
        slot=slot,
        channel=channel,
        policy=policy,
        now=now,
        from_waitlist=from_held,
    )
    if from_held:
        taken = Quota.objects.filter(slot_id=slot.pk, channel=channel, held__gt=0).update(
            booked=F("booked") + 1, held=F("held") - 1
        )
    else:
        taken = Quota.objects.filter(
            slot_id=slot.pk, channel=channel, booked__lt=F("capacity") - F("held")
        ).update(booked=F("booked") + 1)
    if not taken:
        raise errors.SlotFull()
    queue_number = _next_queue_number(session)

    booking = Booking.objects.create(
        code=_new_code(),
        queue_number=queue_number,
        patient=patient,
        slot=slot,
        session=session,
        department=session.department,
        visit_date=session.date,
        channel=channel,
        booked_by=Booking.BookedBy.STAFF if requested_by.is_staff else Booking.BookedBy.PATIENT,
        requested_by=requested_by,
        idempotency_key=key,
        rescheduled_from=rescheduled_from,
    )
    kind = "booking_rescheduled" if rescheduled_from else "booking_confirmed"
    if from_held:
        kind = "waitlist_booked"
    _enqueue_message(booking, kind=kind)
    return booking


def _lock_quotas(keys: list[tuple[int, str]]) -> None:
    """Lock the quota rows of these (slot, channel) pairs in primary-key order: one query
    (PostgreSQL locks the rows in the order it returns them)."""
    which = Q()
    for slot_id, channel in keys:
        which |= Q(slot_id=slot_id, channel=channel)
    list(Quota.objects.select_for_update().filter(which).order_by("pk").values_list("pk"))


def _cancel_and_release(
    booking: Booking, *, status: str, cancelled_by: Account | None, reason: str
) -> None:
    """Must be called inside the transaction that holds the booking's row lock."""
    booking.status = status
    booking.cancelled_at = timezone.now()
    booking.cancelled_by = cancelled_by
    booking.cancel_reason = reason[:200]
    booking.save(
        update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "updated_at"]
    )
    release.place_freed(booking=booking, now=booking.cancelled_at)
    message_cancel(dedupe_keys=[reminder_key(booking.pk)])


def _next_queue_number(session: Session) -> int:
    """One conditional UPDATE ... RETURNING (PostgreSQL, SQLite 3.35+): fails if the
    session was stopped meanwhile. The session row is every booking's of the session
    hot row, so it is taken as late as possible (after the quota's) and held only for
    the INSERTs that follow it."""
    table = connection.ops.quote_name(Session._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name is the model's, not input.
            f"UPDATE {table} SET last_queue_number = last_queue_number + 1 "  # noqa: S608
            "WHERE id = %s AND status = %s RETURNING last_queue_number",
            [session.pk, Session.Status.OPEN],
        )
        row = cursor.fetchone()
    if row is None:
        raise errors.SessionStopped()
    return row[0]


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _booking_for_key(*, requested_by: Account, key: str) -> Booking | None:
    """The booking made with `key`, with what a caller renders it from."""
    return (
        Booking.objects.select_related(
            "patient", "slot", "session__doctor", "session__room", "department"
        )
        .filter(requested_by=requested_by, idempotency_key=key)
        .first()
    )


def _replay(
    existing: Booking, *, patient: Patient, slot: Slot, rescheduled_from: Booking | None
) -> Booking:
    """The same request again gets the same booking; another request with the key is refused."""
    same = (
        existing.patient_id == patient.pk
        and existing.slot_id == slot.pk
        and existing.rescheduled_from_id == (rescheduled_from.pk if rescheduled_from else None)
    )
    if not same:
        raise errors.IdempotencyKeyReused()
    return existing


def _resolve_integrity_race(
    exc: IntegrityError,
    *,
    patient: Patient,
    slot: Slot,
    requested_by: Account,
    key: str,
    rescheduled_from: Booking | None,
) -> Booking:
    """A concurrent twin won a unique constraint; our transaction rolled back whole."""
    existing = _booking_for_key(requested_by=requested_by, key=key)
    if existing is not None:
        return _replay(existing, patient=patient, slot=slot, rescheduled_from=rescheduled_from)
    if Booking.objects.filter(
        patient=patient, session_id=slot.session_id, status__in=Booking.HOLDING
    ).exists():
        raise errors.AlreadyBookedSession() from exc
    raise exc


# --- messages ------------------------------------------------------------------


def name_in(item: Department | Doctor, language: str) -> str:
    """A department's or doctor's name as a patient reading `language` knows it."""
    from clinics.translation import text_in

    return text_in(item, "name", language)


def when_text(moment: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


def message_context(booking: Booking) -> dict:
    """What every message about a booking says, in its patient's language."""
    language = booking.patient.account.language
    return {
        "code": booking.code,
        "patient": booking.patient.real_name,
        "department": name_in(booking.department, language),
        "doctor": name_in(booking.session.doctor, language),
        "when": when_text(booking.slot.starts_at),
        "queue_number": booking.queue_number,
    }


def _enqueue_message(booking: Booking, *, kind: str, dedupe_key: str | None = None) -> None:
    """Must be called inside the booking's transaction: both commit or neither."""
    patient = booking.patient
    account = patient.account
    language = account.language
    context = message_context(booking)
    recipient = patient.phone or account.phone or ""
    if not recipient and not account.wechat_openid:
        # A walk-in registered at the desk without a phone: the printed ticket is their
        # confirmation, and there is nobody to remind.
        return
    message_enqueue(
        kind=kind,
        dedupe_key=dedupe_key or f"booking:{booking.pk}:{kind}",
        recipient=recipient,
        language=language,
        context=context,
        account_id=account.pk,
    )
    if kind in ("booking_confirmed", "booking_rescheduled", "waitlist_booked"):
        reminder_schedule(
            dedupe_key=reminder_key(booking.pk),
            recipient=recipient,
            language=language,
            context=context,
            starts_at=booking.slot.starts_at,
            account_id=account.pk,
        )


def notify_cancelled_by_hospital(
    booking: Booking, *, reason: str, alternatives: list[Session]
) -> None:
    """Tell the patient the hospital cancelled, why, and where else to go.

    Must be called inside the cancelling transaction: the message lands with the change.
    """
    patient = booking.patient
    account = patient.account
    language = account.language
    context = message_context(booking) | {
        "reason": reason,
        "alternatives": [
            {
                "doctor": name_in(alt.doctor, language),
                "when": when_text(alt.starts_at),
                "level": level_label(alt.level, language),
            }
            for alt in alternatives
        ],
    }
    message_enqueue(
        kind=CANCELLED_BY_HOSPITAL_MESSAGE,
        dedupe_key=f"booking:{booking.pk}:{CANCELLED_BY_HOSPITAL_MESSAGE}",
        recipient=patient.phone or account.phone or "",
        language=language,
        context=context,
        account_id=account.pk,
        urgent=booking.slot.starts_at - timezone.now() <= URGENT_WITHIN,
    )


def level_label(level: str, language: str) -> str:
    with translation.override(language):
        return str(ClinicLevel(level).label)


def reminder_key(booking_id: int) -> str:
    """The dedupe key of a booking's reminder: `message_cancel(dedupe_keys=[...])` it
    when the booking stops holding its place."""
    return f"booking:{booking_id}:booking_reminder"
