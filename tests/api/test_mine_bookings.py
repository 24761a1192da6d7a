"""The patient's own bookings and waitlist entries over the API (booking/apis/mine.py).

Every operation for the owner; another account's object answers 404 with none of its
data; refusals change nothing; Idempotency-Key replays answer the same status and body.
"""

import datetime
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import Booking, WaitlistEntry
from clinics.models import Channel, Quota
from patients.services import api_token_issue
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.helpers import assert_books_balance, snapshot
from tests.booking.test_create import slot_in

pytestmark = pytest.mark.django_db


# --- shared by the API tests of the patient's own resources -----------------------------


def api_client(account) -> Client:
    """A client sending a fresh bearer token of `account`, as a real API client does."""
    _row, raw = api_token_issue(account=account, second_factor=False, now=timezone.now())
    return Client(headers={"Authorization": f"Bearer {raw}"})


def post(client: Client, path: str, data: dict, *, key: str | None = None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, json.dumps(data), content_type="application/json", headers=headers)


def assert_holds_nothing_of(response, *secrets: object) -> None:
    """A refusal about someone else's object shows none of it."""
    text = response.content.decode() + json.dumps(response.json(), ensure_ascii=False)
    for secret in secrets:
        assert str(secret) not in text, secret


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def me(clock):
    patient = factories.PatientFactory(real_name="张自己")
    return patient


@pytest.fixture
def other(clock):
    """Another account with its own patient and booking."""
    patient = factories.PatientFactory(real_name="李别人")
    booking = services.booking_create(
        patient=patient,
        slot=slot_in(1, hour=10),
        channel=Channel.ONLINE,
        requested_by=patient.account,
        idempotency_key="other-1",
    )
    return booking


@pytest.fixture
def client(me) -> Client:
    return api_client(me.account)


def book(patient, slot, key: str = "k") -> Booking:
    return services.booking_create(
        patient=patient,
        slot=slot,
        channel=Channel.ONLINE,
        requested_by=patient.account,
        idempotency_key=key,
    )


def expected_body(booking: Booking) -> dict:
    booking = Booking.objects.select_related("session__doctor", "session__room").get(pk=booking.pk)
    session = booking.session
    return {
        "id": booking.pk,
        "code": booking.code,
        "queue_number": booking.queue_number,
        "status": booking.status,
        "channel": "online",
        "patient": booking.patient_id,
        "patient_name": booking.patient.real_name,
        "slot": booking.slot_id,
        "session": session.pk,
        "department": booking.department_id,
        "department_name": booking.department.name,
        "doctor": session.doctor_id,
        "doctor_name": session.doctor.name,
        "level": session.level,
        "room": session.room.code,
        "visit_date": booking.visit_date.isoformat(),
        "starts_at": timezone.localtime(booking.slot.starts_at).isoformat(),
        "ends_at": timezone.localtime(booking.slot.ends_at).isoformat(),
        "rescheduled_from": booking.rescheduled_from_id,
        "created_at": timezone.localtime(booking.created_at).isoformat(),
        "cancelled_at": (
            timezone.localtime(booking.cancelled_at).isoformat() if booking.cancelled_at else None
        ),
    }


BOOKINGS = reverse("api-bookings")


# --- create -----------------------------------------------------------------------------


def test_create_books_an_online_place_for_my_patient(client, me):
    slot = slot_in(1)

    response = post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="first")

    assert response.status_code == 201, response.json()
    booking = Booking.objects.get()
    assert response.json() == expected_body(booking)
    assert response.json()["starts_at"] == "2026-11-24T08:00:00+08:00"
    assert booking.patient == me
    assert booking.channel == Channel.ONLINE
    assert booking.requested_by == me.account
    assert booking.idempotency_key == "first"
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 1
    assert_books_balance()


def test_a_replay_answers_the_same_status_and_body_and_books_once(client, me, clock):
    slot = slot_in(1)
    first = post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="again")
    clock.shift(datetime.timedelta(seconds=30))

    replay = post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="again")

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.content == first.content
    assert Booking.objects.count() == 1
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 1
    assert_books_balance()


@pytest.mark.parametrize("change", ["slot", "patient"])
def test_the_same_key_with_another_body_is_refused_with_422(client, me, change):
    slot = slot_in(1)
    post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="once")
    body = {"patient": me.pk, "slot": slot.pk}
    if change == "slot":
        body["slot"] = factories.slot_with_quotas(
            session=slot.session,
            starts_at=slot.starts_at + datetime.timedelta(minutes=30),
            online=3,
        ).pk
    else:
        body["patient"] = factories.PatientFactory(account=me.account).pk
    before = snapshot()

    response = post(client, BOOKINGS, body, key="once")

    assert response.status_code == 422
    assert response.json() == {
        "code": "idempotency_key_reused",
        "detail": "This request key was already used for a different booking.",
    }
    assert snapshot() == before


def test_create_needs_an_idempotency_key(client, me):
    slot = slot_in(1)
    before = snapshot()

    response = post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == {
        "Idempotency-Key": [
            "Send an Idempotency-Key header: the same key when you retry this request."
        ]
    }
    assert snapshot() == before


def test_a_key_longer_than_64_characters_is_refused(client, me):
    slot = slot_in(1)
    before = snapshot()

    response = post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="k" * 65)

    assert response.status_code == 400
    assert response.json()["detail"] == "The Idempotency-Key header is at most 64 characters."
    assert snapshot() == before


def test_booking_for_another_accounts_patient_is_not_found(client, other):
    slot = slot_in(1)
    before = snapshot()

    response = post(client, BOOKINGS, {"patient": other.patient_id, "slot": slot.pk}, key="x")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_your_patient",
        "detail": "This patient does not belong to your account.",
    }
    assert_holds_nothing_of(response, other.patient.real_name, other.code)
    assert snapshot() == before


def test_a_refused_booking_changes_nothing(client, me):
    slot = slot_in(1, online=1)
    book(factories.PatientFactory(), slot)
    before = snapshot()

    response = post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="late")

    assert response.status_code == 409
    assert response.json()["code"] == "slot_full"
    assert snapshot() == before
    # The refusal is not remembered: the key is still free for a request that can succeed.
    assert not Booking.objects.filter(idempotency_key="late").exists()


def test_an_unknown_slot_is_a_validation_error(client, me):
    before = snapshot()

    response = post(client, BOOKINGS, {"patient": me.pk, "slot": 999999}, key="k")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == ["slot"]
    assert snapshot() == before


def test_booking_writes_are_throttled_per_account(client, me, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "booking_write": "2/min",
        },
    }
    slot = slot_in(1)
    for _ in range(2):
        post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="t")

    response = post(client, BOOKINGS, {"patient": me.pk, "slot": slot.pk}, key="t")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    # Reads are not counted against the writes.
    assert client.get(BOOKINGS).status_code == 200


# --- list and detail --------------------------------------------------------------------


def test_the_list_has_my_upcoming_and_past_bookings_only(client, me, other, clock):
    clock.move_to(NOW - datetime.timedelta(hours=1, minutes=30))
    past = book(me, slot_in(0, hour=8), key="past")  # today 08:00-08:30: over at NOW
    clock.move_to(NOW)
    soon = book(me, slot_in(1), key="soon")
    later = book(me, slot_in(2), key="later")
    services.booking_cancel(booking=later, requested_by=me.account)

    response = client.get(BOOKINGS)

    assert response.status_code == 200
    assert response.json() == {
        "upcoming": [expected_body(soon), expected_body(later)],
        "past": [expected_body(past)],
    }
    assert_holds_nothing_of(response, other.code, other.patient.real_name)


def test_the_list_filters_by_status(client, me):
    book(me, slot_in(1), key="a")
    cancelled = book(me, slot_in(2), key="b")
    services.booking_cancel(booking=cancelled, requested_by=me.account)

    response = client.get(BOOKINGS, {"status": "cancelled_by_patient"})

    assert response.status_code == 200
    assert response.json() == {"upcoming": [expected_body(cancelled)], "past": []}
    assert client.get(BOOKINGS, {"status": "lost"}).json()["code"] == "invalid"


def test_the_list_costs_the_same_queries_for_many_bookings(client, me, django_assert_num_queries):
    for days in range(1, 4):
        book(me, slot_in(days), key=f"k{days}")
    client.get(BOOKINGS)  # the token's last use is written once

    # token, then my_bookings: upcoming, past, waitlist (no waiting entries: no positions)
    with django_assert_num_queries(4):
        response = client.get(BOOKINGS)

    assert len(response.json()["upcoming"]) == 3


def test_detail_shows_my_booking(client, me):
    booking = book(me, slot_in(1))

    response = client.get(reverse("api-booking", args=[booking.pk]))

    assert response.status_code == 200
    assert response.json() == expected_body(booking)


def test_detail_of_another_accounts_booking_is_not_found(client, other):
    response = client.get(reverse("api-booking", args=[other.pk]))

    assert response.status_code == 404
    assert response.json()["code"] == "not_your_patient"
    assert_holds_nothing_of(response, other.code, other.patient.real_name)


def test_staff_and_anonymous_callers_get_no_bookings(me):
    staff = factories.StaffFactory()
    assert api_client(staff).get(BOOKINGS).status_code == 403
    assert Client().get(BOOKINGS).status_code == 401


# --- cancel -----------------------------------------------------------------------------


def test_cancel_frees_the_place(client, me):
    booking = book(me, slot_in(1))

    response = post(
        client, reverse("api-booking-cancel", args=[booking.pk]), {"reason": "feeling better"}
    )

    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_PATIENT
    assert booking.cancel_reason == "feeling better"
    assert response.json() == expected_body(booking)
    assert Quota.objects.get(slot=booking.slot, channel=Channel.ONLINE).booked == 0
    again = post(client, reverse("api-booking-cancel", args=[booking.pk]), {})
    assert (again.status_code, again.content) == (200, response.content)
    assert_books_balance()


def test_cancel_of_another_accounts_booking_is_not_found_and_changes_nothing(client, other):
    before = snapshot()

    response = post(client, reverse("api-booking-cancel", args=[other.pk]), {})

    assert response.status_code == 404
    assert_holds_nothing_of(response, other.code, other.patient.real_name)
    assert snapshot() == before


def test_cancel_after_the_cut_off_is_refused_and_changes_nothing(client, me, clock):
    booking = book(me, slot_in(1))
    clock.move_to(datetime.datetime(2026, 11, 24, 7, 0, tzinfo=SHANGHAI))
    before = snapshot()

    response = post(client, reverse("api-booking-cancel", args=[booking.pk]), {})

    assert response.status_code == 400
    assert response.json() == {
        "code": "cancel_too_late",
        "detail": "Online cancellation closes 120 minutes before the visit. "
        "Please cancel at the front desk.",
    }
    assert snapshot() == before


# --- reschedule -------------------------------------------------------------------------


def test_reschedule_moves_the_booking_and_a_replay_answers_the_same(client, me, clock):
    booking = book(me, slot_in(1))
    new_slot = slot_in(2, department=booking.department)
    path = reverse("api-booking-reschedule", args=[booking.pk])

    first = post(client, path, {"slot": new_slot.pk}, key="move-1")
    clock.shift(datetime.timedelta(seconds=10))
    replay = post(client, path, {"slot": new_slot.pk}, key="move-1")

    assert first.status_code == 201, first.json()
    moved = Booking.objects.get(rescheduled_from=booking)
    assert first.json() == expected_body(moved)
    assert first.json()["rescheduled_from"] == booking.pk
    assert (replay.status_code, replay.content) == (201, first.content)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_PATIENT
    assert Booking.objects.count() == 2
    assert_books_balance()


def test_reschedule_with_a_used_key_for_another_slot_is_refused(client, me):
    booking = book(me, slot_in(1))
    path = reverse("api-booking-reschedule", args=[booking.pk])
    post(client, path, {"slot": slot_in(2, department=booking.department).pk}, key="m")
    third = slot_in(3, department=booking.department)
    before = snapshot()

    response = post(client, path, {"slot": third.pk}, key="m")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert snapshot() == before


def test_reschedule_refusals_change_nothing(client, me):
    booking = book(me, slot_in(1))
    path = reverse("api-booking-reschedule", args=[booking.pk])
    elsewhere = slot_in(2)  # another department
    before = snapshot()

    same = post(client, path, {"slot": booking.slot_id}, key="same")
    foreign = post(client, path, {"slot": elsewhere.pk}, key="foreign")
    no_key = post(client, path, {"slot": booking.slot_id})

    assert (same.status_code, same.json()["code"]) == (400, "reschedule_same_slot")
    assert foreign.status_code == 400
    assert foreign.json()["fields"] == {"slot": ["Choose a time in the booking's department."]}
    assert (no_key.status_code, list(no_key.json()["fields"])) == (400, ["Idempotency-Key"])
    assert snapshot() == before


def test_reschedule_of_another_accounts_booking_is_not_found(client, other):
    new_slot = slot_in(2, department=other.department)
    before = snapshot()

    response = post(
        client,
        reverse("api-booking-reschedule", args=[other.pk]),
        {"slot": new_slot.pk},
        key="steal",
    )

    assert response.status_code == 404
    assert_holds_nothing_of(response, other.code, other.patient.real_name)
    assert snapshot() == before


# --- waitlist ---------------------------------------------------------------------------

WAITLIST = reverse("api-waitlist")


@pytest.fixture
def full_session(clock):
    slot = slot_in(1, online=1)
    book(factories.PatientFactory(), slot, key="fill")
    return slot.session


def test_join_list_and_leave_a_waitlist(client, me, full_session):
    first_in_line = factories.PatientFactory()
    services.waitlist_join(
        patient=first_in_line, session=full_session, requested_by=first_in_line.account
    )

    joined = post(client, WAITLIST, {"patient": me.pk, "session": full_session.pk})

    assert joined.status_code == 201, joined.json()
    entry = WaitlistEntry.objects.get(patient=me)
    body = joined.json()
    assert body["id"] == entry.pk
    assert body["status"] == "waiting"
    assert body["position"] == 2
    assert body["patient"] == me.pk
    assert body["session"] == full_session.pk
    assert body["booking"] is None
    listed = client.get(WAITLIST)
    assert listed.json() == [body]
    assert_holds_nothing_of(listed, first_in_line.real_name)

    left = client.delete(reverse("api-waitlist-entry", args=[entry.pk]))

    assert left.status_code == 200
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT
    assert left.json()["status"] == "left"
    assert left.json()["position"] == 0
    assert client.get(WAITLIST, {"status": "waiting"}).json() == []
    again = client.delete(reverse("api-waitlist-entry", args=[entry.pk]))
    assert (again.status_code, again.content) == (200, left.content)


def test_joining_a_session_with_places_is_refused_and_changes_nothing(client, me):
    session = slot_in(1).session
    before = snapshot()

    response = post(client, WAITLIST, {"patient": me.pk, "session": session.pk})

    assert response.status_code == 409
    assert response.json()["code"] == "session_has_places"
    assert snapshot() == before


def test_joining_for_another_accounts_patient_is_not_found(client, other, full_session):
    before = snapshot()

    response = post(client, WAITLIST, {"patient": other.patient_id, "session": full_session.pk})

    assert response.status_code == 404
    assert_holds_nothing_of(response, other.patient.real_name)
    assert snapshot() == before


def test_leaving_another_accounts_entry_is_not_found_and_changes_nothing(client, full_session):
    stranger = factories.PatientFactory(real_name="王陌生")
    entry = services.waitlist_join(
        patient=stranger, session=full_session, requested_by=stranger.account
    )
    before = snapshot()

    response = client.delete(reverse("api-waitlist-entry", args=[entry.pk]))

    assert response.status_code == 404
    assert_holds_nothing_of(response, stranger.real_name)
    assert snapshot() == before


def test_leaving_a_closed_entry_is_refused(client, me, full_session):
    entry = services.waitlist_join(patient=me, session=full_session, requested_by=me.account)
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.CLOSED)
    before = snapshot()

    response = client.delete(reverse("api-waitlist-entry", args=[entry.pk]))

    assert response.status_code == 409
    assert response.json()["code"] == "waitlist_not_waiting"
    assert snapshot() == before
