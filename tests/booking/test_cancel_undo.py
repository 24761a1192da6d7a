"""Undo a cancellation within 10 minutes, while the place is still held."""

import datetime

import pytest

from booking import services
from booking.models import Booking, HeldPlace, WaitlistEntry
from clinics.models import Channel
from notifications.models import OutboxMessage, Reminder
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance
from tests.booking.test_create import book, refused, slot_in

pytestmark = pytest.mark.django_db


def cancelled(patient, slot=None):
    booking = book(patient, slot or slot_in(2))
    services.booking_cancel(booking=booking, requested_by=patient.account)
    booking.refresh_from_db()
    return booking


def test_undo_gives_the_same_booking_back(clock, patient):
    booking = cancelled(patient)

    clock.move_to(NOW + datetime.timedelta(minutes=9))
    undone = services.booking_cancel_undo(booking=booking, requested_by=patient.account)

    assert (undone.pk, undone.status, undone.code) == (
        booking.pk,
        Booking.Status.CONFIRMED,
        booking.code,
    )
    assert (undone.cancelled_at, undone.cancelled_by, undone.cancel_reason) == (None, None, "")
    held = HeldPlace.objects.get(freed_by=booking)
    assert (held.outcome, held.taken_by) == (HeldPlace.Outcome.UNDONE, undone)
    quota = booking.slot.quotas.get(channel=Channel.ONLINE)
    assert (quota.booked, quota.held) == (1, 0)
    assert Reminder.objects.get(dedupe_key=f"booking:{booking.pk}:booking_reminder").status == (
        Reminder.Status.SCHEDULED
    )
    assert OutboxMessage.objects.get(
        dedupe_key=f"booking:{booking.pk}:booking_cancelled"
    ).status == (
        OutboxMessage.Status.CANCELLED  # not sent yet in the test: withdrawn
    )
    assert OutboxMessage.objects.filter(dedupe_key__contains=":restored:").count() == 1
    assert_books_balance()


def test_undo_twice_returns_the_booking_and_a_second_cancel_works(clock, patient):
    booking = cancelled(patient)
    services.booking_cancel_undo(booking=booking, requested_by=patient.account)
    again = services.booking_cancel_undo(booking=booking, requested_by=patient.account)
    assert again.status == Booking.Status.CONFIRMED

    services.booking_cancel(booking=booking, requested_by=patient.account)

    assert HeldPlace.objects.filter(freed_by=booking).count() == 2
    assert_books_balance()


def test_undo_after_ten_minutes_is_refused(clock, patient):
    booking = cancelled(patient)
    clock.move_to(NOW + datetime.timedelta(minutes=10, seconds=1))
    refused(
        "undo_expired",
        lambda: services.booking_cancel_undo(booking=booking, requested_by=patient.account),
    )


def test_undo_after_the_waitlist_took_the_place_is_refused(
    clock, patient, django_capture_on_commit_callbacks
):
    slot = slot_in(2, online=1)
    booking = book(patient, slot)
    waiting = factories.PatientFactory()
    services.waitlist_join(patient=waiting, session=slot.session, requested_by=waiting.account)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, requested_by=patient.account)
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.BOOKED

    refused(
        "undo_place_gone",
        lambda: services.booking_cancel_undo(booking=booking, requested_by=patient.account),
    )


def test_only_the_one_who_cancelled_may_undo(clock, patient, staff):
    booking = book(patient, slot_in(2))
    services.booking_cancel(booking=booking, requested_by=staff, reason="来电")
    refused(
        "undo_not_possible",
        lambda: services.booking_cancel_undo(booking=booking, requested_by=patient.account),
    )
    stranger = factories.AccountFactory()
    refused(
        "not_your_patient",
        lambda: services.booking_cancel_undo(booking=booking, requested_by=stranger),
    )


def test_a_rescheduled_booking_cannot_be_undone(clock, patient):
    booking = book(patient, slot_in(2))
    services.booking_reschedule(booking=booking, new_slot=slot_in(3), requested_by=patient.account)
    refused(
        "undo_not_possible",
        lambda: services.booking_cancel_undo(booking=booking, requested_by=patient.account),
    )


def test_undo_is_judged_by_the_patient_rules_again(clock, patient):
    booking = cancelled(patient, slot_in(2))
    same_department_day = factories.slot_with_quotas(
        session=factories.SessionFactory(
            department=booking.department,
            doctor__department=booking.department,
            date=booking.visit_date,
            starts_at=booking.slot.starts_at + datetime.timedelta(hours=5),
            half_day="afternoon",
        ),
        online=2,
    )
    book(patient, same_department_day)  # booked elsewhere in the department meanwhile
    refused(
        "duplicate_department_day",
        lambda: services.booking_cancel_undo(booking=booking, requested_by=patient.account),
    )
