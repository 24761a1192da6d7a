"""Writes of the slot inventory: sessions, their slots and their quotas.

Sessions are made ahead from the weekly schedule templates (or added by hand [加诊]).
Generation is idempotent: a session's unique (doctor, date, half-day) is the guard, so
a rerun, a retried task or two workers at once create each session exactly once.
"""

import datetime
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.exceptions import (
    CapacityBelowTaken,
    CapacityReasonRequired,
    InvalidScheduleTemplate,
    SessionExists,
)
from clinics.models import (
    CapacityChange,
    Channel,
    Department,
    Doctor,
    HalfDay,
    Quota,
    Room,
    ScheduleTemplate,
    Session,
    Slot,
)

if TYPE_CHECKING:  # the user model, for type hints only: clinics imports no other app
    from patients.models import Account

# The order in which quota_split hands out the rounding places when remainders tie.
CHANNEL_ORDER: tuple[Channel, ...] = (
    Channel.ONLINE,
    Channel.PHONE,
    Channel.WALKIN,
    Channel.RESERVED,
)
# How many days ahead of today sessions are made when the caller names no horizon
# (DESIGN.md's default booking window; the template admin action). The booking window
# is booking's rule, per department: its beat task and the generate_sessions command
# pass `horizon_days` from each department's policy, so clinics imports nothing of it.
DEFAULT_HORIZON_DAYS = 7
MAX_SLOT_MINUTES = 30  # DESIGN: time bands of 30 minutes or less
MIN_SLOT_MINUTES = 5
_BATCH_SIZE = 1000


@dataclass(frozen=True)
class GenerationResult:
    sessions_created: int = 0
    slots_created: int = 0
    places_created: int = 0
    skipped_existing: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def quota_split(*, places: int, split: dict[str, int]) -> dict[str, int]:
    """Split a slot's places between the channels by percentage (largest remainder).

    The parts always add up to `places`, each is within one of its exact share, and a
    channel at 0% gets 0. Ties go to the earlier channel in online, phone, walk-in,
    reserved order, so the same template always gives the same quotas. Every channel
    is in the result, so every slot gets a quota row per channel (a release can later
    move capacity into a channel that started at 0).
    """
    if places < 0:
        raise InvalidScheduleTemplate(reason=_("the number of places cannot be negative"))
    _split_check(split)
    # Shares in hundredths of a place, so the arithmetic stays exact.
    exact = {channel: places * split.get(channel, 0) for channel in CHANNEL_ORDER}
    parts = {channel: share // 100 for channel, share in exact.items()}
    left = places - sum(parts.values())
    # `left` is the sum of the remainders / 100 and each remainder is under 100, so more
    # than `left` channels have a remainder: a 0% channel (remainder 0) never gets one.
    by_remainder = sorted(
        CHANNEL_ORDER, key=lambda channel: (-(exact[channel] % 100), CHANNEL_ORDER.index(channel))
    )
    for channel in by_remainder[:left]:
        parts[channel] += 1
    return parts


def session_create_from_template(
    *, template: ScheduleTemplate, date: datetime.date
) -> Session | None:
    """Create the template's session on `date` with its slots and quotas.

    Returns None, creating nothing, if the doctor already has a session in that
    half-day (generated earlier, by a concurrent run, or added by hand). Refuses an
    unusable template or a date on another weekday (InvalidScheduleTemplate).
    """
    _template_check(template)
    if date.weekday() != template.weekday:
        raise InvalidScheduleTemplate(
            reason=_("the date is not on the template's weekday"), template=template.pk
        )
    with transaction.atomic():
        created = _sessions_insert([_Plan.from_template(template, date)])
        _slots_and_quotas_create(created)
    return created[0][0] if created else None


def sessions_generate(
    *,
    start: datetime.date | None = None,
    days: int | None = None,
    horizon_days: Callable[[Department], int] | None = None,
    template_ids: Collection[int] | None = None,
) -> GenerationResult:
    """Create the missing sessions from the active templates, from `start` (default:
    today, Asia/Shanghai).

    How far: with `days`, that many dates from `start` for every template (an explicit
    override); else, per template, every date from `start` up to `start +
    horizon_days(department)` inclusive (the booking app passes each department's
    booking window, so the newest bookable day exists before it opens); else
    DEFAULT_HORIZON_DAYS ahead. `horizon_days` is called once per department.

    Templates that are inactive or whose doctor or department is inactive are skipped;
    `template_ids` limits the run to those templates (the admin action). Safe to run
    twice or concurrently: what exists is counted in `skipped_existing`, never
    duplicated. Every template with a date in the run is checked before anything is
    written: one unusable template (InvalidScheduleTemplate) stops the run with nothing
    created, and names the template.
    """
    start = start or timezone.localdate(timezone=timezone.get_default_timezone())
    if days is not None:
        if days < 1:
            raise ValueError("days must be at least 1")
        last_offset = _same_for_all(days - 1)
    else:
        last_offset = horizon_days or _same_for_all(DEFAULT_HORIZON_DAYS)

    templates = ScheduleTemplate.objects.filter(
        is_active=True, doctor__is_active=True, department__is_active=True
    ).select_related("doctor", "department")
    if template_ids is not None:
        templates = templates.filter(pk__in=template_ids)
    ahead: dict[int, int] = {}
    dated: list[tuple[ScheduleTemplate, list[datetime.date]]] = []
    for template in templates.order_by("pk"):
        if template.department_id not in ahead:
            offset = last_offset(template.department)
            if offset < 0:
                raise ValueError(f"horizon for {template.department} is negative: {offset}")
            ahead[template.department_id] = offset
        dates = [
            start + datetime.timedelta(days=n)
            for n in range(ahead[template.department_id] + 1)
            if (start + datetime.timedelta(days=n)).weekday() == template.weekday
        ]
        if dates:
            dated.append((template, dates))
    for template, _dates in dated:
        _template_check(template)
    plans = [_Plan.from_template(template, day) for template, dates in dated for day in dates]
    if not plans:
        return GenerationResult()

    with transaction.atomic():
        existing = set(
            Session.objects.filter(
                date__gte=min(plan.date for plan in plans),
                date__lte=max(plan.date for plan in plans),
            ).values_list("doctor_id", "date", "half_day")
        )
        created = _sessions_insert([plan for plan in plans if plan.key not in existing])
        slots, places = _slots_and_quotas_create(created)
    return GenerationResult(
        sessions_created=len(created),
        slots_created=slots,
        places_created=places,
        skipped_existing=len(plans) - len(created),
    )


def _same_for_all(offset: int) -> Callable[[Department], int]:
    return lambda department: offset


def session_add(
    *,
    doctor: Doctor,
    department: Department,
    room: Room,
    date: datetime.date,
    half_day: str,
    start_time: datetime.time,
    slot_minutes: int,
    slot_count: int,
    places_per_slot: int,
    split: dict[str, int],
) -> Session:
    """Add a session by hand [加诊], with its slots and quotas; level and fee are the doctor's.

    Refuses what `session_add_check` refuses, and a second session for the doctor in
    the same half-day (SessionExists) even when the other one is being added
    concurrently.
    """
    session_add_check(
        doctor=doctor,
        date=date,
        half_day=half_day,
        start_time=start_time,
        slot_minutes=slot_minutes,
        slot_count=slot_count,
        places_per_slot=places_per_slot,
        split=split,
    )
    plan = _Plan(
        template=None,
        doctor=doctor,
        department_id=department.pk,
        room_id=room.pk,
        date=date,
        half_day=half_day,
        level=doctor.level,
        start_time=start_time,
        slot_minutes=slot_minutes,
        slot_count=slot_count,
        places_per_slot=places_per_slot,
        split=dict(split),
    )
    with transaction.atomic():
        created = _sessions_insert([plan])
        if not created:
            raise SessionExists()
        _slots_and_quotas_create(created)
    return created[0][0]


def session_add_check(
    *,
    doctor: Doctor,
    date: datetime.date,
    half_day: str,
    start_time: datetime.time,
    slot_minutes: int,
    slot_count: int,
    places_per_slot: int,
    split: dict[str, int],
) -> None:
    """Refuse a session that `session_add` would refuse; write nothing. Forms call it to
    show the refusal before saving.

    Refuses slots longer than 30 minutes or any other unusable shape
    (InvalidScheduleTemplate), and a doctor's second session in a half-day
    (SessionExists; `session_add` checks again as it inserts).
    """
    if half_day not in HalfDay.values:
        raise InvalidScheduleTemplate(reason=_("unknown half-day"))
    _schedule_check(
        start_time=start_time,
        slot_minutes=slot_minutes,
        slot_count=slot_count,
        places_per_slot=places_per_slot,
        split=split,
    )
    if Session.objects.filter(doctor_id=doctor.pk, date=date, half_day=half_day).exists():
        raise SessionExists()


@dataclass(frozen=True)
class _Plan:
    """One session to create, before it has rows."""

    template: ScheduleTemplate | None
    doctor: Doctor
    department_id: int
    room_id: int
    date: datetime.date
    half_day: str
    level: str
    start_time: datetime.time
    slot_minutes: int
    slot_count: int
    places_per_slot: int
    split: dict[str, int]

    @classmethod
    def from_template(cls, template: ScheduleTemplate, date: datetime.date) -> "_Plan":
        return cls(
            template=template,
            doctor=template.doctor,
            department_id=template.department_id,
            room_id=template.room_id,
            date=date,
            half_day=template.half_day,
            level=template.level,
            start_time=template.start_time,
            slot_minutes=template.slot_minutes,
            slot_count=template.slot_count,
            places_per_slot=template.places_per_slot,
            split=template.channel_split(),
        )

    @property
    def key(self) -> tuple[int, datetime.date, str]:
        """The session's unique (doctor, date, half-day)."""
        return (self.doctor.pk, self.date, self.half_day)

    def session(self) -> Session:
        # Wall-clock time at the clinic, stored as UTC by Django.
        starts_at = datetime.datetime.combine(
            self.date, self.start_time, tzinfo=timezone.get_default_timezone()
        )
        return Session(
            template=self.template,
            doctor=self.doctor,
            department_id=self.department_id,
            room_id=self.room_id,
            date=self.date,
            half_day=self.half_day,
            level=self.level,
            fee=self.doctor.fee,
            starts_at=starts_at,
            ends_at=starts_at + datetime.timedelta(minutes=self.slot_minutes * self.slot_count),
        )


def _sessions_insert(plans: Iterable[_Plan]) -> list[tuple[Session, _Plan]]:
    """Insert the plans' sessions; a plan whose session already exists is left out.

    Optimistic: one multi-row INSERT in a savepoint. If a key is taken (a concurrent
    run, a hand-added session), fall back to one savepoint per session, so a conflict
    costs only its own session. Plans go in key order, so concurrent runs wait on the
    unique index in the same order and cannot deadlock.
    """
    unique: dict[tuple, _Plan] = {}
    for plan in plans:
        unique.setdefault(plan.key, plan)
    ordered = [unique[key] for key in sorted(unique)]
    if not ordered:
        return []
    if connection.features.can_return_rows_from_bulk_insert:
        sessions = [plan.session() for plan in ordered]
        try:
            with transaction.atomic():
                Session.objects.bulk_create(sessions, batch_size=_BATCH_SIZE)
        except IntegrityError:
            pass
        else:
            return list(zip(sessions, ordered, strict=True))
    created = []
    for plan in ordered:
        session = plan.session()
        if _session_insert_one(session):
            created.append((session, plan))
    return created


def _session_insert_one(session: Session) -> bool:
    try:
        with transaction.atomic():
            session.save(force_insert=True)
    except IntegrityError:
        taken = Session.objects.filter(
            doctor_id=session.doctor_id, date=session.date, half_day=session.half_day
        ).exists()
        if taken:
            return False
        raise  # another constraint: a bug, not a rerun
    return True


def _slots_and_quotas_create(created: list[tuple[Session, _Plan]]) -> tuple[int, int]:
    """Bulk-create the new sessions' slots and one quota per slot and channel.

    Returns (slots, places) created. Must run in the transaction that inserted the
    sessions, so a session never exists without its slots.
    """
    slots: list[Slot] = []
    capacities: list[dict[str, int]] = []
    for session, plan in created:
        length = datetime.timedelta(minutes=plan.slot_minutes)
        split = quota_split(places=plan.places_per_slot, split=plan.split)
        for index in range(plan.slot_count):
            starts_at = session.starts_at + index * length
            slots.append(Slot(session=session, starts_at=starts_at, ends_at=starts_at + length))
            capacities.append(split)
    _bulk_insert(Slot, slots)
    quotas = [
        Quota(slot=slot, channel=channel, capacity=capacity)
        for slot, split in zip(slots, capacities, strict=True)
        for channel, capacity in split.items()
    ]
    _bulk_insert(Quota, quotas)
    return len(slots), sum(quota.capacity for quota in quotas)


def _bulk_insert(model: type[Model], rows: list[Model]) -> None:
    if not rows:
        return
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(rows, batch_size=_BATCH_SIZE)
    else:  # an old SQLite cannot return ids from a multi-row INSERT
        for row in rows:
            row.save(force_insert=True)


def _template_check(template: ScheduleTemplate) -> None:
    """Refuse a template no session can be made from (the database checks most of it too)."""
    if not 0 <= template.weekday <= 6:
        raise InvalidScheduleTemplate(
            reason=_("the weekday must be 0 (Monday) to 6 (Sunday)"), template=template.pk
        )
    try:
        _schedule_check(
            start_time=template.start_time,
            slot_minutes=template.slot_minutes,
            slot_count=template.slot_count,
            places_per_slot=template.places_per_slot,
            split=template.channel_split(),
        )
    except InvalidScheduleTemplate as exc:
        exc.params["template"] = template.pk
        raise


def _schedule_check(
    *,
    start_time: datetime.time,
    slot_minutes: int,
    slot_count: int,
    places_per_slot: int,
    split: dict[str, int],
) -> None:
    if not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        raise InvalidScheduleTemplate(reason=_("a slot must last 5 to 30 minutes"))
    if slot_count < 1:
        raise InvalidScheduleTemplate(reason=_("a session needs at least one slot"))
    if places_per_slot < 1:
        raise InvalidScheduleTemplate(reason=_("a slot needs at least one place"))
    _split_check(split)
    start_minute = start_time.hour * 60 + start_time.minute
    if start_minute + slot_count * slot_minutes > 24 * 60:
        raise InvalidScheduleTemplate(reason=_("the last slot must end by midnight"))


def _split_check(split: dict[str, int]) -> None:
    unknown = set(split) - set(Channel.values)
    percents = [split.get(channel, 0) for channel in CHANNEL_ORDER]
    if unknown or any(not 0 <= p <= 100 for p in percents) or sum(percents) != 100:
        raise InvalidScheduleTemplate(
            reason=_("the channel percentages must each be 0 to 100 and add up to 100")
        )


# --- capacity: every change recorded ----------------------------------------------


def quota_capacity_move(
    *,
    from_quota_id: int,
    to_quota_id: int,
    places: int,
    reason: str,
    ref: str = "",
    changed_by: "Account | None" = None,
    from_held: bool = False,
) -> None:
    """Move `places` of capacity from one quota to another quota of the same slot, and
    record the move (two CapacityChange rows, one move id, deltas summing to 0).

    Must be called inside a transaction that holds both quota rows' locks (taken in
    primary-key order). `from_held` moves places that are held back on the source quota
    (a freed place): its `held` drops with its capacity. Raises RuntimeError when the
    source cannot give them: the caller's locks make that a bug, never a user error.
    """
    if places <= 0:
        return
    source = Quota.objects.filter(pk=from_quota_id)
    if from_held:
        taken = source.filter(held__gte=places).update(
            capacity=F("capacity") - places, held=F("held") - places
        )
    else:
        taken = source.filter(capacity__gte=F("booked") + F("held") + places).update(
            capacity=F("capacity") - places
        )
    if taken != 1:
        raise RuntimeError(f"quota {from_quota_id} cannot give {places} places")
    Quota.objects.filter(pk=to_quota_id).update(capacity=F("capacity") + places)
    after = dict(
        Quota.objects.filter(pk__in=(from_quota_id, to_quota_id)).values_list("pk", "capacity")
    )
    move = uuid.uuid4()
    CapacityChange.objects.bulk_create(
        [
            CapacityChange(
                quota_id=quota_id,
                delta=delta,
                capacity_after=after[quota_id],
                reason=reason,
                move=move,
                ref=ref,
                changed_by=changed_by,
            )
            for quota_id, delta in ((from_quota_id, -places), (to_quota_id, places))
        ]
    )


def quota_capacity_set(
    *, quota: Quota, capacity: int, changed_by: "Account", note: str
) -> CapacityChange | None:
    """Staff set a quota's capacity on purpose (e.g. a doctor sees more patients), with
    a reason: the one change that alters a slot's total (invariant 2), recorded.

    Locks the quota row; never below its booked and held places. Returns None when the
    capacity is already that. Refuses with: capacity_reason_required, capacity_below_taken.
    """
    note = (note or "").strip()
    if not note:
        raise CapacityReasonRequired()
    with transaction.atomic():
        locked = Quota.objects.select_for_update().get(pk=quota.pk)
        delta = capacity - locked.capacity
        if delta == 0:
            return None
        taken = locked.booked + locked.held
        changed = Quota.objects.filter(pk=locked.pk, booked__lte=capacity - F("held")).update(
            capacity=capacity
        )
        if not changed or capacity < 0:
            raise CapacityBelowTaken(taken=taken)
        return CapacityChange.objects.create(
            quota=locked,
            delta=delta,
            capacity_after=capacity,
            reason=CapacityChange.Reason.STAFF_EDIT,
            note=note[:200],
            changed_by=changed_by,
        )
