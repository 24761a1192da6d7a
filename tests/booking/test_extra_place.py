"""Extra places [加号] at the desk: only once walk-in is gone, capped, audited, idempotent."""

import datetime
from collections import Counter

import pytest
import time_machine

from booking import services
from booking.models import Booking
from clinics.models import CapacityChange, Channel, Quota, Session
from core.errors import YuyueError
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, capacity_per_slot, total_capacity
from tests.booking.test_create import book, session_in
from tests.booking.test_visits import refused
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db

REASON = "Elderly patient came from far away"


def full_walkin_session(*, days: int = 0, hour: int = 14, walkin: int = 1, slots: int = 2):
    """A session with `slots` half-hour slots, each with `walkin` walk-in places, all
    booked, and 3 free online places."""
    session = session_in(days, hour=hour)
    for n in range(slots):
        slot = factories.slot_with_quotas(
            session=session,
            starts_at=session.starts_at + datetime.timedelta(minutes=30 * n),
            online=3,
            walkin=walkin,
        )
        if days == 0:
            for _ in range(walkin):
                book(factories.PatientFactory(), slot, channel=Channel.WALKIN, by=_desk())
        else:
            Quota.objects.filter(slot=slot, channel=Channel.WALKIN).update(booked=walkin)
    return session


def _desk():
    return factories.StaffFactory()


def extra(patient, session, staff, *, reason=REASON, key=None):
    return services.booking_create_extra(
        patient=patient, session=session, requested_by=staff, reason=reason, idempotency_key=key
    )


def walkin_quota(session: Session, n: int = 0) -> Quota:
    return Quota.objects.filter(slot__session=session, channel=Channel.WALKIN).order_by(
        "slot__starts_at"
    )[n]


def test_extra_place_adds_one_audited_place_and_books_it(clock, patient, staff):
    session = full_walkin_session()
    before_total = total_capacity()
    before_slots = capacity_per_slot()
    first = walkin_quota(session)

    booking = extra(patient, session, staff)

    assert booking.status == Booking.Status.CONFIRMED
    assert booking.channel == Channel.WALKIN
    assert booking.slot_id == first.slot_id
    assert booking.requested_by == staff
    assert booking.booked_by == Booking.BookedBy.STAFF
    assert booking.queue_number == 3  # after the two walk-ins already booked
    # invariant 2: the sum grew by exactly one, on purpose, with exactly one audit row
    assert total_capacity() == before_total + 1
    assert capacity_per_slot() == before_slots | {first.slot_id: before_slots[first.slot_id] + 1}
    change = CapacityChange.objects.get()
    assert (change.quota_id, change.delta, change.capacity_after) == (first.pk, 1, 2)
    assert change.reason == CapacityChange.Reason.EXTRA_PLACE
    assert change.note == REASON
    assert change.changed_by == staff
    assert change.ref == f"session:{session.pk}"
    first.refresh_from_db()
    assert (first.capacity, first.booked) == (2, 2)
    assert_books_balance()


def test_extra_place_goes_to_the_first_slot_not_started(clock, patient, staff):
    session = full_walkin_session()
    clock.move_to(session.starts_at)  # the 14:00 slot has started

    booking = extra(patient, session, staff)

    second = walkin_quota(session, 1)
    assert booking.slot_id == second.slot_id
    assert CapacityChange.objects.get().quota_id == second.pk


def test_no_slot_left_is_refused(clock, patient, staff):
    session = full_walkin_session()
    clock.move_to(session.starts_at + datetime.timedelta(minutes=30))
    refused("slot_started", lambda: extra(patient, session, staff))


def test_extra_place_needs_a_reason(clock, patient, staff):
    session = full_walkin_session()
    refused("extra_place_reason_required", lambda: extra(patient, session, staff, reason=" "))


def test_free_walkin_places_are_booked_normally(clock, patient, staff):
    session = full_walkin_session()
    Quota.objects.filter(pk=walkin_quota(session, 1).pk).update(capacity=2)

    refused("walkin_places_left", lambda: extra(patient, session, staff))


def test_free_places_of_a_started_slot_do_not_count(clock, patient, staff):
    session = full_walkin_session()
    Quota.objects.filter(pk=walkin_quota(session, 0).pk).update(capacity=2)
    clock.move_to(session.starts_at)

    assert extra(patient, session, staff).slot_id == walkin_quota(session, 1).slot_id


def test_the_cap_per_session(clock, staff):
    session = full_walkin_session()
    factories.BookingPolicyFactory(department=session.department, extra_places_per_session=2)
    extra(factories.PatientFactory(), session, staff)
    extra(factories.PatientFactory(), session, staff)

    patient = factories.PatientFactory()
    error = refused("extra_place_limit", lambda: extra(patient, session, staff))

    assert "2" in error.detail
    assert CapacityChange.objects.count() == 2


def test_the_default_cap_is_five(clock, staff):
    session = full_walkin_session()
    for _ in range(5):
        extra(factories.PatientFactory(), session, staff)
    patient = factories.PatientFactory()
    refused("extra_place_limit", lambda: extra(patient, session, staff))


def test_a_replay_returns_the_first_booking_and_adds_no_capacity(clock, patient, staff):
    session = full_walkin_session()
    first = extra(patient, session, staff, key="desk-1")
    total = total_capacity()

    again = extra(patient, session, staff, key="desk-1")

    assert again.pk == first.pk
    assert total_capacity() == total
    assert CapacityChange.objects.count() == 1
    assert Booking.objects.filter(patient=patient).count() == 1


def test_a_key_reused_for_another_patient_is_refused(clock, patient, staff):
    session = full_walkin_session()
    extra(patient, session, staff, key="desk-1")
    other = factories.PatientFactory()
    refused("idempotency_key_reused", lambda: extra(other, session, staff, key="desk-1"))


def test_a_patient_rule_refusal_rolls_the_capacity_back(clock, patient, staff):
    session = full_walkin_session()
    book(patient, factories.slot_with_quotas(session=session_in(0, hour=16), online=3))
    book(patient, factories.slot_with_quotas(session=session_in(0, hour=17), online=3))

    refused("daily_limit", lambda: extra(patient, session, staff))


def test_already_booked_in_the_session_is_refused(clock, staff):
    session = full_walkin_session()
    walkin_patient = Booking.objects.filter(session=session).first().patient
    refused("already_booked_session", lambda: extra(walkin_patient, session, staff))


def test_walkin_is_for_today_only(clock, patient, staff):
    session = full_walkin_session(days=1)
    refused("walkin_same_day", lambda: extra(patient, session, staff))


def test_a_stopped_session_is_refused(clock, patient, staff):
    session = full_walkin_session()
    Session.objects.filter(pk=session.pk).update(status=Session.Status.STOPPED)
    session.refresh_from_db()
    refused("session_stopped", lambda: extra(patient, session, staff))


def test_only_staff_add_extra_places(clock, patient):
    session = full_walkin_session()
    refused("channel_not_allowed", lambda: extra(patient, session, patient.account))


def test_a_suspended_patient_may_still_get_an_extra_place(clock, patient, staff):
    session = full_walkin_session()
    patient.suspended_until = NOW.date() + datetime.timedelta(days=30)
    patient.save(update_fields=["suspended_until"])

    assert extra(patient, session, staff).status == Booking.Status.CONFIRMED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_desks_at_once_get_exactly_the_five_extra_places():
    with time_machine.travel(NOW, tick=False):
        session = full_walkin_session()
        desk = factories.StaffFactory()
        patients = [factories.PatientFactory() for _ in range(8)]
        total = total_capacity()

        results = run_together([lambda p=p: extra(p, session, desk) for p in patients])

    outcomes = Counter(r.code if isinstance(r, YuyueError) else type(r).__name__ for r in results)
    assert outcomes == {"Booking": 5, "extra_place_limit": 3}, results
    assert total_capacity() == total + 5
    assert CapacityChange.objects.filter(reason=CapacityChange.Reason.EXTRA_PLACE).count() == 5
    assert Booking.objects.filter(session=session, channel=Channel.WALKIN).count() == 2 + 5
    numbers = sorted(Booking.objects.filter(session=session).values_list("queue_number", flat=True))
    assert numbers == list(range(1, 8))
    assert_books_balance()
