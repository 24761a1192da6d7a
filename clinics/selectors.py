"""Reads of the clinic catalogue and the slot inventory, for the public pages.

Every function here runs a fixed number of queries, whatever the number of rows:
the home page lists the booking window's sessions and must not grow a query per session.
"""

import datetime

from django.db.models import F, Max, Prefetch, Q, QuerySet, Sum

from clinics.models import Channel, Department, Doctor, Quota, Session


def department_list() -> QuerySet[Department]:
    """Active departments in display order, each with its parent and its active sub-clinics.

    Runs two queries when evaluated: the departments (with `parent` joined) and one
    prefetch of the sub-clinics (`department.sub_clinics.all()`).
    """
    return (
        Department.objects.filter(is_active=True)
        .select_related("parent")
        .prefetch_related(
            Prefetch(
                "sub_clinics",
                queryset=Department.objects.filter(is_active=True).order_by("sort_order", "code"),
            )
        )
        .order_by("sort_order", "code")
    )


def _department_filter(department: Department | None, *, prefix: str = "") -> Q:
    """A department and its sub-clinics: ophthalmology covers its cataract clinic."""
    if department is None:
        return Q()
    return Q(**{f"{prefix}department": department}) | Q(
        **{f"{prefix}department__parent": department}
    )


def doctor_list(*, department: Department | None = None) -> QuerySet[Doctor]:
    """Active doctors of active departments (and their sub-clinics), with the department joined."""
    return (
        Doctor.objects.filter(is_active=True, department__is_active=True)
        .filter(_department_filter(department))
        .select_related("department")
        .order_by("department__sort_order", "department__code", "name", "pk")
    )


def session_list_upcoming(
    *,
    start: datetime.date,
    days: int,
    department: Department | None = None,
    now: datetime.datetime | None = None,
) -> list[Session]:
    """Open and stopped sessions dated in [start, start + days), in time order.

    Each session carries:
    - `places_left`: channel value -> sum over its slots of `capacity - booked - held`
      (every channel is present; a channel without quota rows shows 0); with `now`,
      only over the slots that have not started at `now` (`Slot.has_started`);
    - `places_total`: the sum of the capacity of all its quotas, every channel;
    - `last_slot_starts_at`: when its last slot starts (None without slots).

    A stopped session is listed too (with `is_stopped` true) so patients see that it
    will not take place. Two queries, whatever the number of sessions: the sessions
    with doctor, department (and its parent) and room joined, then one grouped
    aggregate of the quotas.
    """
    end = start + datetime.timedelta(days=days)
    sessions = list(
        Session.objects.filter(
            date__gte=start,
            date__lt=end,
            status__in=[Session.Status.OPEN, Session.Status.STOPPED],
        )
        .filter(_department_filter(department))
        .select_related("doctor", "department__parent", "room")
        # Date first so a template can regroup by day even if a session starts past midnight.
        .order_by("date", "starts_at", "doctor__name", "pk")
    )
    if not sessions:
        return sessions

    not_started = Q(slot__starts_at__gt=now) if now is not None else None
    totals = (
        Quota.objects.filter(slot__session__in=[session.pk for session in sessions])
        .values("slot__session_id", "channel")
        .annotate(
            places=Sum("capacity"),
            left=Sum(F("capacity") - F("booked") - F("held"), filter=not_started),
            last_slot_starts_at=Max("slot__starts_at"),
        )
        .order_by()
    )
    left: dict[int, dict[str, int]] = {}
    capacity: dict[int, int] = {}
    last_slot: dict[int, datetime.datetime] = {}
    for row in totals:
        session_id = row["slot__session_id"]
        left.setdefault(session_id, {})[row["channel"]] = row["left"] or 0
        capacity[session_id] = capacity.get(session_id, 0) + row["places"]
        if session_id not in last_slot or row["last_slot_starts_at"] > last_slot[session_id]:
            last_slot[session_id] = row["last_slot_starts_at"]

    for session in sessions:
        session.places_left = {channel.value: 0 for channel in Channel} | left.get(session.pk, {})
        session.places_total = capacity.get(session.pk, 0)
        session.last_slot_starts_at = last_slot.get(session.pk)
    return sessions
