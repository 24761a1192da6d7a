"""The outbox: one row per message, sent once, swept when the broker lost it."""

import datetime
import uuid

import pytest
from django.db import transaction

from notifications import services
from notifications.models import OutboxMessage
from tests.notifications.conftest import DAYTIME

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("daytime")]

CONTEXT = {
    "code": "ACDE3467",
    "patient": "张伟",
    "department": "眼科",
    "doctor": "王建国",
    "when": "2026-11-24 08:00",
    "queue_number": 3,
}


def enqueue(key: str = "booking:1:booking_confirmed", **extra) -> OutboxMessage:
    return services.message_enqueue(
        kind=extra.pop("kind", "booking_confirmed"),
        dedupe_key=key,
        recipient=extra.pop("recipient", "13800138000"),
        language="zh-hans",
        context=CONTEXT,
        **extra,
    )


def test_same_dedupe_key_gives_one_row():
    first, second = enqueue(), enqueue()
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1


def test_publish_waits_for_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue()
    assert len(callbacks) == 1
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.PENDING


def test_rolled_back_change_leaves_no_message(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue()
        raise RuntimeError("the booking failed")
    assert callbacks == []
    assert not OutboxMessage.objects.exists()


def test_a_message_is_sent_once_even_if_its_task_runs_twice(caplog):
    message = enqueue()
    assert services.message_send(message_id=message.pk) is True
    assert services.message_send(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1
    assert message.delivered_via == OutboxMessage.Channel.SMS
    sent = [r for r in caplog.records if r.name == "yuyue.sms"]
    assert len(sent) == 1
    assert "13800138000" not in sent[0].getMessage()
    assert "***8000" in sent[0].getMessage()


def test_a_row_another_worker_is_sending_is_not_sent_again(sms_outbox):
    message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENDING, attempt_id=uuid.uuid4(), sending_since=DAYTIME
    )
    assert services.message_attempt(message_id=message.pk).outcome == "skipped"
    assert sms_outbox == []


def test_missing_message_is_not_an_error():
    assert services.message_send(message_id=999_999) is False


def test_a_cancelled_message_is_never_sent(sms_outbox):
    message = enqueue()
    assert services.message_cancel(dedupe_keys=[message.dedupe_key]) == 1
    assert services.message_send(message_id=message.pk) is False
    assert sms_outbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.CANCELLED


def test_sweep_republishes_only_old_pending_messages(monkeypatch, daytime):
    published = []
    monkeypatch.setattr(services, "_publish", published.append)
    old = enqueue("old")
    sent = enqueue("sent")
    services.message_send(message_id=sent.pk)
    daytime.move_to(DAYTIME + datetime.timedelta(minutes=5))
    enqueue("fresh")
    assert services.outbox_republish_pending(older_than_seconds=60) == 1
    assert published == [old.pk]


def test_sweep_gives_back_a_row_whose_worker_died_and_only_after_the_lease(
    monkeypatch, daytime, sms_outbox
):
    # given a row claimed by a worker that then died (never marked it)
    published = []
    monkeypatch.setattr(services, "_publish", published.append)
    message = enqueue()
    dead_attempt = uuid.uuid4()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENDING,
        attempt_id=dead_attempt,
        sending_since=DAYTIME,
        attempts=1,
    )

    # when the sweep runs within the lease, nothing moves
    daytime.move_to(DAYTIME + datetime.timedelta(seconds=299))
    assert services.outbox_sweep(sending_lease_seconds=300, older_than_seconds=0)["recovered"] == 0

    # then after the lease it is pending again, published, and sent with the same key
    daytime.move_to(DAYTIME + datetime.timedelta(seconds=301))
    result = services.outbox_sweep(sending_lease_seconds=300, older_than_seconds=-1)
    assert result == {"recovered": 1, "failed": 0, "published": 1}
    assert published == [message.pk]
    assert services.message_send(message_id=message.pk) is True
    assert [o.key for o in sms_outbox] == [f"yuyue-{message.pk}"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 2)


def test_sweep_fails_a_lost_row_with_no_attempts_left(monkeypatch, daytime, settings):
    monkeypatch.setattr(services, "_publish", lambda pk: None)
    settings.YUYUE_OUTBOX_MAX_ATTEMPTS = 2
    message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENDING, sending_since=DAYTIME, attempts=2
    )
    daytime.move_to(DAYTIME + datetime.timedelta(hours=1))
    assert services.outbox_sweep(sending_lease_seconds=300)["failed"] == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED


def test_broker_down_pauses_publishing_instead_of_slowing_every_request(monkeypatch):
    from notifications import tasks

    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.outbox_send_task, "apply_async", broken)
    monkeypatch.setattr(services, "_broker_pause_until", 0.0)
    assert services._publish(1) is False
    assert services._publish(2) is False
    assert len(calls) == 1  # the second did not even try
    # the sweep always tries again
    enqueue("x")
    OutboxMessage.objects.update(due_at=DAYTIME - datetime.timedelta(minutes=5))
    services.outbox_republish_pending(older_than_seconds=60)
    assert len(calls) == 2
