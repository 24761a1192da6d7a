"""Restarts of the broker on the real stack: the worker rides through them by itself.

Redis runs as production must run it (`--appendonly yes`, `maxmemory-policy noeviction`),
so queued messages survive a SIGKILL. Figures are printed (`pytest -s` shows them).
"""

import contextlib
import datetime
import os
import signal
import time

import pytest
from django.test import Client
from django.utils import timezone

from config import redis_cache
from notifications import services
from notifications.models import OutboxMessage
from patients.authentication import token_hash
from patients.models import ApiToken
from tests import factories
from tests.faults.conftest import RedisServer, wait_until
from tests.faults.test_delivery import (
    book_all,
    confirmations,
    make_patients_and_slot,
    sweep_until_delivered,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


class PersistentRedis(RedisServer):
    """The conftest's Redis, with the persistence production runs it with, and a
    way to hang it (SIGSTOP) rather than kill it."""

    options = ("--appendonly", "yes", "--maxmemory-policy", "noeviction")

    def hang(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def wake(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.wake()  # a stopped process cannot be reaped until it runs again
        super().stop()


@pytest.fixture
def redis_server(tmp_path):
    """Overrides the conftest's: the worker and `broker` fixtures use this one."""
    server = PersistentRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _tail(path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _log_count(worker, text: str) -> int:
    return worker.log.read_text(errors="replace").count(text)


def test_worker_survives_redis_killed_while_holding_unacked_messages(
    redis_server, sms_sink, start_worker, broker, settings
):
    """celery/kombu 5.7.0 exited here ("Unrecoverable error: AttributeError ...
    'hostname'") when the broker went away with a message not yet acknowledged."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # bookings publish through the relay
    kills = 3
    patients, slot = make_patients_and_slot(4 * kills + 2)
    worker = start_worker(
        # a retryable refusal waits ~1–2 s on a broker countdown, held by the worker
        YUYUE_OUTBOX_RETRY_BASE_SECONDS="3",
        YUYUE_OUTBOX_RETRY_MAX_SECONDS="3",
    )
    sms_sink.delay = 0.5  # a send is in flight when Redis goes
    bookings: list = []
    recoveries: list[float] = []
    queue = iter(patients)

    for _ in range(kills):
        # given a message refused once, whose retry waits on a countdown in the worker...
        retries = _log_count(worker, "; retry in")
        with sms_sink.lock:
            seen = len(sms_sink.requests)
            sms_sink.status = 503
        bookings += book_all([next(queue)], slot)[0]
        wait_until(
            lambda seen=seen: len(sms_sink.requests) > seen,
            timeout=15,
            interval=0.01,
            what="a retryable refusal",
        )
        with sms_sink.lock:
            sms_sink.status = 200
        wait_until(
            lambda retries=retries: _log_count(worker, "; retry in") > retries,
            timeout=10,
            interval=0.02,
            what="the retry to be scheduled",
        )
        time.sleep(0.2)  # the task publishes its countdown, the worker takes it
        # ...and another message's send in flight
        bookings += book_all([next(queue)], slot)[0]
        wait_until(
            lambda seen=seen: sms_sink.in_flight > 0 and len(sms_sink.requests) > seen + 1,
            timeout=10,
            interval=0.01,
            what="a send in flight",
        )

        # when Redis is killed, patients book while it is gone, and it comes back
        redis_server.stop()
        bookings += book_all([next(queue)], slot)[0]
        time.sleep(1.0)
        redis_server.start()
        back = time.monotonic()
        services._broker_pause_until = 0.0  # this process tries the broker again now

        # then the same worker consumes again: a booking made now reaches the sink
        (fresh,) = book_all([next(queue)], slot)[0]
        bookings.append(fresh)
        key = next(iter(confirmations([fresh])))
        wait_until(
            lambda key=key: key in sms_sink.delivered or worker.process.poll() is not None,
            timeout=30,
            interval=0.05,
            what=f"the worker to consume after Redis came back:\n{_tail(worker.log)}",
        )
        assert worker.process.poll() is None, f"the worker exited:\n{_tail(worker.log)}"
        recoveries.append(time.monotonic() - back)

    # then every confirmation is delivered exactly once (the sweep republishes what the
    # broker lost with the connection: the held countdowns), by the one worker
    bookings += book_all(patients[4 * kills :], slot)[0]
    expected = confirmations(bookings)
    sweep_until_delivered(sms_sink, set(expected), timeout=40)
    wait_until(
        lambda: not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists(),
        timeout=10,
        what="every row marked sent",
    )
    assert worker.process.poll() is None, f"the worker exited:\n{_tail(worker.log)}"
    assert worker.starts == 1
    with sms_sink.lock:
        accepted = [r["key"] for r in sms_sink.requests if 200 <= r["status"] < 300]
        refused = [r["key"] for r in sms_sink.requests if r["status"] == 503]
    assert sorted(accepted) == sorted(expected), "each confirmation accepted exactly once"
    assert sms_sink.duplicates == []
    print(
        f"\nredis kills: {kills}; messages: {len(expected)}; refused once: {len(refused)}; "
        f"delivered: {len(sms_sink.delivered)}; duplicates: {len(sms_sink.duplicates)}; "
        f"seconds to consume again after each restart: "
        f"{', '.join(f'{s:.1f}' for s in recoveries)}"
    )


@pytest.fixture
def api_patient():
    """A patient's account with a bearer token, and a slot tomorrow to book."""
    patients, slot = make_patients_and_slot(3)
    raw = "hung-redis-test-token"
    now = timezone.now()
    ApiToken.objects.create(
        account=patients[0].account,
        key_hash=token_hash(raw),
        second_factor=False,
        created_at=now,
        expires_at=now + datetime.timedelta(days=1),
    )
    family = [factories.PatientFactory(account=patients[0].account) for _ in range(2)]
    return Client(headers={"Authorization": f"Bearer {raw}"}), [patients[0], *family], slot


def test_a_booking_does_not_wait_on_a_hung_redis(
    redis_server, broker, settings, api_patient, monkeypatch
):
    """A bound on a hang, not a benchmark: with the cache's and broker's Redis hung
    (SIGSTOP: connections are accepted, nothing answers), a booking through the API
    must not wait on it. The bound (2 s) is loose; the figure printed is the measure."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the relay publishes, as in production
    monkeypatch.setattr(redis_cache, "_open_until", 0.0)  # this test's trip ends with it
    options = settings.CACHES["default"].get("OPTIONS", {})
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": options,
        }
    }
    client, patients, slot = api_patient

    def book(patient, key: str):
        started = time.monotonic()
        response = client.post(
            "/api/v1/bookings",
            {"patient": patient.pk, "slot": slot.pk},
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )
        return response, time.monotonic() - started

    # given a first booking with Redis answering (its connections are in the pools)
    warm, warm_seconds = book(patients[0], "hung-0")
    assert warm.status_code == 201, warm.content

    # when Redis hangs
    redis_server.hang()
    try:
        results = [book(patient, f"hung-{n}") for n, patient in enumerate(patients[1:], 1)]
    finally:
        redis_server.wake()

    # then each booking was made, and answered without waiting on Redis
    seconds = [s for _, s in results]
    assert [r.status_code for r, _ in results] == [201, 201], [r.content for r, _ in results]
    print(
        f"\nAPI booking with Redis answering: {warm_seconds:.2f}s; with Redis hung: "
        f"{', '.join(f'{s:.2f}s' for s in seconds)}"
    )
    assert max(seconds) < 2.0, f"a booking waited {max(seconds):.2f}s on a hung Redis"
    assert OutboxMessage.objects.filter(kind="booking_confirmed").count() == 3
