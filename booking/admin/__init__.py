"""Booking admin pages, one module per part of the domain."""

from booking.admin import (
    bookings,  # noqa: F401
    closures,  # noqa: F401
    release,  # noqa: F401
    sessions,  # noqa: F401
)
