"""Bookings and the per-department rules that govern them."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinics.models import Channel, Department, Session, Slot
from patients.models import Patient


class BookingPolicy(models.Model):
    """The default rules of DESIGN.md, per department and editable by ops.

    A department without its own policy uses its parent's, then these defaults.
    """

    department = models.OneToOneField(
        Department,
        on_delete=models.CASCADE,
        related_name="booking_policy",
        verbose_name=_("department"),
    )
    window_days = models.PositiveSmallIntegerField(_("booking window (days ahead)"), default=7)
    release_time = models.TimeField(
        _("daily release time"),
        default=datetime.time(7, 0),
        help_text=_("The newest day of the window opens at this time (Asia/Shanghai)."),
    )
    max_per_department_day = models.PositiveSmallIntegerField(
        _("active bookings per department per day"), default=1
    )
    max_per_day = models.PositiveSmallIntegerField(_("bookings per visit day"), default=2)
    max_per_7_days = models.PositiveSmallIntegerField(_("bookings in any 7 days"), default=3)
    cancel_cutoff_minutes = models.PositiveIntegerField(
        _("online cancellation closes (minutes before the slot)"), default=120
    )
    no_show_limit = models.PositiveSmallIntegerField(_("no-shows before suspension"), default=3)
    no_show_window_days = models.PositiveSmallIntegerField(
        _("no-show counting window (days)"), default=365
    )
    suspension_days = models.PositiveSmallIntegerField(_("suspension (days)"), default=90)

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policies")

    def __str__(self) -> str:
        return f"{self.department} policy"


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        CHECKED_IN = "checked_in", _("Checked in")
        COMPLETED = "completed", _("Completed")
        CANCELLED_BY_PATIENT = "cancelled_by_patient", _("Cancelled by patient")
        CANCELLED_BY_HOSPITAL = "cancelled_by_hospital", _("Cancelled by hospital")
        NO_SHOW = "no_show", _("No-show")

    class BookedBy(models.TextChoices):
        PATIENT = "patient", _("Patient")
        STAFF = "staff", _("Staff")

    # A booking holds its place unless it was cancelled: quota.booked counts these.
    HOLDING = (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW)
    CANCELLED = (Status.CANCELLED_BY_PATIENT, Status.CANCELLED_BY_HOSPITAL)

    code = models.CharField(_("code"), max_length=12, unique=True, editable=False)
    queue_number = models.PositiveIntegerField(_("queue number"), editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("patient")
    )
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("slot")
    )
    # Denormalised from the slot so per-patient rules are single indexed queries.
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("session")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("department")
    )
    visit_date = models.DateField(_("visit date"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.CONFIRMED
    )
    booked_by = models.CharField(_("booked by"), max_length=10, choices=BookedBy.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_bookings",
        verbose_name=_("requested by"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    rescheduled_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rescheduled_to",
        verbose_name=_("rescheduled from"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "session"],
                condition=Q(status__in=["confirmed", "checked_in", "completed", "no_show"]),
                name="booking_one_active_per_patient_session",
            ),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                name="booking_idempotency_key_per_account",
            ),
            models.UniqueConstraint(
                fields=["session", "queue_number"], name="booking_queue_number_per_session"
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="booking_idempotency_key_not_empty"
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "visit_date"]),
            models.Index(fields=["slot", "channel", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} #{self.queue_number}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.CONFIRMED, self.Status.CHECKED_IN)

    def is_cancellable_online_at(self, now: datetime.datetime, *, cutoff_minutes: int) -> bool:
        return self.is_active and now <= self.slot.starts_at - datetime.timedelta(
            minutes=cutoff_minutes
        )
