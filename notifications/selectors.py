"""Reads of the outbox: an account's inbox, and the outbox's health for /healthz/background."""

import dataclasses
import datetime

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from notifications.messages import APPOINTMENT_KINDS, CANCELLATION_KINDS, render
from notifications.models import OutboxMessage

INBOX_STATUSES = (
    OutboxMessage.Status.PENDING,
    OutboxMessage.Status.SENDING,
    OutboxMessage.Status.SENT,
    OutboxMessage.Status.FAILED,
)


@dataclasses.dataclass(frozen=True)
class InboxItem:
    id: int
    kind: str
    text: str
    created_at: datetime.datetime
    read: bool
    # What its writer stored (a page may link to what the message speaks of).
    context: dict = dataclasses.field(default_factory=dict)


def inbox_list(*, account_id: int, limit: int = 50) -> list[InboxItem]:
    """An account's messages, newest first, in the language each was written in.

    Every message to the account is here whatever its SMS fate: pending (also when
    quiet hours hold the SMS back), sent or failed; withdrawn ones are not.
    """
    rows = (
        OutboxMessage.objects.filter(account_id=account_id, status__in=INBOX_STATUSES)
        .order_by("-created_at", "-pk")
        .only("pk", "kind", "language", "context", "created_at", "read_at")[:limit]
    )
    return [
        InboxItem(
            id=row.pk,
            kind=row.kind,
            text=render(kind=row.kind, language=row.language, context=row.context),
            created_at=row.created_at,
            read=row.read_at is not None,
            context=row.context,
        )
        for row in rows
    ]


def inbox_unread_count(*, account_id: int) -> int:
    return OutboxMessage.objects.filter(
        account_id=account_id,
        status__in=INBOX_STATUSES,
        read_at__isnull=True,
    ).count()


def outbox_health(*, backlog_minutes: int | None = None) -> dict:
    """Counts for /healthz/background, one query.

    `backlog`: pending messages due more than `backlog_minutes` ago (default
    YUYUE_OUTBOX_BACKLOG_MINUTES): the workers or the broker are not keeping up.
    `stuck_sending`: rows held by a worker longer than the sending lease.
    `failed`: messages given up on, waiting for staff (the admin's "retry");
    `failed_last_day` of them in the last 24 hours.
    `ok` is false when there is a backlog or stuck rows; failed messages alone do not
    make the site unready (restarting it would not send them).
    """
    minutes = settings.YUYUE_OUTBOX_BACKLOG_MINUTES if backlog_minutes is None else backlog_minutes
    now = timezone.now()
    cutoff = now - datetime.timedelta(minutes=minutes)
    lease = now - datetime.timedelta(seconds=settings.YUYUE_OUTBOX_SENDING_LEASE_SECONDS)
    pending = Q(status=OutboxMessage.Status.PENDING, due_at__lt=cutoff)
    failed = Q(status=OutboxMessage.Status.FAILED)
    counts = OutboxMessage.objects.filter(
        pending | failed | Q(status=OutboxMessage.Status.SENDING, sending_since__lt=lease)
    ).aggregate(
        backlog=Count("pk", filter=pending),
        failed=Count("pk", filter=failed),
        failed_last_day=Count(
            "pk", filter=failed & Q(created_at__gte=now - datetime.timedelta(days=1))
        ),
        stuck_sending=Count("pk", filter=Q(status=OutboxMessage.Status.SENDING)),
        oldest_due=Min("due_at", filter=pending),
    )
    oldest = counts.pop("oldest_due")
    counts["oldest_backlog_seconds"] = int((now - oldest).total_seconds()) if oldest else 0
    counts["backlog_minutes"] = minutes
    counts["ok"] = counts["backlog"] == 0 and counts["stuck_sending"] == 0
    return counts


# --- the patient's inbox, as the "my messages" page and the API show it -------------

# Kinds no inbox lists: a one-time sign-in code is a secret of a moment.
INBOX_HIDDEN_KINDS = frozenset({"sign_in_code"})
# Kinds that speak of one booking: their context's `code` is that booking's code.
BOOKING_MESSAGE_KINDS = APPOINTMENT_KINDS | CANCELLATION_KINDS


@dataclasses.dataclass(frozen=True)
class InboxMessage:
    id: int
    kind: str
    text: str
    created_at: datetime.datetime
    read: bool
    # The booking the message speaks of, when it speaks of one.
    booking_code: str


def inbox_messages(*, account_id: int, limit: int = 50) -> list[InboxMessage]:
    """`inbox_list` as a patient reads it: without sign-in codes, each message with the
    code of the booking it speaks of ("" when none). One query."""
    rows = (
        OutboxMessage.objects.filter(account_id=account_id, status__in=INBOX_STATUSES)
        .exclude(kind__in=INBOX_HIDDEN_KINDS)
        .order_by("-created_at", "-pk")
        .only("pk", "kind", "language", "context", "created_at", "read_at")[:limit]
    )
    return [
        InboxMessage(
            id=row.pk,
            kind=row.kind,
            text=render(kind=row.kind, language=row.language, context=row.context),
            created_at=row.created_at,
            read=row.read_at is not None,
            booking_code=str(row.context.get("code") or "")
            if row.kind in BOOKING_MESSAGE_KINDS
            else "",
        )
        for row in rows
    ]
