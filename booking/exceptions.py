"""Every refusal of the booking rules, each with its stable code."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from config.errors import YuyueError


class SlotFull(YuyueError):
    code = "slot_full"
    message = _("This time slot is fully booked. Please choose another time or join the waitlist.")
    http_status = status.HTTP_409_CONFLICT


class OutsideWindow(YuyueError):
    code = "outside_window"
    message = _("Bookings can be made from today up to %(days)s days ahead.")


class WalkinSameDay(YuyueError):
    code = "walkin_same_day"
    message = _("Walk-in places are for today's sessions only.")


class NotYetReleased(YuyueError):
    code = "not_yet_released"
    message = _("Places for this day are released at %(time)s (Beijing time).")


class SlotStarted(YuyueError):
    code = "slot_started"
    message = _("This time slot has already started. Please choose a later time.")


class SessionStopped(YuyueError):
    code = "session_stopped"
    message = _("The doctor has stopped this session. Please choose another session.")
    http_status = status.HTTP_409_CONFLICT


class AlreadyBookedSession(YuyueError):
    code = "already_booked_session"
    message = _("This patient already has a booking in this session.")
    http_status = status.HTTP_409_CONFLICT


class DuplicateDepartmentDay(YuyueError):
    code = "duplicate_department_day"
    message = _("This patient already has a booking in this department on that day.")
    http_status = status.HTTP_409_CONFLICT


class DailyLimit(YuyueError):
    code = "daily_limit"
    message = _("A patient can have at most %(limit)s bookings on one day.")
    http_status = status.HTTP_409_CONFLICT


class WeeklyLimit(YuyueError):
    code = "weekly_limit"
    message = _("A patient can have at most %(limit)s bookings in any 7 days.")
    http_status = status.HTTP_409_CONFLICT


class PatientSuspended(YuyueError):
    code = "patient_suspended"
    message = _(
        "Online and phone booking is suspended until %(until)s after repeated missed visits. "
        "Walk-in registration at the hospital is still open."
    )
    http_status = status.HTTP_403_FORBIDDEN


class CancelTooLate(YuyueError):
    code = "cancel_too_late"
    message = _(
        "Online cancellation closes %(minutes)s minutes before the visit. "
        "Please cancel at the front desk."
    )


class NotCancellable(YuyueError):
    code = "not_cancellable"
    message = _("This booking can no longer be cancelled or changed.")
    http_status = status.HTTP_409_CONFLICT


class ChannelNotAllowed(YuyueError):
    code = "channel_not_allowed"
    message = _("Only hospital staff can book through this channel.")
    http_status = status.HTTP_403_FORBIDDEN


class IdempotencyKeyReused(YuyueError):
    code = "idempotency_key_reused"
    message = _("This request key was already used for a different booking.")
    http_status = status.HTTP_409_CONFLICT


class RescheduleSameSlot(YuyueError):
    code = "reschedule_same_slot"
    message = _("The new time is the same as the current one.")
