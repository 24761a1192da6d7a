"""Booking for a phone caller: sessions in the booking window with phone places, a slot,
the phone quota, and the same confirmation message an online booking writes."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from booking.models import Booking
from booking.selectors import desk as desk_selectors
from clinics.models import Channel, Quota
from notifications.models import OutboxMessage
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, snapshot
from tests.booking.test_create import book, slot_in
from tests.frontdesk.test_walkin import DESK_PERMISSIONS, client_for, desk_user, messages_of

pytestmark = pytest.mark.django_db

PHONE = reverse("admin:frontdesk_phone")


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


def test_phone_sessions_are_those_in_the_window_with_phone_places(clock, django_assert_num_queries):
    department = factories.DepartmentFactory()
    tomorrow = slot_in(1, department=department, phone=2).session
    slot_in(2, department=department, phone=0)  # no phone places
    slot_in(8, department=department, phone=2)  # past the 7-day window
    later_today = slot_in(0, department=department, hour=14, phone=1).session

    with django_assert_num_queries(4):
        sessions = desk_selectors.phone_sessions(department=department, now=NOW)

    assert [s.pk for s in sessions] == [later_today.pk, tomorrow.pk]
    assert [s.availability.places for s in sessions] == [1, 2]


def test_the_page_lists_slots_with_phone_places_of_the_chosen_session(clock, desk_client, patient):
    slot = slot_in(1, phone=2)
    full = factories.slot_with_quotas(
        session=slot.session, starts_at=slot.starts_at + datetime.timedelta(minutes=30), phone=0
    )

    page = desk_client.get(
        PHONE,
        {
            "patient": patient.pk,
            "department": slot.session.department_id,
            "session": slot.session_id,
        },
    )

    assert [s.pk for s in page.context["slots"]] == [slot.pk]
    assert full.pk not in [s.pk for s in page.context["slots"]]
    assert "Book 08:00–08:30 (2 places left)" in page.content.decode()


def book_by_phone(client, patient, slot, *, key="p-1"):
    return client.post(
        PHONE,
        {
            "action": "book",
            "patient": patient.pk,
            "department": slot.session.department_id,
            "session_shown": slot.session_id,
            "slot": slot.pk,
            "key": key,
        },
    )


def test_a_phone_booking_takes_a_phone_place_once_and_confirms_like_online(
    clock, desk_client, desk, patient
):
    # given a slot tomorrow with phone and online places, and an online booking in it
    slot = slot_in(1, phone=2, online=3)
    online = book(factories.PatientFactory(), slot)

    # when the desk books a caller, twice with the same key (a double click)
    first = book_by_phone(desk_client, patient, slot)
    second = book_by_phone(desk_client, patient, slot)

    # then one phone booking, in the phone quota
    booking = Booking.objects.get(channel=Channel.PHONE)
    assert first["Location"] == second["Location"] == f"{PHONE}?booking={booking.pk}"
    assert booking.patient == patient
    assert booking.requested_by == desk
    assert Quota.objects.get(slot=slot, channel=Channel.PHONE).booked == 1
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 1
    # and the same confirmation message as the online booking's
    by_phone = OutboxMessage.objects.get(dedupe_key=f"booking:{booking.pk}:booking_confirmed")
    by_web = OutboxMessage.objects.get(dedupe_key=f"booking:{online.pk}:booking_confirmed")
    assert by_phone.kind == by_web.kind == "booking_confirmed"
    assert by_phone.recipient == patient.phone
    assert by_phone.context == {
        **by_web.context,
        "code": booking.code,
        "patient": patient.real_name,
        "queue_number": booking.queue_number,
    }
    assert_books_balance()


def test_the_confirmation_shows_the_code_and_says_the_caller_gets_the_sms(
    clock, desk_client, patient
):
    slot = slot_in(1, phone=2)
    done = book_by_phone(desk_client, patient, slot)

    page = desk_client.get(done["Location"])

    booking = Booking.objects.get()
    html = page.content.decode()
    assert page.context["title"] == "Phone booking made"
    assert booking.code in html
    assert (
        "The caller gets the same confirmation SMS as an online booking, at "
        f"{patient.phone[:3]}****{patient.phone[-4:]}, and a reminder before the visit."
    ) in html


def test_a_refused_phone_booking_says_why_and_changes_nothing(clock, desk_client, patient):
    slot = slot_in(1, phone=0)
    before = snapshot()

    page = book_by_phone(desk_client, patient, slot)

    assert messages_of(desk_client.get(page["Location"])) == [
        "This time slot is fully booked. Please choose another time or join the waitlist."
    ]
    assert snapshot() == before


def test_walkin_places_cannot_be_booked_by_phone_for_another_day(clock, desk_client, patient):
    slot = slot_in(1, walkin=2, phone=0)

    book_by_phone(desk_client, patient, slot)

    assert not Booking.objects.exists()
