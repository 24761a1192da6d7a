"""Reads of the booking app, one module per part of the domain."""

from booking.selectors.bookings import (
    booking_get_for_account,
    booking_list_for_account,
    holding_dates,
    policy_for_department,
)

__all__ = [
    "booking_get_for_account",
    "booking_list_for_account",
    "holding_dates",
    "policy_for_department",
]
