"""No-shows [爽约]: marking, the suspension at the limit, the undo, the beat task."""

import datetime
from collections import Counter

import pytest
import time_machine

from booking import services
from booking.models import Booking
from clinics.models import Channel
from patients.models import NoShow, Patient
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance
from tests.booking.test_create import book, slot_in
from tests.booking.test_visits import refused, visit_snapshot
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db

TODAY = NOW.date()
# Today's 14:00 slot ends at 14:30; its session (14:00-18:00) at 18:00.
SLOT_END = NOW.replace(hour=14, minute=30)
SESSION_END = NOW.replace(hour=18)


def booked_today(patient, *, hour: int = 14) -> Booking:
    return book(patient, slot_in(0, hour=hour))


def earlier_no_shows(patient: Patient, *days_ago: int) -> None:
    for n in days_ago:
        NoShow.objects.create(
            patient=patient,
            visit_date=TODAY - datetime.timedelta(days=n),
            reference=f"earlier:{patient.pk}:{n}",
        )


def mark(booking, by=None, now=None):
    return services.booking_mark_no_show(booking=booking, marked_by=by, now=now)


def undo(booking, staff, reason="Patient was in the eye-drop room", now=None):
    return services.booking_no_show_undo(booking=booking, undone_by=staff, reason=reason, now=now)


# --- marking --------------------------------------------------------------------


def test_no_show_after_the_slot_ends_is_recorded_once(clock, patient, staff):
    booking = booked_today(patient)
    clock.move_to(SLOT_END)

    marked = mark(booking, by=staff)

    assert marked.status == Booking.Status.NO_SHOW
    row = NoShow.objects.get()
    assert (row.patient_id, row.visit_date, row.reference) == (
        patient.pk,
        TODAY,
        f"booking:{booking.pk}",
    )
    patient.refresh_from_db()
    assert patient.suspended_until is None  # one is below the limit of 3
    assert_books_balance()  # a no-show still held its place


def test_marking_twice_changes_nothing(clock, patient, staff):
    booking = booked_today(patient)
    clock.move_to(SLOT_END)
    mark(booking, by=staff)
    before = visit_snapshot()

    again = mark(booking, by=staff)

    assert again.status == Booking.Status.NO_SHOW
    assert visit_snapshot() == before
    assert NoShow.objects.count() == 1


def test_no_show_before_the_slot_ends_is_refused(clock, patient, staff):
    booking = booked_today(patient)
    clock.move_to(SLOT_END - datetime.timedelta(seconds=1))
    refused("no_show_too_early", lambda: mark(booking, by=staff))


def test_no_show_of_a_checked_in_patient_is_refused(clock, patient, staff):
    booking = booked_today(patient)
    services.booking_check_in(booking=booking, checked_in_by=staff)
    clock.move_to(SLOT_END)
    refused("not_markable_no_show", lambda: mark(booking, by=staff))


def test_no_show_of_a_completed_visit_is_refused(clock, patient, staff):
    booking = booked_today(patient)
    services.booking_check_in(booking=booking, checked_in_by=staff)
    services.booking_complete(booking=booking, completed_by=staff)
    clock.move_to(SLOT_END)
    refused("not_markable_no_show", lambda: mark(booking, by=staff))


def test_a_patients_cancellation_is_not_a_no_show(clock, patient, staff):
    booking = booked_today(patient)
    services.booking_cancel(booking=booking, requested_by=patient.account)
    clock.move_to(SLOT_END)
    refused("not_markable_no_show", lambda: mark(booking, by=staff))


def test_a_hospital_cancellation_never_counts(clock, patient, staff):
    earlier_no_shows(patient, 10, 20)  # one more would suspend
    booking = booked_today(patient)
    services.booking_cancel(booking=booking, requested_by=staff, reason="Stopped", by_hospital=True)
    clock.move_to(SESSION_END + datetime.timedelta(hours=1))

    refused("not_markable_no_show", lambda: mark(booking, by=staff))
    assert services.no_shows_mark_due() == 0

    patient.refresh_from_db()
    assert patient.suspended_until is None
    assert NoShow.objects.count() == 2


# --- the suspension at the limit ------------------------------------------------------


def test_the_third_no_show_suspends_online_and_phone_booking_once(clock, patient, staff):
    earlier_no_shows(patient, 30, 200)
    booking = booked_today(patient)
    clock.move_to(SLOT_END)

    mark(booking, by=staff)

    patient.refresh_from_db()
    assert patient.suspended_until == TODAY + datetime.timedelta(days=90)
    mark(booking, by=staff)  # again: not a fourth
    assert NoShow.objects.filter(patient=patient).count() == 3
    patient.refresh_from_db()
    assert patient.suspended_until == TODAY + datetime.timedelta(days=90)

    # online and phone refused, walk-in still open (booking.rules.check_patient)
    tomorrow = slot_in(1, hour=9)
    refused("patient_suspended", lambda: book(patient, tomorrow))
    refused("patient_suspended", lambda: book(patient, tomorrow, channel=Channel.PHONE, by=staff))
    walkin = slot_in(0, hour=16, walkin=2)
    assert book(patient, walkin, channel=Channel.WALKIN, by=staff).status == (
        Booking.Status.CONFIRMED
    )


def test_no_shows_outside_the_window_do_not_count(clock, patient, staff):
    earlier_no_shows(patient, 30, 365)  # 365 days ago is outside the 365-day window
    booking = booked_today(patient)
    clock.move_to(SLOT_END)

    mark(booking, by=staff)

    patient.refresh_from_db()
    assert patient.suspended_until is None


def test_the_departments_policy_decides_the_limit(clock, patient, staff):
    booking = booked_today(patient)
    factories.BookingPolicyFactory(
        department=booking.department, no_show_limit=1, suspension_days=30
    )
    clock.move_to(SLOT_END)

    mark(booking, by=staff)

    patient.refresh_from_db()
    assert patient.suspended_until == TODAY + datetime.timedelta(days=30)


# --- undo -----------------------------------------------------------------------------


def test_undo_while_the_session_runs_confirms_again_and_lifts_the_suspension(clock, patient, staff):
    earlier_no_shows(patient, 30, 200)
    booking = booked_today(patient)
    clock.move_to(SLOT_END)
    mark(booking, by=staff)

    undone = undo(booking, staff)

    assert undone.status == Booking.Status.CONFIRMED
    assert undone.status_note == "Patient was in the eye-drop room"
    assert not NoShow.objects.filter(reference=f"booking:{booking.pk}").exists()
    assert NoShow.objects.filter(patient=patient).count() == 2
    patient.refresh_from_db()
    assert patient.suspended_until is None
    # the patient can still be checked in
    assert services.booking_check_in(booking=booking, checked_in_by=staff).status == (
        Booking.Status.CHECKED_IN
    )
    assert_books_balance()


def test_undo_after_the_session_ended_completes(clock, patient, staff):
    booking = booked_today(patient)
    clock.move_to(SESSION_END)
    mark(booking, by=staff)

    undone = undo(booking, staff)

    assert undone.status == Booking.Status.COMPLETED
    booking.refresh_from_db()
    assert booking.status == Booking.Status.COMPLETED
    assert NoShow.objects.count() == 0


def test_undo_keeps_a_suspension_still_earned_by_other_no_shows(clock, patient, staff):
    earlier_no_shows(patient, 10, 20, 30)
    booking = booked_today(patient)
    clock.move_to(SLOT_END)
    mark(booking, by=staff)
    patient.refresh_from_db()
    suspended = patient.suspended_until
    assert suspended == TODAY + datetime.timedelta(days=90)

    undo(booking, staff)

    patient.refresh_from_db()
    assert patient.suspended_until == suspended
    assert NoShow.objects.filter(patient=patient).count() == 3


def test_undo_needs_a_reason(clock, patient, staff):
    booking = booked_today(patient)
    clock.move_to(SLOT_END)
    mark(booking, by=staff)
    refused("status_note_required", lambda: undo(booking, staff, reason="  "))


def test_undo_of_a_booking_not_marked_is_refused(clock, patient, staff):
    booking = booked_today(patient)
    refused("not_no_show", lambda: undo(booking, staff))


def test_undo_twice_is_refused_and_changes_nothing(clock, patient, staff):
    booking = booked_today(patient)
    clock.move_to(SLOT_END)
    mark(booking, by=staff)
    undo(booking, staff)
    refused("not_no_show", lambda: undo(booking, staff))


def test_no_show_remove_is_idempotent_and_keeps_other_suspensions(clock, patient):
    from patients.services import patient_no_show_remove

    Patient.objects.filter(pk=patient.pk).update(suspended_until=TODAY)

    result = patient_no_show_remove(
        patient=patient, reference="booking:none", limit=3, window_days=365, on=TODAY
    )

    assert result.suspended_until == TODAY  # nothing removed: not ours to lift


# --- the beat task --------------------------------------------------------------------


def test_mark_due_marks_confirmed_bookings_after_the_grace(clock, staff):
    missed = booked_today(factories.PatientFactory())
    came = booked_today(factories.PatientFactory())
    services.booking_check_in(booking=came, checked_in_by=staff)
    other_session = booked_today(factories.PatientFactory(), hour=10)  # 10:00-14:00

    clock.move_to(SESSION_END + datetime.timedelta(minutes=29))
    assert services.no_shows_mark_due() == 1  # only the 10:00 session is past its grace
    other_session.refresh_from_db()
    assert other_session.status == Booking.Status.NO_SHOW

    clock.move_to(SESSION_END + datetime.timedelta(minutes=30))
    assert services.no_shows_mark_due() == 1
    assert services.no_shows_mark_due() == 0  # safe to run twice

    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {
        missed.pk: Booking.Status.NO_SHOW,
        came.pk: Booking.Status.CHECKED_IN,
        other_session.pk: Booking.Status.NO_SHOW,
    }
    assert sorted(NoShow.objects.values_list("reference", flat=True)) == sorted(
        [f"booking:{missed.pk}", f"booking:{other_session.pk}"]
    )


def test_mark_due_looks_back_seven_days_at_most(clock):
    booking = booked_today(factories.PatientFactory())
    clock.move_to(SESSION_END + datetime.timedelta(days=7))
    assert services.no_shows_mark_due() == 0
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_mark_due_takes_at_most_limit(clock):
    for _ in range(3):
        booked_today(factories.PatientFactory())
    clock.move_to(SESSION_END + datetime.timedelta(hours=1))
    assert services.no_shows_mark_due(limit=2) == 2
    assert services.no_shows_mark_due(limit=2) == 1
    assert Booking.objects.filter(status=Booking.Status.NO_SHOW).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_record_each_no_show_once():
    with time_machine.travel(NOW, tick=False) as clock:
        patient = factories.PatientFactory()
        earlier_no_shows(patient, 10, 20)
        bookings = [booked_today(patient)]
        bookings += [booked_today(factories.PatientFactory()) for _ in range(11)]
        clock.move_to(SESSION_END + datetime.timedelta(hours=1))

        results = run_together([services.no_shows_mark_due, services.no_shows_mark_due])

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 12
    references = Counter(NoShow.objects.values_list("reference", flat=True))
    assert all(count == 1 for count in references.values())
    assert {f"booking:{b.pk}" for b in bookings} <= set(references)
    assert Booking.objects.filter(status=Booking.Status.NO_SHOW).count() == 12
    patient.refresh_from_db()
    assert patient.suspended_until == NOW.date() + datetime.timedelta(days=90)
    assert_books_balance()
