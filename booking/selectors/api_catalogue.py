"""The API's reads of the catalogue and of availability (booking/apis/catalogue.py).

The same answers as the web pages: the session states come from
`availability.session_availability` (the booking rules), the places from the quota rows
(`capacity - booked - held`, `clinics.selectors.session_list_upcoming`), never from
counting bookings, so a sold-out session at the 07:00 release costs what an empty one
does and never reads the booking table. Every function runs a fixed number of queries,
whatever the number of sessions or slots.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from booking import exceptions as errors
from booking import rules
from booking.selectors.availability import (
    Availability,
    State,
    closures_in_force,
    session_availability,
)
from booking.selectors.bookings import policies_by_department_cached
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Department, Doctor, Session, Slot
from core.errors import YuyueError


def department_get(*, code: str) -> Department | None:
    """An active department by its code, with its parent and active sub-clinics (two
    queries), or None."""
    return clinic_selectors.department_list().filter(code=code).first()


def department_get_plain(*, code: str) -> Department | None:
    """An active department by its code, for a filter (one query), or None."""
    return Department.objects.filter(is_active=True, code=code).first()


def doctor_list_for_api(
    *, department: Department | None = None, level: str | None = None
) -> QuerySet[Doctor]:
    """Active doctors of active departments (a department covers its sub-clinics), of
    one clinic level if given. One query."""
    doctors = clinic_selectors.doctor_list(department=department)
    if level:
        doctors = doctors.filter(level=level)
    return doctors


def doctor_get(*, doctor_id: int) -> Doctor | None:
    """An active doctor of an active department, with the department joined, or None."""
    return clinic_selectors.doctor_list().filter(pk=doctor_id).first()


def session_list_for_api(
    *,
    now: datetime.datetime,
    channels: Iterable[str],
    bookable: Iterable[str],
    department: Department | None = None,
    doctor_id: int | None = None,
    level: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    has_places: bool | None = None,
) -> list[Session]:
    """Open and stopped sessions in time order, each with `availability`: channel ->
    `Availability` for each of `channels` (the states of the home page).

    Dates: from `date_from` (default today) to `date_to` inclusive; without `date_to`,
    up to each department's booking window and the day after it when its sessions exist
    (it opens tomorrow), as `session_list_for_patients`. `has_places`: true keeps the
    sessions where one of the `bookable` channels is open (places can be taken now),
    false the others. Three queries whatever the number of sessions: the sessions,
    their quotas' totals, the closures in force (two when there is none); the policies
    come from the cache keyed by the availability generation (one more query on a miss).
    """
    channels = tuple(channels)
    bookable = frozenset(bookable)
    today = timezone.localdate(now)
    start = date_from or today
    policies = policies_by_department_cached()
    if date_to is None:
        furthest = max((p.window_days for p in policies.values()), default=0)
        end = today + datetime.timedelta(days=furthest + 1)
    else:
        end = date_to
    days = (end - start).days + 1
    if days <= 0:
        return []
    sessions = clinic_selectors.session_list_upcoming(
        start=start, days=days, department=department, now=now
    )
    sessions = [
        s
        for s in sessions
        if (doctor_id is None or s.doctor_id == doctor_id) and (not level or s.level == level)
    ]
    if not sessions:
        return sessions
    if any(s.department_id not in policies for s in sessions):
        policies = policies_by_department_cached(covering={s.department_id for s in sessions})
    closures = closures_in_force(now=now)
    listed = []
    for session in sessions:
        policy = policies[session.department_id]
        if date_to is None and session.date > today + datetime.timedelta(
            days=policy.window_days + 1
        ):
            continue
        session.availability = {
            channel: session_availability(
                session=session, channel=channel, policy=policy, closures=closures, now=now
            )
            for channel in channels
        }
        if has_places is not None:
            open_somewhere = any(
                session.availability[c].state == State.OPEN for c in channels if c in bookable
            )
            if open_somewhere != has_places:
                continue
        listed.append(session)
    return listed


def session_get_for_api(*, session_id: int) -> Session | None:
    """An open or stopped session with doctor, department (and parent) joined, or None."""
    return (
        Session.objects.filter(
            pk=session_id, status__in=[Session.Status.OPEN, Session.Status.STOPPED]
        )
        .select_related("doctor", "department__parent", "room")
        .first()
    )


@dataclass(frozen=True)
class SlotAvailability:
    """One slot as a caller finds it at `now`: the places left per channel asked for,
    and the refusal a patient booking it online would get (None: bookable now)."""

    slot: Slot
    places: dict[str, int]
    refusal: YuyueError | None

    @property
    def bookable_now(self) -> bool:
        return self.refusal is None


def slot_list_for_api(
    *, session: Session, channels: Iterable[str], now: datetime.datetime
) -> list[SlotAvailability]:
    """The session's slots in time order, each with its places per channel in
    `channels` (`Quota.available`; a channel without a quota row has 0) and the refusal
    a patient booking online would get now, in the order `rules.check_bookable` asks:
    session_stopped, slot_started, outside_window, not_yet_released (check_timing),
    channel_closed (check_channel_open), then slot_full (the quota row). The patient's
    own limits are not judged here: they need the patient.

    Two queries whatever the number of slots: the slots with their places per channel
    (one grouped query over the quotas), the closures covering the session
    (`session.department` must be loaded); the policies come from the cache keyed by
    the availability generation (one more query on a miss).
    """
    channels = tuple(channels)
    left = F("quotas__capacity") - F("quotas__booked") - F("quotas__held")
    per_channel = {
        f"available_{channel.value}": Sum(left, filter=Q(quotas__channel=channel.value))
        for channel in Channel
    }
    slots = list(Slot.objects.filter(session=session).annotate(**per_channel).order_by("starts_at"))
    policy = policies_by_department_cached(covering=[session.department_id])[session.department_id]
    closed: YuyueError | None = None
    try:
        rules.check_channel_open(session=session, channel=Channel.ONLINE, now=now)
    except errors.ChannelClosed as exc:
        closed = exc
    listed = []
    for slot in slots:
        # A channel without a quota row sums to None: no places.
        available = {
            channel.value: getattr(slot, f"available_{channel.value}") or 0 for channel in Channel
        }
        places = {channel: max(available.get(channel, 0), 0) for channel in channels}
        refusal: YuyueError | None = None
        try:
            rules.check_timing(
                session=session, slot=slot, channel=Channel.ONLINE, policy=policy, now=now
            )
            if closed is not None:
                raise closed
            if available.get(Channel.ONLINE, 0) <= 0:
                raise errors.SlotFull()
        except YuyueError as exc:
            refusal = exc
        listed.append(SlotAvailability(slot=slot, places=places, refusal=refusal))
    return listed


__all__ = [
    "Availability",
    "SlotAvailability",
    "State",
    "department_get",
    "department_get_plain",
    "doctor_get",
    "doctor_list_for_api",
    "session_get_for_api",
    "session_list_for_api",
    "slot_list_for_api",
]
