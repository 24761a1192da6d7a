"""The hot paths' query counts, pinned: a change that adds a query shows here.

The release minute is what these guard: thousands of requests for a few hundred places,
most of them for a slot that is already full.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import services
from booking.models import Booking
from clinics.models import Channel
from patients.services import api_token_issue
from tests.booking.test_create import slot_in

pytestmark = pytest.mark.django_db

# booking_create: the slot (with its session, doctor, room and department, the places
# left and whether the key was used: one query), the department's policy, then the
# transaction: savepoint, patient lock, closures, holding dates, quota UPDATE, session
# counter UPDATE ... RETURNING, booking INSERT, outbox upsert, reminder upsert, savepoint
# release.
CREATE_QUERIES = 12
# A full slot is refused on the slot's read and its policy: no transaction, no lock, no
# write.
SOLD_OUT_QUERIES = 2
# A replay: the slot's read says the key was used; the patient lock and the booking.
REPLAY_QUERIES = 5
# booking_cancel: savepoint, booking lock, policy, booking UPDATE, session and closures
# (was the channel released?), waitlist, quota UPDATE, quota id, held place INSERT,
# reminder and its outbox row withdrawn, message upsert, savepoint release.
CANCEL_QUERIES = 14
# booking_reschedule: the cancel's steps and the create's, one patient lock, one quota
# lock for both rows, the new slot's read and its policy.
RESCHEDULE_QUERIES = 25
# POST /api/v1/bookings: the token, the patient (is it yours?), then booking_create.
API_CREATE_QUERIES = 2 + CREATE_QUERIES
API_SOLD_OUT_QUERIES = 2 + SOLD_OUT_QUERIES


def test_booking_create(clock, patient, django_assert_num_queries):
    slot = slot_in(1)
    with django_assert_num_queries(CREATE_QUERIES):
        services.booking_create(
            patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
        )


def test_a_sold_out_slot_is_refused_without_a_transaction(clock, patient):
    slot = slot_in(1, online=0)
    with CaptureQueriesContext(connection) as queries, pytest.raises(Exception) as info:
        services.booking_create(
            patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
        )
    assert info.value.code == "slot_full"
    assert len(queries) == SOLD_OUT_QUERIES
    assert not any(
        word in q["sql"].upper() for q in queries for word in ("SAVEPOINT", "UPDATE", "INSERT")
    )


def test_a_replay_costs_the_lock_and_the_read(clock, patient, django_assert_num_queries):
    slot = slot_in(1, online=1)
    first = services.booking_create(
        patient=patient,
        slot=slot,
        channel=Channel.ONLINE,
        requested_by=patient.account,
        idempotency_key="k",
    )
    # The slot is full now, and the replay still answers the first booking.
    with django_assert_num_queries(REPLAY_QUERIES):
        again = services.booking_create(
            patient=patient,
            slot=slot,
            channel=Channel.ONLINE,
            requested_by=patient.account,
            idempotency_key="k",
        )
    assert again.pk == first.pk


def test_booking_cancel(clock, patient, django_assert_num_queries):
    slot = slot_in(1)
    booking = services.booking_create(
        patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
    )
    with django_assert_num_queries(CANCEL_QUERIES):
        services.booking_cancel(booking=booking, requested_by=patient.account)


def test_booking_reschedule(clock, patient, django_assert_num_queries):
    booking = services.booking_create(
        patient=patient, slot=slot_in(1), channel=Channel.ONLINE, requested_by=patient.account
    )
    new_slot = slot_in(2)
    with django_assert_num_queries(RESCHEDULE_QUERIES):
        services.booking_reschedule(
            booking=booking, new_slot=new_slot, requested_by=patient.account
        )


def _api_book(client, patient, slot, key):
    return client.post(
        "/api/v1/bookings",
        json.dumps({"patient": patient.pk, "slot": slot.pk}),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


@pytest.fixture
def api(client, patient):
    row, raw = api_token_issue(account=patient.account, second_factor=False, now=timezone.now())
    # In use a minute ago: its last use is written at most every few minutes.
    row.last_used_at = timezone.now()
    row.save(update_fields=["last_used_at"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def test_the_booking_api(clock, patient, api, django_assert_num_queries):
    slot = slot_in(1)
    with django_assert_num_queries(API_CREATE_QUERIES):
        response = _api_book(api, patient, slot, "k1")
    assert response.status_code == 201
    # Rendered from the booking as created: the same body as a replay read back.
    assert _api_book(api, patient, slot, "k1").json() == response.json()
    assert Booking.objects.count() == 1


def test_the_booking_api_refuses_a_sold_out_slot_without_a_transaction(
    clock, patient, api, django_assert_num_queries
):
    slot = slot_in(1, online=0)
    with django_assert_num_queries(API_SOLD_OUT_QUERIES):
        response = _api_book(api, patient, slot, "k1")
    assert response.status_code == 409
    assert response.json()["code"] == "slot_full"


def test_an_unknown_slot_is_the_fields_error(clock, patient, api):
    response = _api_book(api, patient, type("S", (), {"pk": 999999})(), "k1")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "999999" in response.json()["fields"]["slot"][0]


def test_a_refusal_by_the_rules_is_not_logged_as_a_warning(clock, patient, api, caplog):
    """At the release minute thousands of slot_full answers a second are normal answers:
    Django's per-4xx warning is kept for faults (an unknown URL), not for refusals."""
    slot = slot_in(1, online=0)
    with caplog.at_level("WARNING", logger="django.request"):
        assert _api_book(api, patient, slot, "k1").status_code == 409
        assert not [r for r in caplog.records if r.name == "django.request"]
        assert api.get("/api/v1/no-such-resource").status_code == 404
        assert [r for r in caplog.records if r.name == "django.request"]
