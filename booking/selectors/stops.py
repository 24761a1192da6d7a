"""Reads for stopping a session [停诊]: where its patients can go instead."""

import datetime

from django.db.models import F, Sum
from django.utils import timezone

from clinics.models import Channel, Session


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
