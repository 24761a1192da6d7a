"""Writes of the outbox. A message row is written in its cause's transaction.

Delivery is at-least-once at the queue and exactly-once at the patient:

1. `message_enqueue` writes the row (unique dedupe key) in the caller's transaction and
   hands its id on commit to the process's relay (`notifications.relay`), which
   publishes ids in batches off the request path; a broker error is logged, never raised.
2. `message_send` claims the row with one conditional UPDATE (pending and due →
   sending, with a fresh attempt id as a fencing token) and commits that before
   calling the provider, so a second task for the row finds nothing to claim.
3. The provider gets the message's stable key (`yuyue-<id>`) as its idempotency key.
4. Only the attempt holding the row may finish it: sent, pending again with a back-off
   (retryable error) or failed (permanent error, or attempts used up).
5. `outbox_sweep` puts rows whose worker died mid-send (`sending` past the lease) back
   to pending, and publishes pending rows that are due but were not sent a while after.
"""

import dataclasses
import datetime
import logging
import secrets
import time
import uuid
import zoneinfo

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications import backends
from notifications.exceptions import PermanentSendError, SendError
from notifications.messages import ALWAYS_URGENT, render, subject
from notifications.models import OutboxMessage, Reminder
from notifications.relay import Relay

logger = logging.getLogger(__name__)

REMINDER_KIND = "booking_reminder"


# --- time rules ------------------------------------------------------------------


def _local_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def quiet_hours_end(moment: datetime.datetime) -> datetime.datetime:
    """`moment` itself outside quiet hours, else the end of the quiet hours it falls in."""
    local = moment.astimezone(_local_tz())
    start, end = settings.YUYUE_QUIET_HOURS_START, settings.YUYUE_QUIET_HOURS_END
    now = local.time()
    if start > end:  # spans midnight, 21:00–08:00
        if now >= start:
            day = local.date() + datetime.timedelta(days=1)
        elif now < end:
            day = local.date()
        else:
            return moment
    elif start <= now < end:
        day = local.date()
    else:
        return moment
    return datetime.datetime.combine(day, end, tzinfo=local.tzinfo)


def reminder_due_at(
    *, starts_at: datetime.datetime, booked_at: datetime.datetime
) -> datetime.datetime | None:
    """When to remind of an appointment, or None when no reminder would help.

    The evening before at 18:00 (YUYUE_REMINDER_EVENING); for a booking made after that
    (a same-day booking), 2 hours before the slot, moved out of quiet hours, and only if
    that is after the booking and before the slot.
    """
    local = starts_at.astimezone(_local_tz())
    evening = datetime.datetime.combine(
        local.date() - datetime.timedelta(days=1),
        settings.YUYUE_REMINDER_EVENING,
        tzinfo=local.tzinfo,
    )
    if booked_at < evening:
        return evening
    due = quiet_hours_end(
        starts_at - datetime.timedelta(hours=settings.YUYUE_REMINDER_SAME_DAY_HOURS)
    )
    if due <= booked_at or due >= starts_at:
        return None
    return due


# --- enqueue, cancel, retry ---------------------------------------------------------


def message_enqueue(
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    language: str,
    context: dict,
    account_id: int | None = None,
    channel: str = OutboxMessage.Channel.SMS,
    urgent: bool = False,
    due_at: datetime.datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox; publish it to the workers after commit.

    Call inside the transaction of the change the message is about, so both land or
    neither does. A second call with the same `dedupe_key` returns the first row.
    Outside quiet hours (21:00–08:00) or when `urgent` (same-day notices; sign-in codes
    always are) it goes at once; otherwise it waits for the end of the quiet hours.
    """
    now = timezone.now()
    urgent = urgent or kind in ALWAYS_URGENT
    due = due_at or now
    if not urgent:
        due = quiet_hours_end(due)
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
                urgent=urgent,
                due_at=due,
            )
        ],
        update_conflicts=True,
        unique_fields=["dedupe_key"],
        update_fields=["dedupe_key"],
    )
    if due <= now:
        message_id = message.pk
        transaction.on_commit(lambda: _publish_soon(message_id), robust=True)
    return message


def message_cancel(*, dedupe_keys: list[str]) -> int:
    """Withdraw messages and reminders not yet handed to a provider; return how many.

    Call inside the transaction of the change that makes them wrong (a cancelled
    booking's reminder). Rows already sending or sent are left alone.
    """
    if not dedupe_keys:
        return 0
    reminders = Reminder.objects.filter(
        dedupe_key__in=dedupe_keys, status=Reminder.Status.SCHEDULED
    ).update(status=Reminder.Status.CANCELLED)
    messages = OutboxMessage.objects.filter(
        dedupe_key__in=dedupe_keys, status=OutboxMessage.Status.PENDING
    ).update(status=OutboxMessage.Status.CANCELLED)
    return reminders + messages


def reminder_restore(*, dedupe_keys: list[str]) -> int:
    """Schedule again reminders that `message_cancel` withdrew (a cancellation undone);
    return how many. Reminders of appointments already started stay withdrawn."""
    if not dedupe_keys:
        return 0
    return Reminder.objects.filter(
        dedupe_key__in=dedupe_keys,
        status=Reminder.Status.CANCELLED,
        starts_at__gt=timezone.now(),
    ).update(status=Reminder.Status.SCHEDULED)


def message_retry(*, message_id: int) -> bool:
    """Give a failed message a fresh set of attempts (the admin's "retry"). Only failed
    rows move; returns False for any other."""
    with transaction.atomic():
        moved = OutboxMessage.objects.filter(
            pk=message_id, status=OutboxMessage.Status.FAILED
        ).update(
            status=OutboxMessage.Status.PENDING,
            attempts=0,
            attempt_id=None,
            due_at=timezone.now(),
        )
        if moved:
            transaction.on_commit(lambda: _publish_soon(message_id), robust=True)
    return bool(moved)


def message_mark_read(*, account_id: int, message_ids: list[int]) -> int:
    """Mark an account's own inbox messages read; others' ids are ignored."""
    return OutboxMessage.objects.filter(
        account_id=account_id, pk__in=message_ids, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- publishing ---------------------------------------------------------------------

# After a failed publish this process stops trying for a few seconds: with the broker
# down, requests must not each wait for a connection error. The sweep catches up.
_broker_pause_until = 0.0


def _publish(message_id: int, *, countdown: float | None = None) -> bool:
    global _broker_pause_until
    if time.monotonic() < _broker_pause_until:
        return False
    from notifications.tasks import outbox_send_task

    try:
        outbox_send_task.apply_async((message_id,), countdown=countdown)
    except Exception:  # the broker is down: the sweep publishes it later
        _broker_pause_until = time.monotonic() + settings.YUYUE_OUTBOX_PUBLISH_PAUSE_SECONDS
        logger.warning("could not publish outbox message %s; the sweep will", message_id)
        return False
    return True


def _publish_batch(message_ids: list[int]) -> bool:
    """One task for many messages (the relay's); the worker fans it out."""
    global _broker_pause_until
    if time.monotonic() < _broker_pause_until:
        return False
    if len(message_ids) == 1:
        return _publish(message_ids[0])
    from notifications.tasks import outbox_send_batch_task

    try:
        outbox_send_batch_task.apply_async((message_ids,))
    except Exception:  # the broker is down: the sweep publishes them later
        _broker_pause_until = time.monotonic() + settings.YUYUE_OUTBOX_PUBLISH_PAUSE_SECONDS
        logger.warning("could not publish %d outbox messages; the sweep will", len(message_ids))
        return False
    return True


_relay: Relay | None = None


def _publish_soon(message_id: int) -> None:
    """After commit: hand the id to this process's relay (no broker round trip in the
    request), or publish it now when there is no relay (tasks in-process, or
    YUYUE_OUTBOX_RELAY_SECONDS=0)."""
    global _relay
    interval = settings.YUYUE_OUTBOX_RELAY_SECONDS
    if interval <= 0 or settings.CELERY_TASK_ALWAYS_EAGER:
        _publish(message_id)
        return
    if _relay is None:
        _relay = Relay(publish=_publish_batch, interval=interval)
    _relay.add(message_id)


# --- sending ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Attempt:
    outcome: str  # "sent", "retry", "failed" or "skipped"
    retry_in: float | None = None


def message_send(*, message_id: int) -> bool:
    """Send one due pending message; return False if it was not ours to send (already
    sent or sending, cancelled, not yet due, gone) or the provider refused it."""
    return message_attempt(message_id=message_id).outcome == "sent"


def message_attempt(*, message_id: int) -> Attempt:
    """One delivery attempt of one message (see the module docstring).

    Must not be called inside a transaction: the claim has to be committed before the
    provider is called, and the provider is never called while holding a row lock.
    """
    now = timezone.now()
    attempt_id = uuid.uuid4()
    claimed = OutboxMessage.objects.filter(
        pk=message_id, status=OutboxMessage.Status.PENDING, due_at__lte=now
    ).update(
        status=OutboxMessage.Status.SENDING,
        attempt_id=attempt_id,
        sending_since=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return Attempt("skipped")
    message = OutboxMessage.objects.select_related("account").get(pk=message_id)
    mine = OutboxMessage.objects.filter(
        pk=message_id, status=OutboxMessage.Status.SENDING, attempt_id=attempt_id
    )
    try:
        via, reference = _deliver(message)
    except Exception as exc:
        if not isinstance(exc, SendError):
            logger.exception("unexpected error sending outbox message %s", message_id)
            exc = SendError(f"unexpected: {type(exc).__name__}: {exc}")
        if exc.retryable and message.attempts < settings.YUYUE_OUTBOX_MAX_ATTEMPTS:
            delay = retry_delay(message.attempts)
            mine.update(
                status=OutboxMessage.Status.PENDING,
                due_at=timezone.now() + datetime.timedelta(seconds=delay),
                sending_since=None,
                last_error=exc.reason,
            )
            logger.info("outbox message %s: %s; retry in %.0fs", message_id, exc.reason, delay)
            return Attempt("retry", retry_in=delay)
        mine.update(status=OutboxMessage.Status.FAILED, sending_since=None, last_error=exc.reason)
        logger.error("outbox message %s failed: %s", message_id, exc.reason)
        return Attempt("failed")
    _mark_sent(mine, message_id=message_id, via=via, reference=reference)
    return Attempt("sent")


# Pauses between tries of the "sent" update: a database blip (a failover, a restart, a
# dropped connection) usually passes within a second or two.
MARK_SENT_PAUSES = (0.05, 0.25, 1.0)


def _mark_sent(mine, *, message_id: int, via: str, reference: str) -> bool:
    """Record the provider's acceptance, trying again through a database blip.

    The message is out; a row left `sending` would be sent again after the lease, a
    duplicate wherever the provider cannot drop a repeated key. Each failed try closes
    the broken connection, so the next one reconnects. Returns False (and logs an
    error) only when the database stayed away through every try.
    """
    for pause in (*MARK_SENT_PAUSES, None):
        try:
            mine.update(
                status=OutboxMessage.Status.SENT,
                sent_at=timezone.now(),
                sending_since=None,
                delivered_via=via,
                provider_reference=reference[:120],
                last_error="",
            )
            return True
        except (OperationalError, InterfaceError) as exc:
            if not connection.in_atomic_block:
                connection.close()
            if pause is None:
                logger.error(
                    "outbox message %s was accepted by the provider (%s) but could not be "
                    "marked sent (%s); it stays sending and is sent again after the lease",
                    message_id,
                    via,
                    type(exc).__name__,
                )
                return False
            logger.warning(
                "outbox message %s: marking it sent failed (%s); trying again in %.2fs",
                message_id,
                type(exc).__name__,
                pause,
            )
            time.sleep(pause)
    return False


def retry_delay(attempts: int) -> float:
    """Exponential back-off with jitter: base·2^(n-1), capped, then 50–100 % of it."""
    ceiling = min(
        settings.YUYUE_OUTBOX_RETRY_MAX_SECONDS,
        settings.YUYUE_OUTBOX_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1),
    )
    return ceiling / 2 + secrets.SystemRandom().uniform(0, ceiling / 2)


def _deliver(message: OutboxMessage) -> tuple[str, str]:
    """Send by the message's channel; an SMS goes by WeChat when the account has an
    openid and WeChat is configured, and falls back to SMS when WeChat refuses."""
    text = render(kind=message.kind, language=message.language, context=message.context)

    def outgoing(recipient: str) -> backends.Outgoing:
        return backends.Outgoing(
            key=f"yuyue-{message.pk}",
            kind=message.kind,
            language=message.language,
            recipient=recipient,
            text=text,
            context=message.context,
            subject=subject(kind=message.kind, language=message.language),
        )

    channel = message.channel
    if channel == OutboxMessage.Channel.EMAIL:
        if not message.recipient:
            raise PermanentSendError("no e-mail address")
        return channel, backends.email_backend().send(outgoing(message.recipient))
    if channel == OutboxMessage.Channel.WECHAT:
        wechat = backends.wechat_backend()
        if wechat is None:
            raise PermanentSendError("WeChat is not configured")
        return channel, wechat.send(outgoing(message.recipient))
    openid = message.account.wechat_openid if message.account else ""
    wechat = backends.wechat_backend() if openid else None
    if wechat is not None:
        try:
            return OutboxMessage.Channel.WECHAT, wechat.send(outgoing(openid))
        except SendError as exc:
            if not message.recipient:
                raise
            logger.warning("message %s: WeChat refused (%s); sending SMS", message.pk, exc.reason)
    if not message.recipient:
        raise PermanentSendError("no phone number")
    return OutboxMessage.Channel.SMS, backends.sms_backend().send(outgoing(message.recipient))


# --- sweep ----------------------------------------------------------------------------


def outbox_sweep(
    *,
    older_than_seconds: float | None = None,
    sending_lease_seconds: float | None = None,
    limit: int = 500,
) -> dict[str, int]:
    """The periodic safety net: rows whose worker died while sending go back to pending
    (they are sent again with the same idempotency key), then due pending rows not sent
    for a while are published again. Returns how many of each."""
    lease = (
        settings.YUYUE_OUTBOX_SENDING_LEASE_SECONDS
        if sending_lease_seconds is None
        else sending_lease_seconds
    )
    now = timezone.now()
    stale = Q(
        status=OutboxMessage.Status.SENDING,
        sending_since__lt=now - datetime.timedelta(seconds=lease),
    )
    exhausted = OutboxMessage.objects.filter(
        stale, attempts__gte=settings.YUYUE_OUTBOX_MAX_ATTEMPTS
    ).update(
        status=OutboxMessage.Status.FAILED,
        sending_since=None,
        last_error="worker lost while sending, attempts used up; outcome unknown",
    )
    recovered = OutboxMessage.objects.filter(stale).update(
        status=OutboxMessage.Status.PENDING,
        due_at=now,
        sending_since=None,
        last_error="worker lost while sending; resent with the same idempotency key",
    )
    published = outbox_republish_pending(older_than_seconds=older_than_seconds, limit=limit)
    return {"recovered": recovered, "failed": exhausted, "published": published}


def outbox_republish_pending(*, older_than_seconds: float | None = None, limit: int = 500) -> int:
    """Publish again what is pending and was due a while ago (the broker may have lost it)."""
    age = (
        settings.YUYUE_OUTBOX_SWEEP_AGE_SECONDS
        if older_than_seconds is None
        else older_than_seconds
    )
    cutoff = timezone.now() - datetime.timedelta(seconds=age)
    ids = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, due_at__lt=cutoff)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    global _broker_pause_until
    _broker_pause_until = 0.0  # the sweep always tries the broker again
    for message_id in ids:
        if _publish(message_id) is False:
            break  # the broker is still down: the next sweep tries again
    return len(ids)


# --- reminders --------------------------------------------------------------------------


def reminder_schedule(
    *,
    dedupe_key: str,
    recipient: str,
    language: str,
    context: dict,
    starts_at: datetime.datetime,
    account_id: int | None = None,
    channel: str = OutboxMessage.Channel.SMS,
    kind: str = REMINDER_KIND,
) -> Reminder | None:
    """Write a reminder of an appointment at `starts_at`, due as `reminder_due_at` says;
    None when no reminder would help. Call inside the appointment's transaction; the
    same key twice keeps the first. Cancel it with `message_cancel(dedupe_keys=[key])`."""
    due = reminder_due_at(starts_at=starts_at, booked_at=timezone.now())
    if due is None:
        return None
    reminder = Reminder(
        kind=kind,
        dedupe_key=dedupe_key,
        recipient=recipient,
        language=language,
        context=context,
        account_id=account_id,
        channel=channel,
        day=starts_at.astimezone(_local_tz()).date(),
        starts_at=starts_at,
        due_at=due,
    )
    Reminder.objects.bulk_create([reminder], ignore_conflicts=True)
    return reminder


def reminders_release_due(*, limit: int = 500) -> int:
    """Turn due reminders into outbox messages; return how many messages were written.

    A recipient's reminders for one day go out as one message: a due reminder takes its
    day's other scheduled reminders (for the same number, family members included) with
    it. A reminder whose appointment has started expires instead.
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=Reminder.Status.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "pk")[:limit]
        )
        if not due:
            return 0
        groups: dict[tuple[str, str, datetime.date], list[Reminder]] = {}
        for reminder in due:
            groups.setdefault((reminder.channel, reminder.recipient, reminder.day), []).append(
                reminder
            )
        same_day = Q()
        for channel, recipient, day in groups:
            same_day |= Q(channel=channel, recipient=recipient, day=day)
        siblings = (
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(same_day, status=Reminder.Status.SCHEDULED)
            .exclude(pk__in=[r.pk for r in due])
            .order_by("pk")
        )
        for reminder in siblings:
            groups[(reminder.channel, reminder.recipient, reminder.day)].append(reminder)
        written = 0
        for rows in groups.values():
            live = sorted((r for r in rows if r.starts_at > now), key=lambda r: (r.starts_at, r.pk))
            late = [r.pk for r in rows if r.starts_at <= now]
            if late:
                Reminder.objects.filter(pk__in=late).update(status=Reminder.Status.EXPIRED)
            if not live:
                continue
            first = min(live, key=lambda r: r.pk)
            context = live[0].context if len(live) == 1 else {"items": [r.context for r in live]}
            message = message_enqueue(
                kind=first.kind,
                dedupe_key=f"reminder:{first.pk}",
                recipient=first.recipient,
                language=first.language,
                context=context,
                account_id=first.account_id,
                channel=first.channel,
            )
            Reminder.objects.filter(pk__in=[r.pk for r in live]).update(
                status=Reminder.Status.RELEASED, message=message
            )
            written += 1
    return written
