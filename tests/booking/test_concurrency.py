"""Many requests at once, on the real PostgreSQL, with real threads.

Each thread has its own database connection and its own transactions, so these
tests see what production sees: row locks, READ COMMITTED, unique constraints.
"""

import datetime
from collections import Counter
from collections.abc import Callable

import pytest
import time_machine

from booking import services
from booking.models import Booking
from clinics.models import Channel, Quota
from core.errors import YuyueError
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, total_capacity
from tests.booking.test_create import slot_in
from tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def outcome(result: object) -> str:
    if isinstance(result, YuyueError):
        return result.code
    if isinstance(result, Booking):
        return "booked"
    return repr(result)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_fifty_patients_race_for_the_last_three_places(frozen):
    slot = slot_in(1, online=10)
    for _ in range(7):  # real bookings, so the books balance before the race
        patient = factories.PatientFactory()
        services.booking_create(
            patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
        )
    patients = [factories.PatientFactory() for _ in range(50)]

    results = run_together(
        [
            lambda p=p: services.booking_create(
                patient=p, slot=slot, channel=Channel.ONLINE, requested_by=p.account
            )
            for p in patients
        ]
    )

    assert Counter(map(outcome, results)) == {"booked": 3, "slot_full": 47}
    quota = Quota.objects.get(slot=slot, channel=Channel.ONLINE)
    assert quota.booked == quota.capacity == 10
    assert Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count() == 10
    numbers = sorted(Booking.objects.filter(slot=slot).values_list("queue_number", flat=True))
    assert numbers == list(range(1, 11))
    assert_books_balance()


def test_twenty_requests_with_one_idempotency_key_make_one_booking(frozen):
    slot = slot_in(1, online=5)
    patient = factories.PatientFactory()

    results = run_together(
        [
            lambda: services.booking_create(
                patient=patient,
                slot=slot,
                channel=Channel.ONLINE,
                requested_by=patient.account,
                idempotency_key="one-click",
            )
        ]
        * 20
    )

    assert Counter(map(outcome, results)) == {"booked": 20}
    assert len({r.pk for r in results}) == 1
    assert Booking.objects.count() == 1
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 1
    assert_books_balance()


def test_one_patient_many_sessions_at_once_keeps_the_daily_limit(frozen):
    patient = factories.PatientFactory()
    slots = [slot_in(1, hour=8 + i) for i in range(6)]

    results = run_together(
        [
            lambda s=s: services.booking_create(
                patient=patient, slot=s, channel=Channel.ONLINE, requested_by=patient.account
            )
            for s in slots
        ]
    )

    assert Counter(map(outcome, results)) == {"booked": 2, "daily_limit": 4}
    assert_books_balance()


def test_cancel_and_book_on_a_full_slot_never_leave_booked_wrong(frozen):
    slot = slot_in(1, online=1)
    holder = factories.PatientFactory()
    held = services.booking_create(
        patient=holder, slot=slot, channel=Channel.ONLINE, requested_by=holder.account
    )
    others = [factories.PatientFactory() for _ in range(15)]
    calls: list[Callable[[], object]] = [
        lambda: services.booking_cancel(booking=held, requested_by=holder.account)
    ]
    calls += [
        lambda p=p: services.booking_create(
            patient=p, slot=slot, channel=Channel.ONLINE, requested_by=p.account
        )
        for p in others
    ]

    results = run_together(calls)

    outcomes = Counter(map(outcome, results))
    assert outcomes["booked"] <= 2  # the cancel's own result plus at most one new booking
    assert set(outcomes) <= {"booked", "slot_full"}
    assert Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count() <= 1
    assert_books_balance()


def test_crossing_reschedules_neither_deadlock_nor_lose_places(frozen):
    first, second = slot_in(1, online=3), slot_in(2, online=3)
    capacity = total_capacity()

    def booked_in(slot):
        patient = factories.PatientFactory()
        return services.booking_create(
            patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
        )

    forward = [booked_in(first) for _ in range(2)]
    backward = [booked_in(second) for _ in range(2)]

    results = run_together(
        [
            lambda b=b, target=target: services.booking_reschedule(
                booking=b, new_slot=target, requested_by=b.patient.account
            )
            for bookings, target in ((forward, second), (backward, first))
            for b in bookings
        ]
    )

    # no deadlock error, no lost or created place; each move either happened or was refused
    assert set(map(outcome, results)) <= {"booked", "slot_full"}, results
    assert total_capacity() == capacity
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 4
    assert_books_balance()


def test_queue_numbers_stay_unique_under_load(frozen):
    session_slot = slot_in(1, online=30)
    later = factories.slot_with_quotas(
        session=session_slot.session,
        starts_at=session_slot.starts_at + datetime.timedelta(minutes=30),
        online=30,
    )
    patients = [factories.PatientFactory() for _ in range(30)]

    results = run_together(
        [
            lambda p=p, i=i: services.booking_create(
                patient=p,
                slot=session_slot if i % 2 else later,
                channel=Channel.ONLINE,
                requested_by=p.account,
            )
            for i, p in enumerate(patients)
        ]
    )

    assert Counter(map(outcome, results)) == {"booked": 30}
    numbers = sorted(
        Booking.objects.filter(session=session_slot.session).values_list("queue_number", flat=True)
    )
    assert numbers == list(range(1, 31))
