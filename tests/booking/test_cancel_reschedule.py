"""booking_cancel and booking_reschedule."""

import datetime

import pytest

from booking import services
from booking.models import Booking
from clinics.models import Channel
from notifications.models import OutboxMessage
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, total_capacity
from tests.booking.test_create import book, refused, slot_in

pytestmark = pytest.mark.django_db


def online_booked(slot) -> int:
    return slot.quotas.get(channel=Channel.ONLINE).booked


def test_cancel_gives_the_place_back_and_tells_the_patient(clock, patient):
    slot = slot_in(1)
    booking = book(patient, slot)

    cancelled = services.booking_cancel(booking=booking, requested_by=patient.account)

    assert cancelled.status == Booking.Status.CANCELLED_BY_PATIENT
    assert cancelled.cancelled_at == NOW
    assert online_booked(slot) == 0
    assert OutboxMessage.objects.filter(
        kind="booking_cancelled", dedupe_key=f"booking:{booking.pk}:booking_cancelled"
    ).exists()
    assert_books_balance()


def test_cancel_twice_is_harmless(clock, patient):
    slot = slot_in(1)
    booking = book(patient, slot)
    services.booking_cancel(booking=booking, requested_by=patient.account)
    again = services.booking_cancel(booking=booking, requested_by=patient.account)
    assert again.status == Booking.Status.CANCELLED_BY_PATIENT
    assert online_booked(slot) == 0
    assert OutboxMessage.objects.filter(kind="booking_cancelled").count() == 1


def test_online_cancellation_closes_two_hours_before_the_slot(clock, patient, staff):
    slot = slot_in(0, hour=11)  # 11:00 today; now is 09:00, exactly at the cut-off
    booking = book(patient, slot)
    assert services.booking_cancel(booking=booking, requested_by=patient.account).status == (
        Booking.Status.CANCELLED_BY_PATIENT
    )

    late = book(factories.PatientFactory(), slot)
    clock.move_to(NOW + datetime.timedelta(minutes=1))
    error = refused(
        "cancel_too_late",
        lambda: services.booking_cancel(booking=late, requested_by=late.patient.account),
    )
    assert "120" in error.detail
    # the front desk can still cancel it
    assert services.booking_cancel(
        booking=late, requested_by=staff, reason="at the desk"
    ).status == (Booking.Status.CANCELLED_BY_PATIENT)


def test_cannot_cancel_someone_elses_booking(clock, patient):
    booking = book(patient, slot_in(1))
    stranger = factories.AccountFactory()
    refused(
        "not_your_patient",
        lambda: services.booking_cancel(booking=booking, requested_by=stranger),
    )


def test_checked_in_booking_is_not_cancellable(clock, patient):
    booking = book(patient, slot_in(1))
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CHECKED_IN)
    refused(
        "not_cancellable",
        lambda: services.booking_cancel(booking=booking, requested_by=patient.account),
    )


def test_reschedule_moves_the_place_in_one_step(clock, patient):
    old_slot, new_slot = slot_in(1), slot_in(2)
    booking = book(patient, old_slot)
    capacity = total_capacity()

    moved = services.booking_reschedule(
        booking=booking, new_slot=new_slot, requested_by=patient.account, idempotency_key="r1"
    )

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_PATIENT
    assert moved.status == Booking.Status.CONFIRMED
    assert moved.slot == new_slot
    assert moved.rescheduled_from == booking
    assert (online_booked(old_slot), online_booked(new_slot)) == (0, 1)
    assert total_capacity() == capacity
    assert OutboxMessage.objects.filter(kind="booking_rescheduled").count() == 1
    assert_books_balance()


def test_reschedule_within_the_same_session(clock, patient):
    slot = slot_in(1)
    later = factories.slot_with_quotas(
        session=slot.session, starts_at=slot.starts_at + datetime.timedelta(minutes=30), online=1
    )
    booking = book(patient, slot)
    moved = services.booking_reschedule(
        booking=booking, new_slot=later, requested_by=patient.account
    )
    assert moved.session_id == booking.session_id
    assert moved.queue_number == 2


def test_reschedule_is_idempotent(clock, patient):
    booking = book(patient, slot_in(1))
    new_slot = slot_in(2)
    first = services.booking_reschedule(
        booking=booking, new_slot=new_slot, requested_by=patient.account, idempotency_key="r"
    )
    again = services.booking_reschedule(
        booking=booking, new_slot=new_slot, requested_by=patient.account, idempotency_key="r"
    )
    assert first.pk == again.pk
    assert online_booked(new_slot) == 1


def test_reschedule_to_a_full_slot_keeps_the_old_booking(clock, patient):
    booking = book(patient, slot_in(1))
    full = slot_in(2, online=1)
    book(factories.PatientFactory(), full)
    refused(
        "slot_full",
        lambda: services.booking_reschedule(
            booking=booking, new_slot=full, requested_by=patient.account
        ),
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_reschedule_to_the_same_slot_is_refused(clock, patient):
    booking = book(patient, slot_in(1))
    refused(
        "reschedule_same_slot",
        lambda: services.booking_reschedule(
            booking=booking, new_slot=booking.slot, requested_by=patient.account
        ),
    )


def test_reschedule_obeys_the_cancellation_cut_off(clock, patient):
    booking = book(patient, slot_in(0, hour=10))
    new_slot = slot_in(1)
    refused(
        "cancel_too_late",
        lambda: services.booking_reschedule(
            booking=booking, new_slot=new_slot, requested_by=patient.account
        ),
    )


def test_reschedule_into_a_department_day_already_booked_is_refused(clock, patient):
    department = factories.DepartmentFactory()
    booking = book(patient, slot_in(1))
    book(patient, slot_in(2, department=department))
    target = slot_in(2, department=department, hour=14)
    refused(
        "duplicate_department_day",
        lambda: services.booking_reschedule(
            booking=booking, new_slot=target, requested_by=patient.account
        ),
    )
