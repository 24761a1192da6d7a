"""Bookings and the per-department rules that govern them."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from booking import channels
from clinics.cache import AvailabilityManager, AvailabilityQuerySet
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
    extra_places_per_session = models.PositiveSmallIntegerField(
        _("extra places [加号] per session"),
        default=5,
        help_text=_("Places the desk may add to a session once its walk-in places are gone."),
    )

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

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
    # Still to happen: these a cancellation or a stopped session [停诊] cancels and tells.
    ACTIVE = (Status.CONFIRMED, Status.CHECKED_IN)

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
    # Who cancelled and why: a patient themself, staff on the patient's behalf (status
    # cancelled_by_patient, cancelled_by staff) or the hospital (cancelled_by_hospital).
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    # Why staff last changed the status by hand (e.g. a wrong no-show mark undone).
    status_note = models.CharField(_("status note"), max_length=200, blank=True)

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
            models.CheckConstraint(
                condition=(
                    Q(
                        status__in=["cancelled_by_patient", "cancelled_by_hospital"],
                        cancelled_at__isnull=False,
                    )
                    | (
                        ~Q(status__in=["cancelled_by_patient", "cancelled_by_hospital"])
                        & Q(cancelled_at__isnull=True, cancelled_by__isnull=True)
                    )
                ),
                name="booking_cancelled_iff_cancelled_at",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "visit_date"]),
            models.Index(fields=["slot", "channel", "status"]),
            # The day's bookings per department: the desk's lists, reports.
            models.Index(fields=["visit_date", "department", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} #{self.queue_number}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def is_cancellable_online_at(self, now: datetime.datetime, *, cutoff_minutes: int) -> bool:
        return self.is_active and now <= self.slot.starts_at - datetime.timedelta(
            minutes=cutoff_minutes
        )


class ClosureQuerySet(AvailabilityQuerySet):
    """The one place where a closure's scope meets sessions and time. Its writes bump the
    availability generation (clinics.cache)."""

    def active_at(self, now: datetime.datetime) -> "ClosureQuerySet":
        """In force at `now`: starts_at <= now < (ends_at, reopened_at or forever)."""
        return self.filter(
            Q(starts_at__lte=now)
            & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
            & (Q(reopened_at__isnull=True) | Q(reopened_at__gt=now))
        )

    def covering(self, session: Session) -> "ClosureQuerySet":
        """Whose scope covers `session`: the hospital, its department or the department's
        parent, its doctor, or the session itself (`session.department` must be loaded)."""
        department = session.department
        departments = [department.pk]
        if department.parent_id is not None:
            departments.append(department.parent_id)
        return self.filter(
            Q(scope=Closure.Scope.HOSPITAL)
            | Q(scope=Closure.Scope.DEPARTMENT, department_id__in=departments)
            | Q(scope=Closure.Scope.DOCTOR, doctor_id=session.doctor_id)
            | Q(scope=Closure.Scope.SESSION, session_id=session.pk)
        )

    def closing(self, channel: str) -> "ClosureQuerySet":
        return self.filter(**{channel: True})


class Closure(models.Model):
    """Ops turn booking channels off for a scope and a time range, with a public notice.

    Closing a channel never touches what is booked: it refuses new bookings there.
    """

    class Scope(models.TextChoices):
        HOSPITAL = "hospital", _("Whole hospital")
        DEPARTMENT = "department", _("Department")
        DOCTOR = "doctor", _("Doctor")
        SESSION = "session", _("Session")

    class Reason(models.TextChoices):
        MAINTENANCE = "maintenance", _("Planned maintenance")
        CAPACITY = "capacity", _("Not enough doctors for the booked load")
        SECURITY = "security", _("Security")
        DOCTOR_UNAVAILABLE = "doctor_unavailable", _("Doctor unavailable")
        OTHER = "other", _("Other")

    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("department")
    )
    doctor = models.ForeignKey(
        "clinics.Doctor", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("doctor")
    )
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("session")
    )
    online = models.BooleanField(_("close online booking"), default=True)
    phone = models.BooleanField(_("close phone booking"), default=False)
    walkin = models.BooleanField(_("close walk-in registration"), default=False)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    notice = models.TextField(_("public notice (Chinese)"))
    notice_en = models.TextField(_("public notice (English)"))
    release_places = models.BooleanField(_("release unbooked places to walk-in"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Asked when reopening: move the released places that are still unbooked at walk-in
    # back to their channels, for sessions far enough ahead (release.release_return_for_closure).
    return_places = models.BooleanField(_("move released places back on reopening"), default=False)

    objects = ClosureQuerySet.as_manager()

    class Meta:
        permissions = [("print_sign", _("Can print closure and stopped-session signs"))]
        verbose_name = _("channel closure")
        verbose_name_plural = _("channel closures")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(online=True) | Q(phone=True) | Q(walkin=True),
                name="closure_closes_a_channel",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="closure_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope="hospital", department=None, doctor=None, session=None)
                    | Q(scope="department", department__isnull=False, doctor=None, session=None)
                    | Q(scope="doctor", department=None, doctor__isnull=False, session=None)
                    | Q(scope="session", department=None, doctor=None, session__isnull=False)
                ),
                name="closure_scope_names_its_target",
            ),
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"])]

    def __str__(self) -> str:
        starts_at = timezone.localtime(self.starts_at)
        return f"{self.get_scope_display()} {self.get_reason_display()} {starts_at:%Y-%m-%d %H:%M}"

    def channels(self) -> list[str]:
        return [c for c in channels.CLOSABLE if getattr(self, c)]

    def session_q(self, prefix: str = "") -> Q:
        """The sessions this closure's scope covers, as a filter on Session (or on a
        relation to it, with `prefix` such as "session__"). The inverse of
        `ClosureQuerySet.covering`; no query."""
        if self.scope == self.Scope.DEPARTMENT:
            return Q(**{f"{prefix}department_id": self.department_id}) | Q(
                **{f"{prefix}department__parent_id": self.department_id}
            )
        if self.scope == self.Scope.DOCTOR:
            return Q(**{f"{prefix}doctor_id": self.doctor_id})
        if self.scope == self.Scope.SESSION:
            return Q(**{f"{prefix}pk" if not prefix else f"{prefix}id": self.session_id})
        return Q()

    def covers(self, session: Session) -> bool:
        """In memory, what `Closure.objects.covering(session)` asks the database
        (`session.department` must be loaded). No query."""
        return (
            self.covers_department(session.department)
            or (self.scope == self.Scope.DOCTOR and self.doctor_id == session.doctor_id)
            or (self.scope == self.Scope.SESSION and self.session_id == session.pk)
        )

    def covers_department(self, department: Department) -> bool:
        """Closes the whole of `department` (hospital, it, or its parent). No query."""
        return self.scope == self.Scope.HOSPITAL or (
            self.scope == self.Scope.DEPARTMENT
            and self.department_id in (department.pk, department.parent_id)
        )


class Notice(models.Model):
    """A public announcement shown in the site banner and on the status page."""

    class Severity(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    title = models.CharField(_("title (Chinese)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=160)
    body = models.TextField(_("text (Chinese)"))
    body_en = models.TextField(_("text (English)"))
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.INFO
    )
    starts_at = models.DateTimeField(_("shown from"))
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="notice_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ReleaseRun(models.Model):
    """One run of the release engine, resumable, its progress visible to ops."""

    class Kind(models.TextChoices):
        CLOSURE = "closure", _("Channel closed")
        PRE_SESSION = "pre_session", _("Before the session")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    closure = models.ForeignKey(
        Closure, on_delete=models.PROTECT, null=True, blank=True, related_name="release_runs"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Sessions are processed in primary-key order; the cursor is the last one done.
    cursor = models.BigIntegerField(default=0)
    places_moved = models.PositiveIntegerField(_("places moved"), default=0)
    sessions_touched = models.PositiveIntegerField(_("sessions"), default=0)
    # Places freed by cancellations while the closure held, moved to walk-in too.
    places_freed_moved = models.PositiveIntegerField(_("freed places moved"), default=0)
    # Reopening with return_places: places moved back from walk-in, resumable by cursor.
    places_returned = models.PositiveIntegerField(_("places moved back"), default=0)
    return_cursor = models.BigIntegerField(default=0)
    returned_at = models.DateTimeField(_("moved back at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("release run")
        verbose_name_plural = _("release runs")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["closure"],
                condition=Q(kind="closure"),
                name="release_run_once_per_closure",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} {self.places_moved}"


class HeldPlace(models.Model):
    """A place freed by a cancellation, held back until the waitlist takes it or
    `release_at` passes; `outcome` says where it went."""

    class Outcome(models.TextChoices):
        HELD = "held", _("Held")
        WAITLIST = "waitlist", _("Booked from the waitlist")
        RETURNED = "returned", _("Returned to its channel")
        WALKIN = "walkin", _("Moved to walk-in (channel closed)")
        UNDONE = "undone", _("Taken back: the cancellation was undone")

    quota = models.ForeignKey("clinics.Quota", on_delete=models.CASCADE, related_name="held_places")
    # A booking may free its place more than once: cancelled, undone, cancelled again.
    freed_by = models.ForeignKey(
        Booking, on_delete=models.CASCADE, related_name="held_places", verbose_name=_("freed by")
    )
    release_at = models.DateTimeField(_("returns to the pool at"))
    released_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.HELD
    )
    taken_by = models.ForeignKey(
        Booking,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("taken by"),
    )

    class Meta:
        verbose_name = _("held place")
        verbose_name_plural = _("held places")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(outcome="held", released_at__isnull=True, taken_by__isnull=True)
                    | Q(
                        outcome__in=["waitlist", "undone"],
                        released_at__isnull=False,
                        taken_by__isnull=False,
                    )
                    | Q(
                        outcome__in=["returned", "walkin"],
                        released_at__isnull=False,
                        taken_by__isnull=True,
                    )
                ),
                name="heldplace_outcome_consistent",
            ),
        ]
        indexes = [
            models.Index(
                fields=["release_at"],
                condition=Q(released_at__isnull=True),
                name="heldplace_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.quota_id} until {timezone.localtime(self.release_at):%Y-%m-%d %H:%M}"


class WaitlistEntry(models.Model):
    """A patient waiting for a place in a full session [候补]; first come, first served."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        BOOKED = "booked", _("Booked")
        LEFT = "left", _("Left")
        CLOSED = "closed", _("Closed")

    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
        verbose_name=_("patient"),
    )
    session = models.ForeignKey(
        Session,
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
        verbose_name=_("session"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    booking = models.OneToOneField(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="waitlist_entry"
    )
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "session"],
                condition=Q(status="waiting"),
                name="waitlist_one_entry_per_patient_session",
            ),
            models.CheckConstraint(
                condition=Q(status="booked", booking__isnull=False)
                | (~Q(status="booked") & Q(booking__isnull=True)),
                name="waitlist_booked_iff_booking",
            ),
        ]
        indexes = [models.Index(fields=["session", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.patient_id} → {self.session_id} {self.status}"
