"""Reads of bookings and booking rules."""

import datetime
from collections.abc import Callable

from django.db.models import QuerySet

from booking.models import Booking, BookingPolicy
from clinics.models import Department
from patients.exceptions import NotYourPatient
from patients.models import Account


def policy_for_department(department: Department) -> BookingPolicy:
    """The department's own policy, else its parent's, else the defaults of DESIGN.md."""
    node: Department | None = department
    while node is not None:
        policy = BookingPolicy.objects.filter(department_id=node.pk).first()
        if policy is not None:
            return policy
        node = node.parent
    return BookingPolicy(department=department)


def policies_by_department() -> dict[int, BookingPolicy]:
    """Every department's policy as `policy_for_department` finds it: its own, else the
    nearest ancestor's, else the defaults of DESIGN.md (unsaved). One query, whatever
    the number of departments: for pages and runs that need many departments' rules."""
    own: dict[int, BookingPolicy] = {}
    parent_of: dict[int, int | None] = {}
    for department in Department.objects.select_related("booking_policy"):
        parent_of[department.pk] = department.parent_id
        # Without a policy of its own the reverse one-to-one raises (an AttributeError too).
        policy = getattr(department, "booking_policy", None)
        if policy is not None:
            own[department.pk] = policy
    policies = {}
    for department_id in parent_of:
        node: int | None = department_id
        seen = set()
        while node is not None and node not in own and node not in seen:
            seen.add(node)
            node = parent_of.get(node)
        policies[department_id] = (
            own[node] if node in own else BookingPolicy(department_id=department_id)
        )
    return policies


def session_horizon() -> Callable[[Department], int]:
    """How many days ahead of today each department's sessions must exist: its booking
    window (`window_days`), so the newest bookable day is there before it opens. For
    `clinics.services.sessions_generate(horizon_days=...)`; one query."""
    policies = policies_by_department()

    def horizon_days(department: Department) -> int:
        policy = policies.get(department.pk) or policy_for_department(department)
        return policy.window_days

    return horizon_days


def booking_list_for_account(*, account: Account) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(patient__account=account)
        .select_related("patient", "slot", "session__doctor", "department")
        .order_by("slot__starts_at")
    )


def booking_get_for_account(*, account: Account, booking_id: int) -> Booking:
    """Another account's booking is "not found", never "forbidden": ids leak nothing."""
    booking = booking_list_for_account(account=account).filter(pk=booking_id).first()
    if booking is None:
        raise NotYourPatient()
    return booking


def holding_dates(*, patient_id: int, start: datetime.date, end: datetime.date) -> list:
    """Visit dates of the patient's place-holding bookings in [start, end]."""
    return list(
        Booking.objects.filter(
            patient_id=patient_id,
            status__in=Booking.HOLDING,
            visit_date__range=(start, end),
        ).values_list("visit_date", "department_id", "session_id")
    )
