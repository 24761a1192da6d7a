"""Booking admin pages, one module per part of the domain."""

from booking.admin import bookings  # noqa: F401
