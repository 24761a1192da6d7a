"""Check-in at the desk: by booking code (typed or scanned), by phone, and its refusals
in words the desk can read out."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from booking import services as booking_services
from booking.models import Booking
from frontdesk.models import QueueTicket
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import snapshot
from tests.booking.test_create import book, slot_in
from tests.frontdesk.test_walkin import (
    DESK_PERMISSIONS,
    at,
    client_for,
    desk_user,
    messages_of,
    today_session,
)

pytestmark = pytest.mark.django_db

CHECKIN = reverse("admin:frontdesk_checkin")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk():
    return desk_user(*DESK_PERMISSIONS)


@pytest.fixture
def desk_client(desk):
    return client_for(desk)


def todays_booking(patient, *, hour: int = 10) -> Booking:
    session = today_session(hour=hour, online=3)
    return book(patient, session.slots.order_by("starts_at").first())


def test_a_booking_code_checks_in_and_says_the_number_and_room(clock, desk_client):
    patient = factories.PatientFactory(real_name="王秀英")
    booking = todays_booking(patient)

    # as a scanner types it: lower case, a trailing newline
    page = desk_client.post(CHECKIN, {"q": f" {booking.code.lower()}\n"}, follow=True)

    ticket = QueueTicket.objects.get(booking=booking)
    room = booking.session.room
    assert messages_of(page) == [
        f"王*英 checked in: queue number {ticket.number}, room {room.code} {room.name}."
    ]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CHECKED_IN
    assert ticket.priority == ""


def test_the_disability_box_gives_priority(clock, desk_client, patient):
    booking = todays_booking(patient)

    desk_client.post(CHECKIN, {"q": booking.code, "disability": "on"})

    assert QueueTicket.objects.get(booking=booking).priority == QueueTicket.Priority.DISABILITY


def test_a_late_arrival_is_told_they_go_to_the_end(clock, desk_client, patient):
    booking = todays_booking(patient, hour=10)
    clock.move_to(at(11))  # the 10:00-10:30 slot has ended

    page = desk_client.post(CHECKIN, {"q": booking.code}, follow=True)

    assert messages_of(page)[1] == "Arrived late: goes to the end of the queue."
    assert QueueTicket.objects.get(booking=booking).late


def test_a_phone_lists_its_bookings_today_to_choose_from(clock, desk_client, patient):
    booking = todays_booking(patient)
    todays_booking(factories.PatientFactory())  # someone else's
    book(patient, slot_in(1))  # tomorrow's

    page = desk_client.post(CHECKIN, {"q": patient.account.phone, "disability": "on"})

    assert [b.pk for b in page.context["bookings"]] == [booking.pk]
    assert f"Check in {booking.code}" in page.content.decode()
    assert not QueueTicket.objects.exists()

    chosen = desk_client.post(CHECKIN, {"booking": booking.pk, "disability": "on"})

    assert chosen.status_code == 302
    ticket = QueueTicket.objects.get(booking=booking)
    assert ticket.priority == QueueTicket.Priority.DISABILITY


def test_an_unknown_code_or_phone_is_said_in_the_form(clock, desk_client):
    unknown_code = desk_client.post(CHECKIN, {"q": "ACDEFGHJ"})
    unknown_phone = desk_client.post(CHECKIN, {"q": "13999999999"})

    assert unknown_code.context["form"].errors == {
        "q": ["No booking has this code. Check the code or type the phone."]
    }
    assert unknown_phone.context["form"].errors == {"q": ["This phone has no booking today."]}


def test_another_days_booking_is_refused_with_its_date(clock, desk_client, patient):
    booking = book(patient, slot_in(1))
    before = snapshot()

    page = desk_client.post(CHECKIN, {"q": booking.code})

    assert messages_of(page) == ["This booking is for Nov. 24, 2026, not today."]
    assert snapshot() == before
    assert not QueueTicket.objects.exists()


def test_a_hospital_cancelled_booking_is_explained_with_alternatives(
    clock, desk_client, desk, patient
):
    # given a booking today whose session the hospital cancelled, and the doctor's next
    # session with online places
    booking = todays_booking(patient)
    doctor = booking.session.doctor
    next_day = at(8, day=booking.visit_date + datetime.timedelta(days=1))
    alternative = factories.SessionFactory(
        doctor=doctor,
        date=next_day.date(),
        starts_at=next_day,
        ends_at=next_day + datetime.timedelta(hours=4),
    )
    factories.slot_with_quotas(session=alternative, online=2)
    booking_services.booking_cancel(
        booking=booking, requested_by=desk, reason="医生外出会诊", by_hospital=True
    )
    before = snapshot()

    page = desk_client.post(CHECKIN, {"q": booking.code})

    assert messages_of(page) == [
        "The hospital cancelled this booking (医生外出会诊). "
        "Please choose another session; the desk can suggest one."
    ]
    assert [s.pk for s in page.context["alternatives"]] == [alternative.pk]
    assert f"{doctor.name} · 2026-11-24 · 08:00–12:00" in page.content.decode()
    assert snapshot() == before
