"""The hot paths' query counts, pinned: a change that adds a query shows here."""

import pytest

from booking import services
from clinics.models import Channel
from tests.booking.test_create import slot_in

pytestmark = pytest.mark.django_db

# booking_create: savepoint, patient lock, key lookup, slot (+ session, department,
# doctor), policy, holding dates, closures, quota UPDATE, session counter UPDATE and
# read, booking INSERT, outbox upsert, reminder upsert, savepoint release.
CREATE_QUERIES = 14
# booking_cancel: savepoint, booking lock, policy, booking UPDATE, session and closures
# (was the channel released?), waitlist, quota UPDATE, quota id, held place INSERT,
# reminder and its outbox row withdrawn, message upsert, savepoint release.
CANCEL_QUERIES = 14
# booking_reschedule: the cancel's steps and the create's, one patient lock, one quota
# lock for both rows.
RESCHEDULE_QUERIES = 26


def test_booking_create(clock, patient, django_assert_num_queries):
    slot = slot_in(1)
    with django_assert_num_queries(CREATE_QUERIES):
        services.booking_create(
            patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
        )


def test_booking_cancel(clock, patient, django_assert_num_queries):
    slot = slot_in(1)
    booking = services.booking_create(
        patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
    )
    with django_assert_num_queries(CANCEL_QUERIES):
        services.booking_cancel(booking=booking, requested_by=patient.account)


def test_booking_reschedule(clock, patient, django_assert_num_queries):
    booking = services.booking_create(
        patient=patient, slot=slot_in(1), channel=Channel.ONLINE, requested_by=patient.account
    )
    new_slot = slot_in(2)
    with django_assert_num_queries(RESCHEDULE_QUERIES):
        services.booking_reschedule(
            booking=booking, new_slot=new_slot, requested_by=patient.account
        )
