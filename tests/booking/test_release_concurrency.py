"""The release engine, the waitlist and stops racing patients, on the real PostgreSQL.

Each thread has its own connection; afterwards the database must show that no place was
lost or created (each slot's capacity is constant), that `booked` equals the holding
bookings and `booked + held <= capacity`, and that nothing deadlocked.
"""

import datetime
from collections import Counter
from collections.abc import Callable

import pytest
import time_machine

from booking import services
from booking.models import Booking, Closure, ReleaseRun, WaitlistEntry
from booking.services import release
from clinics.models import Channel, Quota, Session
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, capacity_per_slot
from tests.booking.test_concurrency import outcome, run_together
from tests.booking.test_create import slot_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def booked(slot, channel=Channel.ONLINE) -> Booking:
    patient = factories.PatientFactory()
    by = factories.StaffFactory() if channel != Channel.ONLINE else patient.account
    return services.booking_create(patient=patient, slot=slot, channel=channel, requested_by=by)


def department_sessions(department, *, days: int, online: int = 4) -> list:
    slots = []
    for day in range(1, days + 1):
        first = slot_in(day, department=department, online=online, phone=1, walkin=1)
        second = factories.slot_with_quotas(
            session=first.session,
            starts_at=first.starts_at + datetime.timedelta(minutes=30),
            online=online,
            phone=1,
        )
        slots += [first, second]
    return slots


def test_closure_release_while_patients_book_and_cancel(frozen):
    department = factories.DepartmentFactory()
    slots = department_sessions(department, days=3)
    holders = [booked(slot) for slot in slots for _ in range(2)]
    totals = capacity_per_slot()
    walkin_before = sum(
        Quota.objects.filter(channel=Channel.WALKIN).values_list("capacity", flat=True)
    )
    closure = Closure.objects.create(
        scope=Closure.Scope.DEPARTMENT,
        department=department,
        online=True,
        phone=True,
        # planned to start in an hour: online still books now, while the places of
        # tomorrow's sessions are already moving to walk-in
        starts_at=NOW + datetime.timedelta(hours=1),
        ends_at=NOW + datetime.timedelta(days=5),
        reason=Closure.Reason.CAPACITY,
        notice="暂停",
        notice_en="Paused",
        release_places=True,
    )
    patients = [factories.PatientFactory() for _ in range(12)]
    calls: list[Callable[[], object]] = [
        lambda: release.release_for_closure(closure_id=closure.pk),
        lambda: release.release_for_closure(closure_id=closure.pk),  # a twin task
    ]
    calls += [
        lambda b=b: services.booking_cancel(booking=b, requested_by=b.patient.account)
        for b in holders[::2]
    ]
    calls += [
        lambda p=p, s=s: services.booking_create(
            patient=p, slot=s, channel=Channel.ONLINE, requested_by=p.account
        )
        for p, s in zip(patients, slots * 2, strict=False)
    ]

    results = run_together(calls)

    assert all(isinstance(r, ReleaseRun) for r in results[:2]), results[:2]
    assert set(map(outcome, results[2:])) <= {"booked", "slot_full"}, results
    run = ReleaseRun.objects.get()
    assert (run.status, run.sessions_touched) == (ReleaseRun.Status.DONE, 3)
    walkin_after = sum(
        Quota.objects.filter(channel=Channel.WALKIN).values_list("capacity", flat=True)
    )
    assert walkin_after - walkin_before == run.places_moved > 0
    assert capacity_per_slot() == totals
    for quota in Quota.objects.exclude(channel=Channel.WALKIN):
        # whatever was free when the release reached the slot moved: at most held or
        # places freed after it remain, never more than the quota's own bookings allow
        assert quota.booked + quota.held <= quota.capacity
    assert_books_balance()


def test_pre_session_release_twice_at_once_while_patients_book(frozen):
    slots = [slot_in(0, hour=10 + i % 2, online=3, phone=1, walkin=0) for i in range(3)]
    totals = capacity_per_slot()
    patients = [factories.PatientFactory() for _ in range(9)]
    calls: list[Callable[[], object]] = [release.release_due_sessions] * 3
    calls += [
        lambda p=p, s=s: services.booking_create(
            patient=p, slot=s, channel=Channel.ONLINE, requested_by=p.account
        )
        for p, s in zip(patients, slots * 3, strict=False)
    ]

    results = run_together(calls)

    assert set(map(outcome, results[3:])) <= {"booked", "slot_full"}, results
    assert not any(isinstance(r, Exception) for r in results[:3]), results[:3]
    assert Session.objects.filter(walkin_released_at__isnull=True).count() == 0
    for slot in slots:
        online = Quota.objects.get(slot=slot, channel=Channel.ONLINE)
        assert online.capacity == online.booked  # everything unbooked moved, once
    moved = sum(r.places_moved for r in results[:3] if isinstance(r, ReleaseRun))
    assert moved == sum(
        Quota.objects.filter(channel=Channel.WALKIN).values_list("capacity", flat=True)
    )
    assert capacity_per_slot() == totals
    assert_books_balance()


def test_concurrent_cancellations_go_to_the_waitlist_in_order(frozen):
    slot = slot_in(1, online=5)
    holders = [booked(slot) for _ in range(5)]
    waiting = [factories.PatientFactory() for _ in range(7)]
    for patient in waiting:
        services.waitlist_join(patient=patient, session=slot.session, requested_by=patient.account)
    totals = capacity_per_slot()

    results = run_together(
        [
            lambda b=b: services.booking_cancel(booking=b, requested_by=b.patient.account)
            for b in holders
        ]
    )

    assert Counter(map(outcome, results)) == {"booked": 5}  # the cancelled bookings
    entries = list(WaitlistEntry.objects.order_by("created_at", "pk"))
    assert [e.status for e in entries] == ["booked"] * 5 + ["waiting"] * 2
    online = Quota.objects.get(slot=slot, channel=Channel.ONLINE)
    assert (online.booked, online.held) == (5, 0)
    assert capacity_per_slot() == totals
    assert_books_balance()


def test_stop_while_patients_book_cancel_and_join(frozen):
    slot = slot_in(1, online=6, phone=1, walkin=1)
    holders = [booked(slot) for _ in range(4)]
    staff = factories.StaffFactory()
    totals = capacity_per_slot()
    patients = [factories.PatientFactory() for _ in range(6)]
    calls: list[Callable[[], object]] = [
        lambda: services.session_stop(session=slot.session, reason="停诊", stopped_by=staff)
    ] * 2
    calls += [
        lambda b=b: services.booking_cancel(booking=b, requested_by=b.patient.account)
        for b in holders[:2]
    ]
    calls += [
        lambda p=p: services.booking_create(
            patient=p, slot=slot, channel=Channel.ONLINE, requested_by=p.account
        )
        for p in patients
    ]

    results = run_together(calls)

    stops = results[:2]
    assert sorted(r.stopped for r in stops) == [False, True], stops
    assert set(map(outcome, results[2:])) <= {
        "booked",
        "session_stopped",
        "slot_full",
        "not_cancellable",
    }
    assert not Booking.objects.filter(
        session=slot.session, status__in=(Booking.Status.CONFIRMED, Booking.Status.CHECKED_IN)
    ).exists()
    hospital = Booking.objects.filter(status=Booking.Status.CANCELLED_BY_HOSPITAL).count()
    assert sum(r.bookings_cancelled for r in stops) == hospital  # the two may share it
    from notifications.models import OutboxMessage

    assert OutboxMessage.objects.filter(kind="booking_cancelled_by_hospital").count() == hospital
    assert capacity_per_slot() == totals
    assert_books_balance()
