"""The outbox relay (notifications/relay.py): committed message ids leave the request at
once and reach the broker in batches, each exactly once, whatever the broker does."""

import threading
import time

import pytest
from django.db import transaction

from notifications import relay as relay_module
from notifications import services
from notifications.relay import BATCH_MAX, Relay


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_ids_from_many_threads_are_published_once_each_in_batches():
    batches: list[list[int]] = []
    relay = Relay(publish=lambda ids: batches.append(list(ids)) or True, interval=0.01)

    def hand(start: int) -> None:
        for n in range(start, start + 250):
            relay.add(n)

    threads = [threading.Thread(target=hand, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(lambda: sum(len(b) for b in batches) == 1000)
    published = [n for batch in batches for n in batch]
    assert sorted(published) == sorted(k * 1000 + n for k in range(4) for n in range(250))
    assert all(len(batch) <= BATCH_MAX for batch in batches)
    assert len(batches) < 1000  # gathered, not one task per id


def test_a_broker_error_leaves_the_batch_to_the_sweep_and_the_relay_goes_on():
    calls: list[list[int]] = []

    def publish(ids):
        calls.append(list(ids))
        if len(calls) == 1:
            raise ConnectionError("broker down")
        return True

    relay = Relay(publish=publish, interval=0.01)
    relay.add(1)
    wait_until(lambda: len(calls) == 1)
    relay.add(2)
    wait_until(lambda: len(calls) == 2)
    assert calls == [[1], [2]]


def test_a_forked_process_starts_its_own_thread(monkeypatch):
    published: list[int] = []
    relay = Relay(publish=lambda ids: published.extend(ids) or True, interval=0.01)
    relay.add(1)
    wait_until(lambda: published == [1])
    started = threading.active_count()
    monkeypatch.setattr(relay_module.os, "getpid", lambda: -1)  # as in a gunicorn worker
    relay.add(2)
    wait_until(lambda: published == [1, 2])
    assert threading.active_count() == started + 1


@pytest.mark.django_db(transaction=True)
def test_a_committed_message_goes_to_the_relay_not_to_the_broker_in_the_request(
    monkeypatch, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.YUYUE_OUTBOX_RELAY_SECONDS = 0.01
    in_request: list[int] = []
    from_relay: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(services, "_publish", lambda pk, countdown=None: in_request.append(pk))
    monkeypatch.setattr(
        services,
        "_publish_batch",
        lambda ids: from_relay.append((threading.current_thread().name, list(ids))) or True,
    )
    monkeypatch.setattr(services, "_relay", None)

    with transaction.atomic():
        message = services.message_enqueue(
            kind="booking_confirmed",
            dedupe_key="relay-test",
            recipient="13800138000",
            language="zh-hans",
            context={"code": "X"},
            urgent=True,
        )
        assert from_relay == []  # nothing before commit

    wait_until(lambda: from_relay)
    assert from_relay == [("outbox-relay", [message.pk])]
    assert in_request == []


def test_without_a_relay_the_id_is_published_at_commit(monkeypatch, settings):
    settings.YUYUE_OUTBOX_RELAY_SECONDS = 0
    published: list[int] = []
    monkeypatch.setattr(services, "_publish", lambda pk, countdown=None: published.append(pk))
    services._publish_soon(7)
    assert published == [7]


def test_the_batch_task_publishes_each_message_on_its_own(monkeypatch):
    from notifications.tasks import outbox_send_batch_task

    published: list[int] = []
    monkeypatch.setattr(services, "_publish", lambda pk, countdown=None: published.append(pk))
    assert outbox_send_batch_task.run([3, 4, 5]) == 3
    assert published == [3, 4, 5]
