"""Reads of bookings and booking rules."""

import datetime
import logging
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db.models import QuerySet

from booking.models import Booking, BookingPolicy
from clinics.cache import availability_generation
from clinics.models import Department
from patients.exceptions import NotYourPatient
from patients.models import Account

logger = logging.getLogger(__name__)


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


POLICIES_CACHE_TTL = 60


def policies_by_department_cached(*, covering: Iterable[int] = ()) -> dict[int, BookingPolicy]:
    """`policies_by_department()` from the cache, keyed by the availability generation
    (clinics.cache): policy and department writes bump it, so a cached copy is never
    older than the last committed change. For the hot reads (the API's availability);
    no query on a hit, one on a miss or when the cache is down. Bookings judge their
    rules with the policy read from the database, never with this copy.

    `covering`: department ids the caller will look up; a cached copy without one of
    them (a department whose creating transaction has not bumped the generation yet)
    is read again.
    """
    try:
        key = f"yuyue:policies:{availability_generation()}"
        policies = cache.get(key)
    except Exception:
        logger.warning("cached policies unavailable: reading the database", exc_info=True)
        return policies_by_department()
    if policies is not None and all(d in policies for d in covering):
        return policies
    policies = policies_by_department()
    try:
        cache.set(key, policies, POLICIES_CACHE_TTL)
    except Exception:
        logger.warning("policies could not be cached", exc_info=True)
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
        )
        .order_by()  # no sort: the rules count, they don't read in order
        .values_list("visit_date", "department_id", "session_id")
    )
