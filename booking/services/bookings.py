"""The booking lifecycle: create, cancel, reschedule.

Capacity moves only through conditional UPDATEs of quota rows; per-patient rules are
checked while holding the patient's row lock, so two requests for one patient are
judged one after the other. Locks are always taken in the same order — patient,
booking, quota (by primary key), session — so concurrent requests never deadlock.
"""

import datetime
import secrets
import uuid

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import formats, timezone

from booking import exceptions as errors
from booking.models import Booking, BookingPolicy
from booking.selectors import holding_dates, policy_for_department
from booking.services import closures, release
from clinics.models import Channel, Department, Doctor, Quota, Session, Slot
from notifications.services import message_cancel, message_enqueue, reminder_schedule
from patients.exceptions import NotYourPatient
from patients.models import Account, Patient

# Channels the public reaches: the booking window, the daily release and no-show
# suspensions apply to them. Walk-in is always open to a patient at the window.
PUBLIC_CHANNELS = (Channel.ONLINE, Channel.PHONE)
STAFF_CHANNELS = (Channel.PHONE, Channel.WALKIN, Channel.RESERVED)

CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no 0/O, 1/I, 2/Z, 5/S, 8/B look-alikes
CODE_LENGTH = 8


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
    patient_suspended, already_booked_session, duplicate_department_day, daily_limit,
    weekly_limit, slot_full, idempotency_key_reused. A refusal writes nothing.
    """
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    _check_requester(patient=patient, channel=channel, requested_by=requested_by)
    try:
        with transaction.atomic():
            return _book(
                patient=patient,
                slot=slot,
                channel=channel,
                requested_by=requested_by,
                key=key,
            )
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


def booking_cancel(*, booking: Booking, requested_by: Account) -> Booking:
    """Cancel a booking and give its place back to its quota.

    Patients may cancel online until the policy's cut-off before the slot; staff may
    cancel any confirmed booking. Cancelling twice returns the cancelled booking.
    Refuses with: not_your_patient, cancel_too_late, not_cancellable.
    """
    if not requested_by.is_staff and booking.patient.account_id != requested_by.pk:
        raise NotYourPatient()
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("slot", "session__doctor", "department", "patient__account")
            .get(pk=booking.pk)
        )
        if booking.status == Booking.Status.CANCELLED_BY_PATIENT:
            return booking
        if booking.status != Booking.Status.CONFIRMED:
            raise errors.NotCancellable()
        if not requested_by.is_staff:
            policy = policy_for_department(booking.department)
            if not booking.is_cancellable_online_at(
                timezone.now(), cutoff_minutes=policy.cancel_cutoff_minutes
            ):
                raise errors.CancelTooLate(minutes=policy.cancel_cutoff_minutes)
        _cancel_and_release(booking, status=Booking.Status.CANCELLED_BY_PATIENT)
        _enqueue_message(booking, kind="booking_cancelled")
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
    as if the old booking were already cancelled. Refuses as booking_create and
    booking_cancel do, plus reschedule_same_slot.
    """
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    patient = booking.patient
    _check_requester(patient=patient, channel=booking.channel, requested_by=requested_by)
    existing = _booking_for_key(requested_by=requested_by, key=key)
    if existing is not None:
        return _replay(existing, patient=patient, slot=new_slot, rescheduled_from=booking)
    if new_slot.pk == booking.slot_id:
        raise errors.RescheduleSameSlot()
    try:
        with transaction.atomic():
            Patient.objects.select_for_update().get(pk=patient.pk)
            old = (
                Booking.objects.select_for_update(of=("self",))
                .select_related("slot", "department")
                .get(pk=booking.pk)
            )
            if old.status != Booking.Status.CONFIRMED:
                raise errors.NotCancellable()
            if not requested_by.is_staff:
                policy = policy_for_department(old.department)
                if not old.is_cancellable_online_at(
                    timezone.now(), cutoff_minutes=policy.cancel_cutoff_minutes
                ):
                    raise errors.CancelTooLate(minutes=policy.cancel_cutoff_minutes)
            # Lock both quota rows in primary-key order before moving either.
            _lock_quotas([(old.slot_id, old.channel), (new_slot.pk, old.channel)])
            _cancel_and_release(old, status=Booking.Status.CANCELLED_BY_PATIENT)
            return _book(
                patient=patient,
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


def _book(
    *,
    patient: Patient,
    slot: Slot,
    channel: str,
    requested_by: Account,
    key: str,
    rescheduled_from: Booking | None = None,
    from_held: bool = False,
) -> Booking:
    """Must be called inside a transaction. Takes the patient's row lock (if not held).

    `from_held` takes the place from the quota's held-back places instead of free ones.

    The idempotency key is looked up under that lock, so a retry, or a twin request
    that waited for the lock, gets the first booking back even after its slot started.
    """
    now = timezone.now()
    locked_patient = (
        Patient.objects.select_for_update().select_related("account").get(pk=patient.pk)
    )
    existing = _booking_for_key(requested_by=requested_by, key=key)
    if existing is not None:
        return _replay(existing, patient=patient, slot=slot, rescheduled_from=rescheduled_from)

    slot = Slot.objects.select_related("session__department", "session__doctor").get(pk=slot.pk)
    session = slot.session
    policy = policy_for_department(session.department)
    _check_timing(session=session, slot=slot, channel=channel, policy=policy, now=now)
    closures.ensure_channel_open(session=session, channel=channel, now=now)
    _check_patient_rules(
        patient=locked_patient, session=session, channel=channel, policy=policy, now=now
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
        patient=locked_patient,
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


def _check_requester(*, patient: Patient, channel: str, requested_by: Account) -> None:
    if requested_by.is_staff:
        return
    if patient.account_id != requested_by.pk:
        raise NotYourPatient()
    if channel != Channel.ONLINE:
        raise errors.ChannelNotAllowed()


def _check_timing(
    *, session: Session, slot: Slot, channel: str, policy: BookingPolicy, now: datetime.datetime
) -> None:
    if session.is_stopped:
        raise errors.SessionStopped()
    if slot.has_started(now):
        raise errors.SlotStarted()
    today = timezone.localdate(now)
    if channel == Channel.WALKIN:
        if session.date != today:
            raise errors.WalkinSameDay()
        return
    if channel not in PUBLIC_CHANNELS:
        return
    newest_day = today + datetime.timedelta(days=policy.window_days)
    if session.date > newest_day:
        raise errors.OutsideWindow(days=policy.window_days)
    if session.date == newest_day and timezone.localtime(now).time() < policy.release_time:
        raise errors.NotYetReleased(time=policy.release_time.strftime("%H:%M"))


def _check_patient_rules(
    *,
    patient: Patient,
    session: Session,
    channel: str,
    policy: BookingPolicy,
    now: datetime.datetime,
) -> None:
    """Must be called while holding the patient's row lock."""
    if channel in PUBLIC_CHANNELS and patient.is_suspended_on(timezone.localdate(now)):
        raise errors.PatientSuspended(until=formats.date_format(patient.suspended_until))
    day = session.date
    week = datetime.timedelta(days=6)
    held = holding_dates(patient_id=patient.pk, start=day - week, end=day + week)
    if any(session_id == session.pk for _, _, session_id in held):
        raise errors.AlreadyBookedSession()
    if channel == Channel.RESERVED:
        return  # a doctor's follow-up is the doctor's decision, not a quota of the patient
    same_day = [department_id for visit, department_id, _ in held if visit == day]
    if same_day.count(session.department_id) >= policy.max_per_department_day:
        raise errors.DuplicateDepartmentDay()
    if len(same_day) >= policy.max_per_day:
        raise errors.DailyLimit(limit=policy.max_per_day)
    visits = [visit for visit, _, _ in held]
    for first in (day - datetime.timedelta(days=n) for n in range(7)):
        in_window = sum(first <= visit <= first + week for visit in visits)
        if in_window >= policy.max_per_7_days:
            raise errors.WeeklyLimit(limit=policy.max_per_7_days)


def _lock_quotas(keys: list[tuple[int, str]]) -> None:
    ids = sorted(
        pk
        for slot_id, channel in keys
        for pk in Quota.objects.filter(slot_id=slot_id, channel=channel).values_list(
            "pk", flat=True
        )
    )
    list(Quota.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _cancel_and_release(booking: Booking, *, status: str) -> None:
    """Must be called inside the transaction that holds the booking's row lock."""
    booking.status = status
    booking.cancelled_at = timezone.now()
    booking.save(update_fields=["status", "cancelled_at", "updated_at"])
    release.place_freed(booking=booking, now=booking.cancelled_at)
    message_cancel(dedupe_keys=[reminder_key(booking.pk)])


def _next_queue_number(session: Session) -> int:
    """One conditional UPDATE: fails if the session was stopped meanwhile."""
    moved = Session.objects.filter(pk=session.pk, status=Session.Status.OPEN).update(
        last_queue_number=F("last_queue_number") + 1
    )
    if not moved:
        raise errors.SessionStopped()
    return Session.objects.values_list("last_queue_number", flat=True).get(pk=session.pk)


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _booking_for_key(*, requested_by: Account, key: str) -> Booking | None:
    return Booking.objects.filter(requested_by=requested_by, idempotency_key=key).first()


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
    return item.name if language.startswith("zh") or not item.name_en else item.name_en


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


def _enqueue_message(booking: Booking, *, kind: str) -> None:
    """Must be called inside the booking's transaction: both commit or neither."""
    patient = booking.patient
    account = patient.account
    language = account.language
    context = message_context(booking)
    recipient = patient.phone or account.phone or ""
    message_enqueue(
        kind=kind,
        dedupe_key=f"booking:{booking.pk}:{kind}",
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


def reminder_key(booking_id: int) -> str:
    """The dedupe key of a booking's reminder: `message_cancel(dedupe_keys=[...])` it
    when the booking stops holding its place."""
    return f"booking:{booking_id}:booking_reminder"
