"""Fault tests on the real stack: PostgreSQL, a Redis server and a Celery worker of the
test's own, and a local SMS sink. Every booking's confirmation reaches the sink once.
"""

import datetime
import time

import pytest
from django.utils import timezone

from booking.services import booking_create
from clinics.models import Channel
from notifications import services
from notifications.models import OutboxMessage
from tests import factories
from tests.faults.conftest import wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def make_patients_and_slot(count: int):
    """`count` patients and one slot tomorrow afternoon with room for all of them."""
    day = timezone.localdate() + datetime.timedelta(days=1)
    starts = datetime.datetime.combine(day, datetime.time(14, 0), tzinfo=SHANGHAI)
    session = factories.SessionFactory(date=day, starts_at=starts)
    slot = factories.slot_with_quotas(session=session, online=count)
    patients = [factories.PatientFactory() for _ in range(count)]
    return patients, slot


def book_all(patients, slot) -> tuple[list, list[float]]:
    bookings, durations = [], []
    for patient in patients:
        started = time.monotonic()
        bookings.append(
            booking_create(
                patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
            )
        )
        durations.append(time.monotonic() - started)
    return bookings, durations


def confirmations(bookings) -> dict[str, object]:
    """The sink key of each booking's confirmation → the booking."""
    rows = OutboxMessage.objects.filter(
        dedupe_key__in=[f"booking:{b.pk}:booking_confirmed" for b in bookings]
    )
    by_key = {row.dedupe_key: row for row in rows}
    return {f"yuyue-{by_key[f'booking:{b.pk}:booking_confirmed'].pk}": b for b in bookings}


def sweep_until_delivered(sink, keys: set[str], *, timeout: float, lease: float = 60.0):
    """What beat does every minute, every second: until the sink has every key."""

    def done() -> bool:
        services.outbox_sweep(older_than_seconds=1, sending_lease_seconds=lease)
        with sink.lock:
            return keys <= set(sink.delivered)

    wait_until(done, timeout=timeout, interval=1.0, what="every confirmation at the sink")


def assert_reconciled(sink, expected: dict) -> None:
    """Each booking's confirmation reached the sink exactly once, to its patient."""
    with sink.lock:
        delivered = dict(sink.delivered)
        accepted = [r["key"] for r in sink.requests if 200 <= r["status"] < 300]
    assert set(delivered) == set(expected)
    for key, booking in expected.items():
        assert delivered[key]["to"] == booking.patient.phone
        assert booking.code in delivered[key]["text"]
    # Every accepted request beyond the first of a key was dropped by its key.
    assert len(accepted) - len(set(accepted)) == len(sink.duplicates)
    assert sink.bad_signatures == 0
    assert OutboxMessage.objects.filter(
        kind="booking_confirmed", status=OutboxMessage.Status.SENT
    ).count() == len(expected)


def test_redis_down_during_200_bookings_then_every_confirmation_once(
    redis_server, sms_sink, start_worker, broker
):
    # given a worker, and Redis gone while 200 patients book
    patients, slot = make_patients_and_slot(200)
    start_worker()
    redis_server.stop()

    # when
    bookings, durations = book_all(patients, slot)

    # then every booking succeeded, quickly, and its message waits in the outbox
    assert len({b.pk for b in bookings}) == 200
    assert max(durations) < 2.0, f"slowest booking took {max(durations):.2f}s"
    assert (
        OutboxMessage.objects.filter(
            kind="booking_confirmed", status=OutboxMessage.Status.PENDING
        ).count()
        == 200
    )
    assert sms_sink.requests == []

    # when Redis is back, the sweep publishes what the broker never got
    redis_server.start()
    expected = confirmations(bookings)
    sweep_until_delivered(sms_sink, set(expected), timeout=45)

    # then each confirmation was delivered once, and nothing was sent twice
    assert_reconciled(sms_sink, expected)
    assert len(sms_sink.requests) == 200


def test_worker_killed_three_times_while_sending(redis_server, sms_sink, start_worker, broker):
    # given slow answers from the gateway, so a kill lands while a message is at the sink
    sms_sink.delay = 0.3
    patients, slot = make_patients_and_slot(24)
    worker = start_worker()
    bookings, _ = book_all(patients, slot)
    expected = confirmations(bookings)

    # when the worker is killed with SIGKILL three times in the middle of a send
    for _ in range(3):
        seen = len(sms_sink.requests)
        wait_until(
            lambda seen=seen: sms_sink.in_flight > 0 and len(sms_sink.requests) > seen,
            timeout=20,
            interval=0.02,
            what="a send in flight",
        )
        worker.kill()
        worker.start()

    # then, once the sweep gives the orphaned rows back (the lease ran out), each
    # confirmation reached the sink exactly once: resends were dropped by their key
    sweep_until_delivered(sms_sink, set(expected), timeout=45, lease=2.0)

    def all_rows_sent() -> bool:
        services.outbox_sweep(older_than_seconds=1, sending_lease_seconds=2.0)
        return not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()

    wait_until(all_rows_sent, timeout=30, interval=1.0, what="every row marked sent")
    assert_reconciled(sms_sink, expected)
    assert len(sms_sink.duplicates) >= 3, "each kill left one message at the sink unconfirmed"
    resent = OutboxMessage.objects.filter(kind="booking_confirmed", attempts__gte=2).count()
    assert resent >= 3


def test_gateway_errors_retried_then_400_fails_visibly_and_admin_retry_sends(
    redis_server, sms_sink, start_worker, broker, admin_client
):
    # given a gateway answering 500 for a while
    sms_sink.status = 500
    patients, slot = make_patients_and_slot(6)
    start_worker(
        YUYUE_OUTBOX_RETRY_BASE_SECONDS="0.5",
        YUYUE_OUTBOX_RETRY_MAX_SECONDS="1",
        YUYUE_OUTBOX_MAX_ATTEMPTS="20",
    )
    bookings, _ = book_all(patients[:5], slot)
    expected = confirmations(bookings)

    # when it recovers after every message was refused at least twice
    def refused_twice() -> bool:
        with sms_sink.lock:
            keys = [r["key"] for r in sms_sink.requests if r["status"] == 500]
        return all(keys.count(key) >= 2 for key in expected)

    wait_until(refused_twice, timeout=20, what="two refusals of each message")
    sms_sink.status = 200

    # then the retries deliver each once, with no help from the sweep
    wait_until(lambda: set(expected) <= set(sms_sink.delivered), timeout=20, what="delivery")
    assert_reconciled(sms_sink, expected)
    rows = OutboxMessage.objects.filter(kind="booking_confirmed")
    assert all(row.attempts >= 3 for row in rows)

    # when the gateway calls a number invalid (400)
    sms_sink.status = 400
    (last,) = book_all(patients[5:], slot)[0]
    row = wait_until(
        lambda: OutboxMessage.objects.filter(
            dedupe_key=f"booking:{last.pk}:booking_confirmed",
            status=OutboxMessage.Status.FAILED,
        ).first(),
        timeout=20,
        what="the message to fail",
    )

    # then it failed after one attempt, and staff see it and can retry it
    assert row.attempts == 1
    assert row.last_error.startswith("HTTP 400")
    page = admin_client.get("/admin/notifications/outboxmessage/?status__exact=failed")
    assert page.status_code == 200
    assert f"/admin/notifications/outboxmessage/{row.pk}/change/" in page.content.decode()

    sms_sink.status = 200
    admin_client.post(
        "/admin/notifications/outboxmessage/",
        {"action": "retry_failed", "_selected_action": [row.pk]},
    )
    wait_until(lambda: f"yuyue-{row.pk}" in sms_sink.delivered, timeout=20, what="the retry")
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.SENT
    assert row.attempts == 1
