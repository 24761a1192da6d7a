"""The outbox: one row per message, sent once, swept when the broker lost it."""

import datetime

import pytest
import time_machine
from django.db import transaction

from notifications import services
from notifications.messages import render
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

CONTEXT = {
    "code": "ACDE3467",
    "patient": "张伟",
    "department": "眼科",
    "doctor": "王建国",
    "when": "2026-11-24 08:00",
    "queue_number": 3,
}


def enqueue(key: str = "booking:1:booking_confirmed") -> OutboxMessage:
    return services.message_enqueue(
        kind="booking_confirmed",
        dedupe_key=key,
        recipient="13800138000",
        language="zh-hans",
        context=CONTEXT,
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
    sent = [r for r in caplog.records if r.name == "yuyue.sms"]
    assert len(sent) == 1
    assert "13800138000" not in sent[0].getMessage()
    assert "***8000" in sent[0].getMessage()


def test_missing_message_is_not_an_error():
    assert services.message_send(message_id=999_999) is False


def test_sweep_republishes_only_old_pending_messages(monkeypatch):
    published = []
    monkeypatch.setattr(services, "_publish", published.append)
    start = datetime.datetime(2026, 11, 23, 1, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        old = enqueue("old")
        sent = enqueue("sent")
        services.message_send(message_id=sent.pk)
        clock.move_to(start + datetime.timedelta(minutes=5))
        enqueue("fresh")
        assert services.outbox_republish_pending(older_than_seconds=60) == 1
    assert published == [old.pk]


def test_confirmation_text_in_both_languages():
    chinese = render(kind="booking_confirmed", language="zh-hans", context=CONTEXT)
    english = render(kind="booking_confirmed", language="en", context=CONTEXT)
    assert "ACDE3467" in chinese and "ACDE3467" in english
    assert "预约成功" in chinese
    assert "confirmed" in english
