"""Reads of the booking app, one module per part of the domain."""

from booking.selectors.bookings import (
    booking_get_for_account,
    booking_list_for_account,
    holding_dates,
    policies_by_department,
    policy_for_department,
    session_horizon,
)
from booking.selectors.release import release_run_summary
from booking.selectors.stops import (
    session_active_booking_count,
    session_alternatives,
    session_list_stoppable,
)
from booking.selectors.waitlist import (
    session_online_places_left,
    waitlist_closes_at,
    waitlist_list_for_account,
    waitlist_position,
)

__all__ = [
    "booking_get_for_account",
    "booking_list_for_account",
    "holding_dates",
    "policies_by_department",
    "policy_for_department",
    "release_run_summary",
    "session_active_booking_count",
    "session_alternatives",
    "session_horizon",
    "session_list_stoppable",
    "session_online_places_left",
    "waitlist_closes_at",
    "waitlist_list_for_account",
    "waitlist_position",
]
