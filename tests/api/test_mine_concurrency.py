"""Idempotency over HTTP on the real PostgreSQL: 30 requests with one Idempotency-Key at
the same instant, each its own client, thread and database connection."""

import pytest
import time_machine
from django.urls import reverse

from booking.models import Booking
from clinics.models import Channel, Quota
from notifications.models import OutboxMessage
from tests import factories
from tests.api.test_mine_bookings import api_client, post
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance
from tests.booking.test_create import slot_in
from tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REQUESTS = 30


@pytest.fixture
def roomy_throttle(settings):
    """The per-account write throttle is not what is tested here: let all 30 through."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "booking_write": "1000/min",
        },
    }


def test_thirty_requests_with_one_key_make_one_booking_and_one_answer(roomy_throttle):
    with time_machine.travel(NOW, tick=False):
        patient = factories.PatientFactory()
        slot = slot_in(1, online=5)
        clients = [api_client(patient.account) for _ in range(REQUESTS)]
        body = {"patient": patient.pk, "slot": slot.pk}

        responses = run_together(
            [lambda c=c: post(c, reverse("api-bookings"), body, key="one-tap") for c in clients]
        )

    assert [getattr(r, "status_code", r) for r in responses] == [201] * REQUESTS
    assert len({r.content for r in responses}) == 1
    booking = Booking.objects.get()
    assert responses[0].json()["id"] == booking.pk
    assert responses[0].json()["code"] == booking.code
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 1
    assert OutboxMessage.objects.filter(kind="booking_confirmed").count() == 1
    assert_books_balance()


def test_thirty_requests_with_one_key_and_two_bodies_book_one_and_refuse_the_other(
    roomy_throttle,
):
    with time_machine.travel(NOW, tick=False):
        patient = factories.PatientFactory()
        slot = slot_in(1, online=5)
        other_slot = slot_in(2, online=5)
        calls = []
        for i in range(REQUESTS):
            client = api_client(patient.account)
            body = {"patient": patient.pk, "slot": (slot if i % 2 else other_slot).pk}
            calls.append(lambda c=client, b=body: post(c, reverse("api-bookings"), b, key="k"))

        responses = run_together(calls)

    booking = Booking.objects.get()
    winners = [r for r in responses if r.status_code == 201]
    losers = [r for r in responses if r.status_code != 201]
    assert len(winners) == REQUESTS // 2
    assert len({r.content for r in winners}) == 1
    assert winners[0].json()["slot"] == booking.slot_id
    assert {(r.status_code, r.json()["code"]) for r in losers} == {(422, "idempotency_key_reused")}
    assert len(losers) == REQUESTS // 2
    assert_books_balance()


def test_thirty_http_requests_with_one_key_over_a_real_socket(live_server, roomy_throttle):
    """The same through the network: a threaded server, 30 sockets, one key."""
    with time_machine.travel(NOW, tick=True):  # the server thread shares the clock
        _thirty_over_http(live_server)


def _thirty_over_http(live_server) -> None:
    import http.client
    import json
    import time
    from urllib.parse import urlparse

    from tests.api.conftest import issue_token

    patient = factories.PatientFactory()
    slot = slot_in(1, online=5)
    token = issue_token(patient.account, second_factor=False, raw="http-idempotency-token")
    address = urlparse(live_server.url)
    body = json.dumps({"patient": patient.pk, "slot": slot.pk})

    def one_request():
        # The test server's listen backlog is small: a refused connection is retried
        # with the same key, as a real client would (that is what the key is for).
        for _attempt in range(20):
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            try:
                connection.request(
                    "POST",
                    reverse("api-bookings"),
                    body=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": "one-key-over-http",
                    },
                )
                response = connection.getresponse()
                return response.status, response.read()
            except (ConnectionResetError, ConnectionRefusedError):
                time.sleep(0.05)
            finally:
                connection.close()
        raise AssertionError("the server never took the request")

    answers = run_together([one_request] * REQUESTS)

    assert {status for status, _ in answers} == {201}, answers[:1]
    assert len({raw for _, raw in answers}) == 1  # byte for byte the same answer
    assert Booking.objects.filter(patient=patient).count() == 1
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 1

    # and the same key with another slot is refused, changing nothing
    other = slot_in(2, online=5)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request(
        "POST",
        reverse("api-bookings"),
        body=json.dumps({"patient": patient.pk, "slot": other.pk}),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": "one-key-over-http",
        },
    )
    refused = connection.getresponse()
    assert refused.status == 422
    assert json.loads(refused.read())["code"] == "idempotency_key_reused"
    assert Booking.objects.filter(patient=patient).count() == 1
