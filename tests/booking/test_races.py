"""Races found outside the first tests' paths (issue 7), on PostgreSQL with real threads.

Each test failed before its fix: a replayed reschedule was refused, a waitlist join
outlived a stop, a stop rolled back on a deadlock with a cancellation.
"""

import datetime
from collections import Counter

import pytest
import time_machine

from booking import services
from booking.models import Booking, WaitlistEntry
from clinics.models import Channel, Session
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, capacity_per_slot
from tests.booking.test_concurrency import outcome
from tests.booking.test_create import book, slot_in
from tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_every_replay_of_one_reschedule_gets_the_same_booking(frozen):
    patient = factories.PatientFactory()
    old = book(patient, slot_in(1, online=2))
    new_slot = slot_in(2, online=2)

    results = run_together(
        [
            lambda: services.booking_reschedule(
                booking=old, new_slot=new_slot, requested_by=patient.account, idempotency_key="mv1"
            )
            for _ in range(12)
        ]
    )

    assert all(isinstance(r, Booking) for r in results), Counter(map(outcome, results))
    assert {r.pk for r in results} == {Booking.objects.get(rescheduled_from=old).pk}
    old.refresh_from_db()
    assert old.status == Booking.Status.CANCELLED_BY_PATIENT
    assert Booking.objects.filter(patient=patient, status=Booking.Status.CONFIRMED).count() == 1
    assert_books_balance()


def test_a_replay_long_after_the_reschedule_still_gets_its_booking(frozen):
    patient = factories.PatientFactory()
    old = book(patient, slot_in(1, online=2))
    new_slot = slot_in(2, online=2)
    first = services.booking_reschedule(
        booking=old, new_slot=new_slot, requested_by=patient.account, idempotency_key="mv2"
    )

    again = services.booking_reschedule(
        booking=old, new_slot=new_slot, requested_by=patient.account, idempotency_key="mv2"
    )

    assert again.pk == first.pk


@pytest.mark.parametrize("round_", range(6))
def test_a_waitlist_join_racing_a_stop_never_outlives_it(frozen, round_):
    slot = slot_in(2, online=2)
    for _ in range(2):
        book(factories.PatientFactory(), slot)
    # Patients already waiting make the stop's transaction longer (closing, messages).
    for _ in range(3):
        waiting = factories.PatientFactory()
        services.waitlist_join(patient=waiting, session=slot.session, requested_by=waiting.account)
    joiners = [factories.PatientFactory() for _ in range(10)]
    staff = factories.StaffFactory()

    results = run_together(
        [lambda: services.session_stop(session=slot.session, reason="停诊", stopped_by=staff)]
        + [
            lambda p=p: services.waitlist_join(
                patient=p, session=slot.session, requested_by=p.account
            )
            for p in joiners
        ]
    )

    assert results[0].stopped, results[0]
    assert set(map(outcome, results[1:])) <= {"session_stopped"} | {
        outcome(r) for r in results[1:] if isinstance(r, WaitlistEntry)
    }
    assert Session.objects.get(pk=slot.session_id).is_stopped
    assert not WaitlistEntry.objects.filter(
        session=slot.session, status=WaitlistEntry.Status.WAITING
    ).exists()


@pytest.mark.parametrize("round_", range(3))
def test_a_stop_racing_bookings_cancellations_and_reschedules_never_fails(frozen, round_):
    """Before the fix the stop locked quotas, then re-locked the session's bookings:
    a cancellation holding its booking and waiting for the quota deadlocked with it."""
    slot = slot_in(1, online=8, phone=2, walkin=2)
    other = slot_in(1, online=8, hour=10)
    holders = [book(factories.PatientFactory(), slot) for _ in range(5)]
    movers = [book(factories.PatientFactory(), other) for _ in range(2)]
    staff = factories.StaffFactory()
    totals = capacity_per_slot()
    newcomers = [factories.PatientFactory() for _ in range(5)]

    results = run_together(
        [lambda: services.session_stop(session=slot.session, reason="停诊", stopped_by=staff)]
        + [
            lambda b=b: services.booking_cancel(booking=b, requested_by=b.patient.account)
            for b in holders
        ]
        + [
            lambda p=p: services.booking_create(
                patient=p, slot=slot, channel=Channel.ONLINE, requested_by=p.account
            )
            for p in newcomers
        ]
        + [
            lambda b=b: services.booking_reschedule(
                booking=b, new_slot=slot, requested_by=b.patient.account
            )
            for b in movers
        ]
    )

    assert results[0].stopped, results[0]
    assert set(map(outcome, results[1:])) <= {"booked", "session_stopped", "not_cancellable"}
    assert not Booking.objects.filter(
        session=slot.session, status__in=(Booking.Status.CONFIRMED, Booking.Status.CHECKED_IN)
    ).exists()
    cancelled = Booking.objects.filter(status=Booking.Status.CANCELLED_BY_HOSPITAL).count()
    assert results[0].bookings_cancelled == cancelled
    assert capacity_per_slot() == totals
    assert_books_balance()


def test_a_second_stop_finishes_what_the_first_left(frozen):
    """A crash between the stop's two transactions leaves a stopped session with active
    bookings: stopping again cancels and notifies them, once."""
    slot = slot_in(1, online=3)
    booking = book(factories.PatientFactory(), slot)
    Session.objects.filter(pk=slot.session_id).update(
        status=Session.Status.STOPPED, stop_reason="停诊", stopped_at=NOW
    )
    staff = factories.StaffFactory()

    first, second = (
        services.session_stop(session=slot.session, reason="again", stopped_by=staff)
        for _ in range(2)
    )

    assert (first.stopped, first.bookings_cancelled) == (False, 1)
    assert (second.stopped, second.bookings_cancelled) == (False, 0)
    booking.refresh_from_db()
    assert (booking.status, booking.cancel_reason) == (Booking.Status.CANCELLED_BY_HOSPITAL, "停诊")
    assert_books_balance()


def test_cancellations_during_a_closure_all_reach_walk_in(frozen):
    """Freed places in a closed, released channel go to walk-in, also when they race."""
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department, online=6, walkin=1)
    holders = [book(factories.PatientFactory(), slot) for _ in range(6)]
    totals = capacity_per_slot()
    closure = services.closure_create(
        scope="department",
        target=department,
        channels=[Channel.ONLINE],
        starts_at=NOW - datetime.timedelta(minutes=1),
        reason="capacity",
        notice="线上暂停",
        notice_en="Online paused",
        release_places=True,
        created_by=factories.StaffFactory(),
    )

    run_together(
        [
            lambda b=b: services.booking_cancel(booking=b, requested_by=b.patient.account)
            for b in holders
        ]
    )

    online = slot.quotas.get(channel=Channel.ONLINE)
    walkin = slot.quotas.get(channel=Channel.WALKIN)
    assert (online.capacity, online.booked, online.held) == (0, 0, 0)
    assert walkin.capacity == 7
    assert closure.release_runs.get().places_freed_moved == 6
    assert capacity_per_slot() == totals
    assert_books_balance()


@pytest.mark.parametrize("round_", range(3))
def test_an_undo_racing_the_waitlist_offer_gives_the_place_once(frozen, round_):
    from booking.models import HeldPlace

    slot = slot_in(2, online=1)
    patient = factories.PatientFactory()
    booking = book(patient, slot)
    services.booking_cancel(booking=booking, requested_by=patient.account)  # nobody waits yet
    waiting = factories.PatientFactory()
    services.waitlist_join(patient=waiting, session=slot.session, requested_by=waiting.account)
    held = HeldPlace.objects.get(freed_by=booking)

    undo, offer = run_together(
        [
            lambda: services.booking_cancel_undo(booking=booking, requested_by=patient.account),
            lambda: services.held_place_offer(held_place_id=held.pk),
        ]
    )

    if isinstance(undo, Booking):
        assert offer is None
        assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.WAITING
    else:
        assert outcome(undo) == "undo_place_gone", undo
        assert isinstance(offer, Booking)
    assert Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count() == 1
    assert_books_balance()
