"""A stateful property test: random sequences of book, cancel and reschedule.

After every step the invariants of DESIGN.md must hold: `0 <= booked <= capacity`,
`booked` equals the place-holding bookings, capacity is neither created nor lost,
one holding booking per patient per session, and every success wrote exactly one
message while every refusal wrote none.
"""

import datetime

import pytest
import time_machine
from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from booking import services
from booking.models import Booking
from clinics.models import Channel
from core.errors import YuyueError
from notifications.models import OutboxMessage
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, total_capacity
from tests.booking.test_create import slot_in


class BookingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each run lives in a savepoint that teardown rolls back.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        department = factories.DepartmentFactory()
        morning = slot_in(1, department=department, online=1, walkin=1)
        self.slots = [
            morning,
            factories.slot_with_quotas(
                session=morning.session,
                starts_at=morning.starts_at + datetime.timedelta(minutes=30),
                online=2,
            ),
            slot_in(1, hour=14, online=1),
            slot_in(2, online=2),
        ]
        self.staff = factories.StaffFactory()
        family = factories.AccountFactory()
        self.patients = [
            factories.PatientFactory(account=family),
            factories.PatientFactory(account=family),
            factories.PatientFactory(),
        ]
        self.capacity = total_capacity()
        self.successes = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _attempt(self, call) -> None:
        messages = OutboxMessage.objects.count()
        try:
            call()
        except YuyueError:
            assert OutboxMessage.objects.count() == messages, "a refusal wrote a message"
            return
        self.successes += 1

    def _confirmed(self) -> list[Booking]:
        return list(
            Booking.objects.filter(status=Booking.Status.CONFIRMED)
            .select_related("patient__account")
            .order_by("pk")
        )

    @rule(
        patient=st.integers(0, 2),
        slot=st.integers(0, 3),
        key=st.sampled_from(["a", "b", "c", None]),
    )
    def book(self, patient: int, slot: int, key: str | None) -> None:
        p = self.patients[patient]
        self._attempt(
            lambda: services.booking_create(
                patient=p,
                slot=self.slots[slot],
                channel=Channel.ONLINE,
                requested_by=p.account,
                idempotency_key=key,
            )
        )

    @rule(index=st.integers(0, 20), by_staff=st.booleans())
    def cancel(self, index: int, by_staff: bool) -> None:
        confirmed = self._confirmed()
        if confirmed:
            booking = confirmed[index % len(confirmed)]
            who = self.staff if by_staff else booking.patient.account
            self._attempt(
                lambda: services.booking_cancel(
                    booking=booking, requested_by=who, reason="asked" if by_staff else ""
                )
            )

    @rule(index=st.integers(0, 20), slot=st.integers(0, 3))
    def reschedule(self, index: int, slot: int) -> None:
        confirmed = self._confirmed()
        if confirmed:
            booking = confirmed[index % len(confirmed)]
            self._attempt(
                lambda: services.booking_reschedule(
                    booking=booking,
                    new_slot=self.slots[slot],
                    requested_by=booking.patient.account,
                )
            )

    @invariant()
    def books_balance(self) -> None:
        assert_books_balance()

    @invariant()
    def capacity_is_constant(self) -> None:
        assert total_capacity() == self.capacity

    @invariant()
    def one_place_per_patient_per_session(self) -> None:
        doubled = (
            Booking.objects.filter(status__in=Booking.HOLDING)
            .values("patient", "session")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
        )
        assert not doubled.exists()

    @invariant()
    def each_success_wrote_one_message(self) -> None:
        # replays of an idempotency key succeed without a new message: never more than one
        assert OutboxMessage.objects.count() <= self.successes
        assert (
            OutboxMessage.objects.count()
            == Booking.objects.count()
            + Booking.objects.filter(
                status=Booking.Status.CANCELLED_BY_PATIENT, rescheduled_to__isnull=True
            ).count()
        )


@pytest.mark.django_db
def test_booking_state_machine():
    with time_machine.travel(NOW, tick=False):
        run_state_machine_as_test(
            BookingMachine,
            settings=settings(
                max_examples=40,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
