"""Reads for stopping a session [停诊]: which sessions ops may stop, whom a stop
reaches, and where its patients can go instead."""

import datetime

from django.db.models import F, QuerySet, Sum
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


def session_alternatives(
    *, session: Session, limit: int = 3, now: datetime.datetime | None = None
) -> list[Session]:
    """Up to `limit` open sessions with online places left, for a stopped session's patients.

    First the same doctor's next session, then sessions of the same clinic level in the
    same department on the same day, earliest first. Two or three queries.
    """
    now = now or timezone.now()
    with_places = (
        Session.objects.filter(status=Session.Status.OPEN, starts_at__gt=now)
        .exclude(pk=session.pk)
        .filter(slots__quotas__channel=Channel.ONLINE, slots__starts_at__gt=now)
        .annotate(
            left=Sum(
                F("slots__quotas__capacity") - F("slots__quotas__booked") - F("slots__quotas__held")
            )
        )
        .filter(left__gt=0)
        .select_related("doctor", "department")
    )
    found: list[Session] = []
    same_doctor = (
        with_places.filter(doctor_id=session.doctor_id, starts_at__gt=session.starts_at)
        .order_by("starts_at", "pk")
        .first()
    )
    if same_doctor is not None:
        found.append(same_doctor)
    same_day = (
        with_places.filter(
            department_id=session.department_id, level=session.level, date=session.date
        )
        .exclude(doctor_id=session.doctor_id)
        .order_by("starts_at", "pk")
    )
    found += list(same_day[: max(limit - len(found), 0)])
    return found[:limit]
