"""Every write of the booking app, one module per part of the domain.

`bookings` (create, cancel, reschedule), `closures` (channels on and off, notices),
`release` (moving places to where patients are), `waitlist`, `stops` (停诊).
"""

from booking.services.bookings import (
    CODE_ALPHABET,
    CODE_LENGTH,
    booking_cancel,
    booking_create,
    booking_reschedule,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "booking_cancel",
    "booking_create",
    "booking_reschedule",
]
