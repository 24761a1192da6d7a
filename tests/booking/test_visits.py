"""The visit day: check-in [签到] and seen, each rule and refusal."""

import datetime

import pytest
from django.utils import translation

from booking import services
from booking.models import Booking
from clinics.models import CapacityChange
from core.errors import YuyueError
from patients.models import NoShow, Patient
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.helpers import assert_books_balance, snapshot
from tests.booking.test_create import book, slot_in

pytestmark = pytest.mark.django_db


def visit_snapshot() -> dict:
    """What a refusal on the visit day must leave as it was."""
    return snapshot() | {
        "visits": list(
            Booking.objects.order_by("pk").values_list(
                "pk", "status", "checked_in_at", "status_note", "updated_at"
            )
        ),
        "no_shows": list(NoShow.objects.order_by("pk").values_list("pk", "reference")),
        "suspensions": list(Patient.objects.order_by("pk").values_list("pk", "suspended_until")),
        "capacity_changes": CapacityChange.objects.count(),
    }


def refused(code: str, call) -> YuyueError:
    before = visit_snapshot()
    with pytest.raises(YuyueError) as info:
        call()
    assert info.value.code == code, info.value
    assert visit_snapshot() == before, "a refusal must change nothing"
    return info.value


@pytest.fixture
def today_booking(clock, patient):
    """Patient booked online for today 14:00-14:30."""
    return book(patient, slot_in(0, hour=14))


def check_in(booking, staff, now=None):
    return services.booking_check_in(booking=booking, checked_in_by=staff, now=now)


# --- check-in -----------------------------------------------------------------


def test_check_in_puts_the_patient_in_the_queue(today_booking, staff):
    booking = check_in(today_booking, staff)

    assert booking.status == Booking.Status.CHECKED_IN
    assert booking.checked_in_at == NOW
    today_booking.refresh_from_db()
    assert today_booking.status == Booking.Status.CHECKED_IN
    assert today_booking.checked_in_at == NOW
    assert services.arrived_late(today_booking) is False
    assert_books_balance()


def test_check_in_takes_now_from_the_caller(today_booking, staff):
    at = NOW + datetime.timedelta(minutes=7)
    assert check_in(today_booking, staff, now=at).checked_in_at == at


def test_check_in_twice_returns_the_booking_unchanged(today_booking, staff, clock):
    first = check_in(today_booking, staff)
    clock.move_to(NOW + datetime.timedelta(minutes=5))
    before = visit_snapshot()

    again = check_in(today_booking, staff)

    assert again.pk == first.pk
    assert again.status == Booking.Status.CHECKED_IN
    assert again.checked_in_at == NOW
    assert visit_snapshot() == before


def test_late_arrival_is_checked_in_and_marked_late(today_booking, staff, clock):
    end = today_booking.slot.ends_at
    clock.move_to(end + datetime.timedelta(minutes=1))

    booking = check_in(today_booking, staff)

    assert booking.status == Booking.Status.CHECKED_IN
    assert services.arrived_late(booking) is True


def test_arrival_exactly_at_the_slot_end_is_not_late(today_booking, staff, clock):
    clock.move_to(today_booking.slot.ends_at)
    assert services.arrived_late(check_in(today_booking, staff)) is False


def test_not_checked_in_is_not_late(today_booking):
    assert services.arrived_late(today_booking) is False


def test_check_in_on_another_day_is_refused_with_the_date(clock, patient, staff):
    booking = book(patient, slot_in(1, hour=9))

    error = refused("not_today", lambda: check_in(booking, staff))

    assert error.detail == "This booking is for Nov. 24, 2026, not today."
    with translation.override("zh-hans"):
        assert "2026年11月24日" in error.detail


def test_check_in_of_yesterdays_booking_is_refused(clock, patient, staff):
    booking = book(patient, slot_in(0, hour=14))
    clock.move_to(NOW + datetime.timedelta(days=1))
    refused("not_today", lambda: check_in(booking, staff))


def test_check_in_after_the_hospital_cancelled_shows_why_and_alternatives(today_booking, staff):
    session = today_booking.session
    later = factories.SessionFactory(
        doctor=session.doctor,
        date=session.date + datetime.timedelta(days=2),
        starts_at=datetime.datetime.combine(
            session.date + datetime.timedelta(days=2), datetime.time(8), tzinfo=SHANGHAI
        ),
    )
    factories.slot_with_quotas(session=later, online=3)
    services.booking_cancel(
        booking=today_booking, requested_by=staff, reason="Doctor ill", by_hospital=True
    )

    error = refused("booking_cancelled_by_hospital", lambda: check_in(today_booking, staff))

    assert "Doctor ill" in error.detail
    assert error.http_status == 409
    assert error.alternatives == [later]


def test_check_in_after_the_patient_cancelled_is_refused(today_booking, staff, patient):
    services.booking_cancel(booking=today_booking, requested_by=patient.account)
    refused("booking_cancelled", lambda: check_in(today_booking, staff))


@pytest.mark.parametrize("status", [Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
def test_check_in_of_a_visit_that_is_over_is_refused(today_booking, staff, status):
    Booking.objects.filter(pk=today_booking.pk).update(status=status)
    refused("not_checkable", lambda: check_in(today_booking, staff))


def test_check_in_reads_the_locked_row_not_the_callers_copy(today_booking, staff, patient):
    stale = Booking.objects.get(pk=today_booking.pk)
    services.booking_cancel(booking=today_booking, requested_by=patient.account)
    refused("booking_cancelled", lambda: check_in(stale, staff))


# --- seen ---------------------------------------------------------------------


def test_complete_after_check_in(today_booking, staff):
    check_in(today_booking, staff)

    booking = services.booking_complete(booking=today_booking, completed_by=staff)

    assert booking.status == Booking.Status.COMPLETED
    today_booking.refresh_from_db()
    assert today_booking.status == Booking.Status.COMPLETED
    assert today_booking.checked_in_at == NOW
    assert_books_balance()  # a completed visit still holds its place


def test_complete_twice_returns_the_booking_unchanged(today_booking, staff):
    check_in(today_booking, staff)
    services.booking_complete(booking=today_booking, completed_by=staff)
    before = visit_snapshot()

    again = services.booking_complete(booking=today_booking, completed_by=staff)

    assert again.status == Booking.Status.COMPLETED
    assert visit_snapshot() == before


@pytest.mark.parametrize(
    "status",
    [
        Booking.Status.CONFIRMED,
        Booking.Status.NO_SHOW,
    ],
)
def test_complete_without_check_in_is_refused(today_booking, staff, status):
    Booking.objects.filter(pk=today_booking.pk).update(status=status)
    refused(
        "not_checked_in",
        lambda: services.booking_complete(booking=today_booking, completed_by=staff),
    )


def test_complete_of_a_cancelled_booking_is_refused(today_booking, staff, patient):
    services.booking_cancel(booking=today_booking, requested_by=patient.account)
    refused(
        "not_checked_in",
        lambda: services.booking_complete(booking=today_booking, completed_by=staff),
    )


def test_check_in_costs_a_fixed_number_of_queries(today_booking, staff, django_assert_num_queries):
    # savepoint, the locked booking with its slot and session, the update, release
    with django_assert_num_queries(4):
        check_in(today_booking, staff)
