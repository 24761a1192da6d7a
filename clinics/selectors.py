"""Reads of the clinic catalogue and the slot inventory, for the public pages.

Every function here runs a fixed number of queries, whatever the number of rows:
the home page lists a week of sessions and must not grow a query per session.
"""

import datetime

from django.db.models import F, Prefetch, Q, QuerySet, Sum

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
    *, start: datetime.date, days: int, department: Department | None = None
) -> list[Session]:
    """Open and stopped sessions dated in [start, start + days), in time order.

    Each session carries:
    - `places_left`: channel value -> sum over its slots of `capacity - booked - held`
      (every channel is present; a channel without quota rows shows 0);
    - `places_total`: the sum of the capacity of all its quotas, every channel.

    A stopped session is listed too (with `is_stopped` true) so patients see that it
    will not take place. Two queries, whatever the number of sessions: the sessions
    with doctor, department and room joined, then one grouped aggregate of the quotas.
    """
    end = start + datetime.timedelta(days=days)
    sessions = list(
        Session.objects.filter(
            date__gte=start,
            date__lt=end,
            status__in=[Session.Status.OPEN, Session.Status.STOPPED],
        )
        .filter(_department_filter(department))
        .select_related("doctor", "department", "room")
        # Date first so a template can regroup by day even if a session starts past midnight.
        .order_by("date", "starts_at", "doctor__name", "pk")
    )
    if not sessions:
        return sessions

    totals = (
        Quota.objects.filter(slot__session__in=[session.pk for session in sessions])
        .values("slot__session_id", "channel")
        .annotate(capacity=Sum("capacity"), taken=Sum(F("booked") + F("held")))
        .order_by()
    )
    left: dict[int, dict[str, int]] = {}
    capacity: dict[int, int] = {}
    for row in totals:
        session_id = row["slot__session_id"]
        left.setdefault(session_id, {})[row["channel"]] = row["capacity"] - row["taken"]
        capacity[session_id] = capacity.get(session_id, 0) + row["capacity"]

    for session in sessions:
        session.places_left = {channel.value: 0 for channel in Channel} | left.get(session.pk, {})
        session.places_total = capacity.get(session.pk, 0)
    return sessions
