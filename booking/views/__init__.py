"""The booking app's pages: public (home, status, signs), the booking steps (`book`), and
the patient's own bookings, waitlist entries and messages (`mine`)."""

from booking.views.public import (
    browse,
    browse_department,
    home,
    sign_closure,
    sign_session,
    status,
)

__all__ = [
    "browse",
    "browse_department",
    "home",
    "sign_closure",
    "sign_session",
    "status",
]
