"""Every refusal of the booking rules, each with its stable code."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from core.errors import YuyueError


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


class CancelReasonRequired(YuyueError):
    code = "cancel_reason_required"
    message = _("Say why the booking is cancelled: the reason is recorded with it.")


class HospitalCancelStaffOnly(YuyueError):
    code = "hospital_cancel_staff_only"
    message = _("Only hospital staff can cancel a booking on the hospital's behalf.")
    http_status = status.HTTP_403_FORBIDDEN


class UndoNotPossible(YuyueError):
    code = "undo_not_possible"
    message = _("Only a cancellation you made yourself can be undone.")
    http_status = status.HTTP_409_CONFLICT


class UndoExpired(YuyueError):
    code = "undo_expired"
    message = _("A cancellation can be undone for %(minutes)d minutes only. Please book again.")
    http_status = status.HTTP_409_CONFLICT


class UndoPlaceGone(YuyueError):
    code = "undo_place_gone"
    message = _("The place has already gone to another patient. Please book again.")
    http_status = status.HTTP_409_CONFLICT


class ChannelNotAllowed(YuyueError):
    code = "channel_not_allowed"
    message = _("Only hospital staff can book through this channel.")
    http_status = status.HTTP_403_FORBIDDEN


class IdempotencyKeyReused(YuyueError):
    code = "idempotency_key_reused"
    message = _("This request key was already used for a different booking.")
    # The request itself is wrong (the key names another request), not the state: 422,
    # as the API's Idempotency-Key contract says.
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class RescheduleSameSlot(YuyueError):
    code = "reschedule_same_slot"
    message = _("The new time is the same as the current one.")


# --- channel closures -----------------------------------------------------------


class ChannelClosed(YuyueError):
    """A closure covers this channel for this session now.

    The notice is chosen in the language current when the message is rendered, so one
    refusal reads right in the API response, the HTML form and the log alike.
    `retry_at` (an aware datetime or None) is when the closure is planned to end.
    """

    code = "channel_closed"
    message = _("Booking through this channel is closed for now. %(notice)s")
    message_with_retry = _(
        "Booking through this channel is closed for now. %(notice)s "
        "Please try again after %(until)s (Beijing time)."
    )
    http_status = status.HTTP_409_CONFLICT

    def __init__(
        self,
        *,
        channel: str,
        notice: str,
        notice_en: str,
        retry_at=None,
        closure_id: int | None = None,
    ) -> None:
        super().__init__()
        self.channel = channel
        self.notice = notice
        self.notice_en = notice_en
        self.retry_at = retry_at
        self.closure_id = closure_id

    @property
    def detail(self) -> str:
        from django.utils import formats, timezone, translation
        from django.utils.encoding import force_str

        chinese = (translation.get_language() or "").startswith("zh")
        notice = (self.notice if chinese else self.notice_en) or self.notice or self.notice_en
        if self.retry_at is None:
            return force_str(self.message) % {"notice": notice}
        until = formats.date_format(timezone.localtime(self.retry_at), "Y-m-d H:i")
        return force_str(self.message_with_retry) % {"notice": notice, "until": until}


class ClosureNoChannel(YuyueError):
    code = "closure_no_channel"
    message = _("Choose at least one channel to close: online, phone or walk-in.")


class ClosureUnknownChannel(YuyueError):
    code = "closure_unknown_channel"
    message = _("Only online, phone and walk-in booking can be closed.")


class ClosureEndsBeforeStart(YuyueError):
    code = "closure_ends_before_start"
    message = _("A closure must end after it starts.")


class ClosureAlreadyOver(YuyueError):
    code = "closure_already_over"
    message = _("This closure would already be over: its end is in the past.")


class ClosureTargetMismatch(YuyueError):
    code = "closure_target_mismatch"
    message = _(
        "A closure for “%(scope)s” must name exactly one target of that kind "
        "(none for the whole hospital)."
    )


class ClosureUnknownReason(YuyueError):
    code = "closure_unknown_reason"
    message = _("Choose one of the listed reasons.")


class ClosureNoticeMissing(YuyueError):
    code = "closure_notice_missing"
    message = _("Every closure needs a public notice in Chinese and in English.")


class ClosureNoticeTooLong(YuyueError):
    code = "closure_notice_too_long"
    message = _("A public notice can be at most %(limit)s characters: it must fit on the sign.")


class ClosureAlreadyEnded(YuyueError):
    code = "closure_already_ended"
    message = _("This closure has already ended.")
    http_status = status.HTTP_409_CONFLICT


class NoticeEndsBeforeStart(YuyueError):
    code = "notice_ends_before_start"
    message = _("A notice must end after it starts.")


class NoticeTextMissing(YuyueError):
    code = "notice_text_missing"
    message = _("A notice needs a title and a text in Chinese and in English.")


# --- waitlist [候补] and stopping a session [停诊] ------------------------------------


class SessionHasPlaces(YuyueError):
    code = "session_has_places"
    message = _("This session still has places. Please book one instead of joining the waitlist.")
    http_status = status.HTTP_409_CONFLICT


class WaitlistClosed(YuyueError):
    code = "waitlist_closed"
    message = _("The waitlist for this session closed at 20:00 the day before.")
    http_status = status.HTTP_409_CONFLICT


class WaitlistLimit(YuyueError):
    code = "waitlist_limit"
    message = _("A patient can wait for at most %(limit)s sessions at a time.")
    http_status = status.HTTP_409_CONFLICT


class AlreadyWaitlisted(YuyueError):
    code = "already_waitlisted"
    message = _("This patient is already on the waitlist for this session.")
    http_status = status.HTTP_409_CONFLICT


class NotWaiting(YuyueError):
    code = "waitlist_not_waiting"
    message = _("This waitlist entry is no longer waiting.")
    http_status = status.HTTP_409_CONFLICT


class StopReasonRequired(YuyueError):
    code = "stop_reason_required"
    message = _("Please give the reason for stopping the session; patients are told it.")


# --- the visit day: check-in [签到], no-shows [爽约], extra places [加号] -------------------


class BookingCancelledByHospital(YuyueError):
    """The hospital cancelled this booking (a stopped session [停诊]): the desk tells the
    patient why and where else to go. `alternatives` are sessions with places left."""

    code = "booking_cancelled_by_hospital"
    message = _(
        "The hospital cancelled this booking (%(reason)s). "
        "Please choose another session; the desk can suggest one."
    )
    http_status = status.HTTP_409_CONFLICT

    def __init__(self, *, reason: str, alternatives: list | None = None) -> None:
        super().__init__(reason=reason)
        self.alternatives = list(alternatives or [])


class BookingCancelled(YuyueError):
    code = "booking_cancelled"
    message = _("This booking was cancelled. Please book again.")
    http_status = status.HTTP_409_CONFLICT


class NotCheckable(YuyueError):
    code = "not_checkable"
    message = _("This visit is already over (completed or missed); it cannot be checked in.")
    http_status = status.HTTP_409_CONFLICT


class NotToday(YuyueError):
    """`date` is formatted when the message is rendered, in the language current then."""

    code = "not_today"
    message = _("This booking is for %(date)s, not today.")
    http_status = status.HTTP_409_CONFLICT

    def __init__(self, *, date) -> None:
        super().__init__()
        self.date = date

    @property
    def detail(self) -> str:
        from django.utils import formats
        from django.utils.encoding import force_str

        return force_str(self.message) % {"date": formats.date_format(self.date)}


class NotCheckedIn(YuyueError):
    code = "not_checked_in"
    message = _("Only a patient who has checked in can be marked as seen.")
    http_status = status.HTTP_409_CONFLICT


class NoShowTooEarly(YuyueError):
    code = "no_show_too_early"
    message = _("The visit's time has not ended yet: the patient can still come.")
    http_status = status.HTTP_409_CONFLICT


class NotMarkableNoShow(YuyueError):
    code = "not_markable_no_show"
    message = _("Only a confirmed booking the patient did not come for can be marked as a no-show.")
    http_status = status.HTTP_409_CONFLICT


class NotNoShow(YuyueError):
    code = "not_no_show"
    message = _("This booking is not marked as a no-show.")
    http_status = status.HTTP_409_CONFLICT


class StatusNoteRequired(YuyueError):
    code = "status_note_required"
    message = _("Say why the status is changed: the reason is recorded with the booking.")


class ExtraPlaceReasonRequired(YuyueError):
    code = "extra_place_reason_required"
    message = _("Say why an extra place is added: the reason is recorded with it.")


class WalkinPlacesLeft(YuyueError):
    code = "walkin_places_left"
    message = _("This session still has walk-in places. Please book one of them instead.")
    http_status = status.HTTP_409_CONFLICT


class ExtraPlaceLimit(YuyueError):
    code = "extra_place_limit"
    message = _("At most %(limit)s extra places can be added to one session.")
    http_status = status.HTTP_409_CONFLICT
