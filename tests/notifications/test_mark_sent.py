"""The provider accepted: a database blip at the "sent" update must not send it twice."""

import logging

import pytest
from django.db import OperationalError, connection
from django.db.models.query import QuerySet

from notifications import services
from notifications.models import OutboxMessage

pytestmark = [
    pytest.mark.django_db(transaction=True),  # a failed try closes the connection
    pytest.mark.usefixtures("daytime"),
]


@pytest.fixture
def sent_update_fails(monkeypatch):
    """The UPDATE … SET status='sent' fails the first `times` times, as when the
    database restarts while the provider is answering."""
    calls = {"failures": 0, "closed": 0}
    real_update = QuerySet.update
    real_close = connection.close

    def update(self, **fields):
        if fields.get("status") == OutboxMessage.Status.SENT and calls["failures"] < calls["times"]:
            calls["failures"] += 1
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(self, **fields)

    def close():
        calls["closed"] += 1
        real_close()

    monkeypatch.setattr(QuerySet, "update", update)
    monkeypatch.setattr(connection, "close", close)
    monkeypatch.setattr(services, "MARK_SENT_PAUSES", (0.01, 0.01, 0.01))

    def fail(times: int) -> dict:
        calls["times"] = times
        return calls

    return fail


def enqueue() -> OutboxMessage:
    """A due pending row, not published (the test makes the one attempt)."""
    return OutboxMessage.objects.create(
        kind="booking_confirmed",
        dedupe_key="mark-sent",
        channel="sms",
        recipient="13800138000",
        language="zh-hans",
        context={"code": "ACDE3467", "when": "2026-11-24 08:00"},
    )


@pytest.mark.parametrize("failures", [1, 2])
def test_the_sent_update_is_tried_again_through_a_blip(sms_outbox, sent_update_fails, failures):
    calls = sent_update_fails(failures)
    message = enqueue()

    attempt = services.message_attempt(message_id=message.pk)

    message.refresh_from_db()
    assert attempt.outcome == "sent"
    assert message.status == OutboxMessage.Status.SENT
    assert message.sending_since is None
    assert message.provider_reference == "locmem-1"
    assert len(sms_outbox) == 1  # the provider was called once
    assert calls["failures"] == failures
    assert calls["closed"] == failures  # each failed try dropped its connection


def test_a_database_away_through_every_try_is_logged_loudly(sms_outbox, sent_update_fails, caplog):
    sent_update_fails(len(services.MARK_SENT_PAUSES) + 1)
    message = enqueue()

    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        attempt = services.message_attempt(message_id=message.pk)

    message.refresh_from_db()
    assert attempt.outcome == "sent"  # the provider has it; the lease decides the rest
    assert message.status == OutboxMessage.Status.SENDING
    assert len(sms_outbox) == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "could not be marked sent" in errors[0].getMessage()
