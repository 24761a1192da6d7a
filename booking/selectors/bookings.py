"""Reads of bookings and booking rules."""

import datetime

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
