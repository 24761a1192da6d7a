"""Every write of the booking app, one module per part of the domain.

`bookings` (create, cancel, reschedule), `closures` (channels on and off, notices),
`release` (moving places to where patients are), `waitlist`, `stops` (停诊), `visits`
(the visit day: check-in, no-shows, extra places). The rules
they judge by live in `booking.rules`, the channels' meanings in `booking.channels`.
"""

from booking.services.bookings import (
    CODE_ALPHABET,
    CODE_LENGTH,
    booking_cancel,
    booking_cancel_undo,
    booking_create,
    booking_reschedule,
)
from booking.services.closures import (
    closure_create,
    closure_reopen,
    closure_validate,
    notice_create,
    notice_update,
)
from booking.services.release import (
    place_freed,
    release_closures_pending,
    release_due_sessions,
    release_for_closure,
    release_return_for_closure,
    session_release_to_walkin,
)
from booking.services.stops import StopResult, session_stop
from booking.services.visits import (
    arrived_late,
    booking_check_in,
    booking_complete,
    booking_create_extra,
    booking_mark_no_show,
    booking_no_show_undo,
    no_shows_mark_due,
)
from booking.services.waitlist import (
    held_place_offer,
    held_places_settle,
    waitlist_close_due,
    waitlist_join,
    waitlist_leave,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "StopResult",
    "arrived_late",
    "booking_cancel",
    "booking_cancel_undo",
    "booking_check_in",
    "booking_complete",
    "booking_create",
    "booking_create_extra",
    "booking_mark_no_show",
    "booking_no_show_undo",
    "booking_reschedule",
    "closure_create",
    "closure_reopen",
    "closure_validate",
    "held_place_offer",
    "held_places_settle",
    "no_shows_mark_due",
    "notice_create",
    "notice_update",
    "place_freed",
    "release_closures_pending",
    "release_due_sessions",
    "release_for_closure",
    "release_return_for_closure",
    "session_release_to_walkin",
    "session_stop",
    "waitlist_close_due",
    "waitlist_join",
    "waitlist_leave",
]
