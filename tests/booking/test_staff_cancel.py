"""Who cancelled and why: the patient, staff on the patient's behalf, or the hospital."""

import pytest

from booking import services
from booking.models import Booking
from notifications.models import OutboxMessage
from tests import factories
from tests.booking.helpers import assert_books_balance
from tests.booking.test_create import book, refused, slot_in

pytestmark = pytest.mark.django_db


def test_a_patient_cancelling_is_recorded_as_the_patient(clock, patient):
    booking = book(patient, slot_in(1))

    services.booking_cancel(booking=booking, requested_by=patient.account)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_PATIENT
    assert (booking.cancelled_by, booking.cancel_reason) == (patient.account, "")


def test_staff_cancelling_for_the_patient_records_who_and_why(clock, patient, staff):
    booking = book(patient, slot_in(1))

    services.booking_cancel(booking=booking, requested_by=staff, reason=" 患者来电要求取消 ")

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_PATIENT
    assert (booking.cancelled_by, booking.cancel_reason) == (staff, "患者来电要求取消")
    assert OutboxMessage.objects.filter(kind="booking_cancelled").count() == 1
    assert_books_balance()


def test_the_hospital_cancelling_is_its_own_fact_told_with_alternatives(clock, patient, staff):
    slot = slot_in(1)
    booking = book(patient, slot)
    factories.slot_with_quotas(
        session=factories.SessionFactory(
            doctor=slot.session.doctor,
            date=slot.session.date.replace(day=slot.session.date.day + 2),
            starts_at=slot.starts_at.replace(day=slot.starts_at.day + 2),
        ),
        online=2,
    )

    services.booking_cancel(
        booking=booking, requested_by=staff, reason="设备检修", by_hospital=True
    )

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_HOSPITAL
    assert (booking.cancelled_by, booking.cancel_reason) == (staff, "设备检修")
    message = OutboxMessage.objects.get(kind="booking_cancelled_by_hospital")
    assert message.context["reason"] == "设备检修"
    assert [alt["when"] for alt in message.context["alternatives"]] == ["2026-11-26 08:00"]
    assert message.urgent is True  # the visit is within a day: even in quiet hours
    assert_books_balance()


def test_staff_must_say_why(clock, patient, staff):
    booking = book(patient, slot_in(1))
    refused(
        "cancel_reason_required",
        lambda: services.booking_cancel(booking=booking, requested_by=staff, reason="  "),
    )


def test_only_staff_cancel_for_the_hospital(clock, patient):
    booking = book(patient, slot_in(1))
    refused(
        "hospital_cancel_staff_only",
        lambda: services.booking_cancel(
            booking=booking, requested_by=patient.account, reason="x", by_hospital=True
        ),
    )


def test_cancelling_again_returns_the_first_cancellation(clock, patient, staff):
    booking = book(patient, slot_in(1))
    services.booking_cancel(booking=booking, requested_by=staff, reason="医院", by_hospital=True)

    again = services.booking_cancel(booking=booking, requested_by=patient.account)

    assert (again.status, again.cancelled_by) == (Booking.Status.CANCELLED_BY_HOSPITAL, staff)
    assert OutboxMessage.objects.filter(kind__startswith="booking_cancelled").count() == 1


def test_a_hospital_cancellation_never_counts_as_the_patients(clock, patient, staff):
    """No-show and cancellation reports read the status: the hospital's is separate."""
    first = book(patient, slot_in(1))
    services.booking_cancel(booking=first, requested_by=staff, reason="停诊", by_hospital=True)
    assert not Booking.objects.filter(
        patient=patient, status=Booking.Status.CANCELLED_BY_PATIENT
    ).exists()
    assert first.patient.bookings.get().status == Booking.Status.CANCELLED_BY_HOSPITAL
