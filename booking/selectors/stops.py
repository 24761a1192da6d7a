"""Reads for stopping a session [停诊]: which sessions ops may stop, whom a stop
reaches, and where its patients can go instead."""

import datetime

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from booking.models import Booking
from clinics.models import Channel, Session

# How far ahead the admin offers sessions to stop.
STOPPABLE_DAYS_AHEAD = 14


def session_list_stoppable(*, now: datetime.datetime | None = None) -> QuerySet[Session]:
    """Sessions ops may stop from the admin: open, not yet ended, and at most
    STOPPABLE_DAYS_AHEAD days ahead; in time order, doctors loaded."""
    now = now or timezone.now()
    return (
        Session.objects.filter(
            status=Session.Status.OPEN,
            ends_at__gt=now,
            date__lte=timezone.localdate(now) + datetime.timedelta(days=STOPPABLE_DAYS_AHEAD),
        )
        .select_related("doctor")
        .order_by("starts_at", "doctor__name")
    )


def session_active_booking_count(*, session: Session) -> int:
    """The bookings stopping `session` would cancel, each patient told once: confirmed
    and checked in (`Booking.ACTIVE`). One query."""
    return Booking.objects.filter(session_id=session.pk, status__in=Booking.ACTIVE).count()


def sessions_with_online_places(*, now: datetime.datetime) -> QuerySet[Session]:
    """Open sessions ahead with online places left in their slots not yet started,
    doctor and department loaded."""
    return (
        Session.objects.filter(status=Session.Status.OPEN, starts_at__gt=now)
        .filter(slots__quotas__channel=Channel.ONLINE, slots__starts_at__gt=now)
        .annotate(
            left=Sum(
                F("slots__quotas__capacity") - F("slots__quotas__booked") - F("slots__quotas__held")
            )
        )
        .filter(left__gt=0)
        .select_related("doctor", "department")
    )


def session_alternatives_for(
    *, sessions: list[Session], now: datetime.datetime | None = None, limit: int = 3
) -> dict[int, list[Session]]:
    """Where the patients of each of `sessions` can go instead: session id -> up to
    `limit` open sessions with online places left — first the same doctor's next
    session, then sessions of the same clinic level in the same department on the same
    day, earliest first. One query, whatever the number of sessions."""
    if not sessions:
        return {}
    now = now or timezone.now()
    same_day = Q()
    for s in sessions:
        same_day |= Q(department_id=s.department_id, level=s.level, date=s.date)
    earliest = min(s.starts_at for s in sessions)
    candidates = list(
        sessions_with_online_places(now=now)
        .filter(Q(doctor_id__in={s.doctor_id for s in sessions}, starts_at__gt=earliest) | same_day)
        .order_by("starts_at", "pk")
    )
    found: dict[int, list[Session]] = {}
    for s in sessions:
        others = [c for c in candidates if c.pk != s.pk]
        chosen = [c for c in others if c.doctor_id == s.doctor_id and c.starts_at > s.starts_at][:1]
        chosen += [
            c
            for c in others
            if c.department_id == s.department_id
            and c.level == s.level
            and c.date == s.date
            and c.doctor_id != s.doctor_id
        ][: max(limit - len(chosen), 0)]
        found[s.pk] = chosen[:limit]
    return found


def session_alternatives(
    *, session: Session, limit: int = 3, now: datetime.datetime | None = None
) -> list[Session]:
    """`session_alternatives_for` one session: for a stopped session's patients."""
    return session_alternatives_for(sessions=[session], now=now, limit=limit)[session.pk]
