"""The outbox: every message is a row written in the transaction that caused it.

A message is rendered from the `context` its writer stored, so this app needs to
know nothing about bookings. Reminders are rows with a due time; when due they are
released into the outbox (several for one recipient and day become one message).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        # Claimed by one worker (attempt_id) and handed to a provider; see message_send.
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")
        WECHAT = "wechat", _("WeChat")

    kind = models.CharField(_("kind"), max_length=40)
    dedupe_key = models.CharField(_("dedupe key"), max_length=120, unique=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("account"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    context = models.JSONField(_("context"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    urgent = models.BooleanField(_("urgent (ignores quiet hours)"), default=False)
    # Not before: quiet hours and retry back-off move it forward.
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Fencing token of the attempt that holds the row in `sending`.
    attempt_id = models.UUIDField(_("attempt id"), null=True, blank=True)
    sending_since = models.DateTimeField(_("sending since"), null=True, blank=True)
    delivered_via = models.CharField(
        _("delivered via"), max_length=10, choices=Channel.choices, blank=True
    )
    provider_reference = models.CharField(_("provider reference"), max_length=120, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="outbox_pending_idx",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="outbox_due_idx",
            ),
            models.Index(fields=["account", "-created_at"], name="outbox_inbox_idx"),
            # /readyz and the admin count failed rows: a small partial index.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="failed"),
                name="outbox_failed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key} {self.status}"

    @property
    def masked_recipient(self) -> str:
        if "@" in self.recipient:
            name, _at, domain = self.recipient.partition("@")
            return f"{name[:1]}***@{domain}"
        return "***" + self.recipient[-4:]


class Reminder(models.Model):
    """A message to write later: released into the outbox when due.

    `day` is the day the reminder is about; a recipient's reminders for one day are
    released together as one message.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        RELEASED = "released", _("Released")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    kind = models.CharField(_("kind"), max_length=40, default="booking_reminder")
    dedupe_key = models.CharField(_("dedupe key"), max_length=120, unique=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("account"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=OutboxMessage.Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    context = models.JSONField(_("context"), default=dict)
    day = models.DateField(_("day"))
    starts_at = models.DateTimeField(_("appointment starts at"))
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED
    )
    message = models.ForeignKey(
        OutboxMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("message"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_at"]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="scheduled"),
                name="reminder_due_idx",
            ),
            models.Index(fields=["recipient", "day"], name="reminder_recipient_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key} {self.status}"
