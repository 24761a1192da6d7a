"""Writes of the outbox. A message row is written in its cause's transaction."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from notifications.backends import sms_backend
from notifications.messages import render
from notifications.models import OutboxMessage

logger = logging.getLogger(__name__)


def message_enqueue(
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    language: str,
    context: dict,
    account_id: int | None = None,
    channel: str = OutboxMessage.Channel.SMS,
) -> OutboxMessage:
    """Add a message to the outbox; publish it to the workers after commit.

    Call inside the transaction of the change the message is about, so both land or
    neither does. A second call with the same `dedupe_key` returns the first row.
    """
    # One statement whether the key is new or not (INSERT ... ON CONFLICT ... RETURNING).
    # Publishing an existing row again is harmless: message_send sends a row once.
    (message,) = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                kind=kind,
                dedupe_key=dedupe_key,
                recipient=recipient,
                language=language,
                context=context,
                account_id=account_id,
                channel=channel,
            )
        ],
        update_conflicts=True,
        unique_fields=["dedupe_key"],
        update_fields=["dedupe_key"],
    )
    message_id = message.pk
    transaction.on_commit(lambda: _publish(message_id), robust=True)
    return message


def _publish(message_id: int) -> None:
    from notifications.tasks import outbox_send_task

    outbox_send_task.delay(message_id)


def message_send(*, message_id: int) -> bool:
    """Send one pending message; return False if it was already sent or is gone.

    The row lock makes a message go out once even when its task runs twice.
    """
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message_id, status=OutboxMessage.Status.PENDING)
            .first()
        )
        if message is None:
            return False
        text = render(kind=message.kind, language=message.language, context=message.context)
        sms_backend().send(recipient=message.recipient, text=text)
        message.status = OutboxMessage.Status.SENT
        message.attempts += 1
        message.sent_at = timezone.now()
        message.save(update_fields=["status", "attempts", "sent_at"])
    return True


def outbox_republish_pending(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Publish again what is still pending after a while (the broker may have lost it)."""
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    ids = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in ids:
        try:
            _publish(message_id)
        except Exception:  # the broker is down: the next sweep tries again
            logger.warning("outbox sweep could not publish message %s", message_id)
            break
    return len(ids)
