"""The clinic catalogue and the slot inventory: who sees patients, when, and how many.

Capacity lives on `Quota` rows, one per slot and channel; the database refuses any
`booked` outside `0..capacity`, whatever the code above it does.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.cache import AvailabilityManager


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    PHONE = "phone", _("Phone")
    WALKIN = "walkin", _("Walk-in")
    RESERVED = "reserved", _("Reserved (doctor follow-up)")


class HalfDay(models.TextChoices):
    MORNING = "morning", _("Morning")
    AFTERNOON = "afternoon", _("Afternoon")
    EVENING = "evening", _("Evening")


class ClinicLevel(models.TextChoices):
    GENERAL = "general", _("General")
    EXPERT = "expert", _("Expert")
    SPECIAL = "special", _("Special needs")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Department(models.Model):
    """Ophthalmology and its sub-clinics (`parent` points at ophthalmology)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    # Name and location have a column per language (clinics/translation.py).
    name = models.CharField(_("name"), max_length=60)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sub_clinics",
        verbose_name=_("parent department"),
    )
    location = models.CharField(_("location"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Doctor(models.Model):
    class Title(models.TextChoices):
        CHIEF = "chief", _("Chief physician")
        ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician")
        ATTENDING = "attending", _("Attending physician")
        RESIDENT = "resident", _("Resident physician")

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="doctors", verbose_name=_("department")
    )
    # Name (pinyin in English), specialties and bio have a column per language
    # (clinics/translation.py).
    name = models.CharField(_("name"), max_length=50)
    title = models.CharField(_("title"), max_length=20, choices=Title.choices)
    level = models.CharField(_("clinic level"), max_length=10, choices=ClinicLevel.choices)
    fee = models.DecimalField(_("fee (yuan)"), max_digits=7, decimal_places=2)
    specialties = models.CharField(_("specialties"), max_length=200, blank=True)
    bio = models.TextField(_("short bio"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The doctor's own staff account: the doctor role sees its own sessions and lists.
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="doctor",
        verbose_name=_("staff account"),
    )

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

    class Meta:
        verbose_name = _("doctor")
        verbose_name_plural = _("doctors")
        ordering = ["department__sort_order", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="doctor_fee_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_title_display()})"


class Room(models.Model):
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="rooms", verbose_name=_("department")
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60)

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ScheduleTemplate(models.Model):
    """A weekly pattern [出诊排班] from which sessions are generated ahead."""

    doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, related_name="templates", verbose_name=_("doctor")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="templates", verbose_name=_("department")
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, verbose_name=_("room"))
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    half_day = models.CharField(_("half-day"), max_length=10, choices=HalfDay.choices)
    level = models.CharField(_("clinic level"), max_length=10, choices=ClinicLevel.choices)
    start_time = models.TimeField(_("first slot starts"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    slot_count = models.PositiveSmallIntegerField(_("slots"))
    places_per_slot = models.PositiveSmallIntegerField(_("places per slot"))
    online_percent = models.PositiveSmallIntegerField(_("online %"), default=60)
    phone_percent = models.PositiveSmallIntegerField(_("phone %"), default=10)
    walkin_percent = models.PositiveSmallIntegerField(_("walk-in %"), default=30)
    reserved_percent = models.PositiveSmallIntegerField(_("reserved %"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("schedule template")
        verbose_name_plural = _("schedule templates")
        ordering = ["weekday", "half_day", "doctor__name"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="template_weekday_range"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=30),
                name="template_slot_at_most_30_minutes",
            ),
            models.CheckConstraint(condition=Q(slot_count__gte=1), name="template_has_slots"),
            models.CheckConstraint(condition=Q(places_per_slot__gte=1), name="template_has_places"),
            models.CheckConstraint(
                condition=Q(
                    online_percent__lte=100,
                    phone_percent__lte=100,
                    walkin_percent__lte=100,
                    reserved_percent__lte=100,
                )
                & Q(
                    online_percent=100
                    - F("phone_percent")
                    - F("walkin_percent")
                    - F("reserved_percent")
                ),
                name="template_channel_split_is_100",
            ),
            models.UniqueConstraint(
                fields=["doctor", "weekday", "half_day"],
                condition=Q(is_active=True),
                name="template_one_active_per_doctor_halfday",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.weekday} {self.half_day}"

    @property
    def places(self) -> int:
        return self.slot_count * self.places_per_slot

    def channel_split(self) -> dict[str, int]:
        return {
            Channel.ONLINE: self.online_percent,
            Channel.PHONE: self.phone_percent,
            Channel.WALKIN: self.walkin_percent,
            Channel.RESERVED: self.reserved_percent,
        }


class Session(models.Model):
    """One doctor's half-day on a date [出诊]; generated from a template or added by hand."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        STOPPED = "stopped", _("Stopped")

    template = models.ForeignKey(
        ScheduleTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions"
    )
    doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("doctor")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("department")
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, verbose_name=_("room"))
    date = models.DateField(_("date"))
    half_day = models.CharField(_("half-day"), max_length=10, choices=HalfDay.choices)
    level = models.CharField(_("clinic level"), max_length=10, choices=ClinicLevel.choices)
    fee = models.DecimalField(_("fee (yuan)"), max_digits=7, decimal_places=2)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    stop_reason = models.CharField(_("stop reason"), max_length=200, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    # Set once the pre-session release moved unbooked online and phone places to walk-in.
    walkin_released_at = models.DateTimeField(_("released to walk-in at"), null=True, blank=True)
    # Queue numbers [序号] are handed out by one conditional UPDATE of this counter.
    last_queue_number = models.PositiveIntegerField(default=0, editable=False)

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

    class Meta:
        permissions = [("stop_session", _("Can stop a session [停诊]"))]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at", "doctor__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["doctor", "date", "half_day"], name="session_one_per_doctor_halfday"
            ),
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="session_starts_before_it_ends"
            ),
            # The target of booking's composite foreign key (session, department, date).
            models.UniqueConstraint(
                fields=["id", "department", "date"], name="session_id_department_date"
            ),
        ]
        indexes = [models.Index(fields=["date", "department"])]

    def __str__(self) -> str:
        return f"{self.date} {self.get_half_day_display()} {self.doctor.name}"

    @property
    def is_stopped(self) -> bool:
        return self.status == self.Status.STOPPED


class Slot(models.Model):
    """A time band [时段] inside a session; its places are split into quotas per channel."""

    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="slots", verbose_name=_("session")
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "starts_at"], name="slot_unique_start"),
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="slot_starts_before_it_ends"
            ),
            # DESIGN: time bands of 30 minutes or less.
            models.CheckConstraint(
                condition=Q(ends_at__lte=F("starts_at") + datetime.timedelta(minutes=30)),
                name="slot_at_most_30_minutes",
            ),
            # The target of booking's composite foreign key (slot, session): a booking's
            # denormalised session is always its slot's (PostgreSQL, booking 0004).
            models.UniqueConstraint(fields=["id", "session"], name="slot_id_session"),
        ]

    def __str__(self) -> str:
        # Stored in UTC; people read Beijing time.
        return f"{self.session} {timezone.localtime(self.starts_at):%H:%M}"

    def has_started(self, now: datetime.datetime) -> bool:
        return self.starts_at <= now


class Quota(models.Model):
    """A slot's places for one channel. `booked` only moves by conditional UPDATEs."""

    slot = models.ForeignKey(
        Slot, on_delete=models.CASCADE, related_name="quotas", verbose_name=_("slot")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    capacity = models.PositiveIntegerField(_("capacity"))
    booked = models.PositiveIntegerField(_("booked"), default=0)
    # Places freed by a cancellation and held back for a random delay before they
    # return to the pool (anti-scalper): neither bookable nor booked meanwhile.
    held = models.PositiveIntegerField(_("held back"), default=0)

    # Writes bump the availability generation (clinics.cache).
    objects = AvailabilityManager()

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["slot_id", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "channel"], name="quota_one_per_slot_channel"),
            models.CheckConstraint(
                condition=Q(booked__gte=0, held__gte=0) & Q(booked__lte=F("capacity") - F("held")),
                name="quota_booked_within_capacity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slot} {self.channel} {self.booked}/{self.capacity}"

    @property
    def available(self) -> int:
        return self.capacity - self.booked - self.held


class CapacityChange(models.Model):
    """One change of a quota's capacity: who, when, why. Written by the services that
    move capacity (`clinics.services.quota_capacity_move`, `quota_capacity_set`), in the
    same transaction as the change, so the log and the quotas never disagree.

    A move between two quotas of one slot is two rows with opposite deltas and one
    `move` id: their sum is 0 (invariant 2). A staff edit is one row.
    """

    class Reason(models.TextChoices):
        CLOSURE_RELEASE = "closure_release", _("Released by a channel closure")
        PRE_SESSION_RELEASE = "pre_session_release", _("Released before the session")
        FREED_PLACE = "freed_place", _("Freed place moved to walk-in")
        CLOSURE_RETURN = "closure_return", _("Returned when a closure was reopened")
        STAFF_EDIT = "staff_edit", _("Changed by staff")
        EXTRA_PLACE = "extra_place", _("Extra place added at the desk [加号]")

    quota = models.ForeignKey(
        Quota, on_delete=models.CASCADE, related_name="capacity_changes", verbose_name=_("quota")
    )
    delta = models.IntegerField(_("change"))
    capacity_after = models.PositiveIntegerField(_("capacity after"))
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices)
    move = models.UUIDField(_("move"), null=True, blank=True, db_index=True)
    # What caused it, e.g. "release_run:12" or "booking:345": the booking app's words.
    ref = models.CharField(_("caused by"), max_length=60, blank=True, db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("capacity change")
        verbose_name_plural = _("capacity changes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="capacity_change_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.quota_id} {self.delta:+d} ({self.reason})"
