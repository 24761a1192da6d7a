"""The database refuses what the services never write (each constraint can fail)."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from booking.models import Booking, WaitlistEntry
from clinics.models import Slot
from tests import factories
from tests.booking.test_create import book, slot_in

pytestmark = pytest.mark.django_db


def refused_by_database(change) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        change()
        if connection.vendor == "postgresql":  # deferred foreign keys check at commit
            connection.check_constraints()


def test_cancelled_if_and_only_if_cancelled_at(clock, patient):
    booking = book(patient, slot_in(1))
    refused_by_database(
        lambda: Booking.objects.filter(pk=booking.pk).update(
            status=Booking.Status.CANCELLED_BY_PATIENT
        )
    )
    refused_by_database(
        lambda: Booking.objects.filter(pk=booking.pk).update(cancelled_at=booking.created_at)
    )


def test_a_booked_waitlist_entry_names_its_booking(clock, patient):
    slot = slot_in(1, online=1)
    holder = book(factories.PatientFactory(), slot)
    entry = WaitlistEntry.objects.create(
        patient=patient, session=slot.session, requested_by=patient.account
    )
    refused_by_database(lambda: WaitlistEntry.objects.filter(pk=entry.pk).update(status="booked"))
    refused_by_database(lambda: WaitlistEntry.objects.filter(pk=entry.pk).update(booking=holder))


def test_a_slot_is_thirty_minutes_at_most(clock):
    session = factories.SessionFactory()
    start = session.starts_at
    Slot.objects.create(
        session=session, starts_at=start, ends_at=start + datetime.timedelta(minutes=30)
    )
    refused_by_database(
        lambda: Slot.objects.create(
            session=session,
            starts_at=start + datetime.timedelta(hours=1),
            ends_at=start + datetime.timedelta(hours=1, minutes=31),
        )
    )


@pytest.mark.postgres
def test_a_bookings_session_department_and_date_are_its_slots(clock, patient):
    booking = book(patient, slot_in(1))
    elsewhere = slot_in(2)
    refused_by_database(
        lambda: Booking.objects.filter(pk=booking.pk).update(session=elsewhere.session)
    )
    refused_by_database(
        lambda: Booking.objects.filter(pk=booking.pk).update(
            department=factories.DepartmentFactory()
        )
    )
    refused_by_database(
        lambda: Booking.objects.filter(pk=booking.pk).update(
            visit_date=booking.visit_date + datetime.timedelta(days=1)
        )
    )
