"""The booking rules, in one public module.

Every way into a place — `booking_create`, `booking_reschedule`, `waitlist_join`, the
waitlist's offer of a held place, and the pages and APIs that explain a refusal in
advance — asks these functions. Each raises the refusal (a `YuyueError` with a stable
code) or returns None; none writes. Channel meanings come from `booking.channels`.
"""

import datetime

from django.utils import formats, timezone

from booking import channels
from booking import exceptions as errors
from booking.models import Booking, BookingPolicy, Closure
from booking.selectors import holding_dates
from clinics.models import Session, Slot
from patients.exceptions import NotYourPatient
from patients.models import Account, Patient

# A patient who cancelled by mistake may take it back this long, while the place is held
# (`booking_cancel_undo`; the my-bookings page shows the button until then).
UNDO_WITHIN = datetime.timedelta(minutes=10)


def check_requester(*, patient: Patient, channel: str, requested_by: Account) -> None:
    """Staff book any patient through any channel; a patient books only their own
    patients, online. Refuses with: not_your_patient, channel_not_allowed."""
    if requested_by.is_staff:
        return
    if patient.account_id != requested_by.pk:
        raise NotYourPatient()
    if channel != channels.PATIENT:
        raise errors.ChannelNotAllowed()


def opens_at(*, policy: BookingPolicy, day: datetime.date) -> datetime.datetime:
    """When the public channels start taking bookings for `day`: the policy's release
    time, `window_days` before it (Asia/Shanghai)."""
    return datetime.datetime.combine(
        day - datetime.timedelta(days=policy.window_days),
        policy.release_time,
        tzinfo=timezone.get_default_timezone(),
    )


def check_window(*, session: Session, policy: BookingPolicy, now: datetime.datetime) -> None:
    """The session's day is inside the booking window and already released: `now` is
    at or after `opens_at`. Refuses with: outside_window (the day opens on a later
    day), not_yet_released (it opens later today)."""
    if now >= opens_at(policy=policy, day=session.date):
        return
    if session.date > timezone.localdate(now) + datetime.timedelta(days=policy.window_days):
        raise errors.OutsideWindow(days=policy.window_days)
    raise errors.NotYetReleased(time=policy.release_time.strftime("%H:%M"))


def check_timing(
    *, session: Session, slot: Slot, channel: str, policy: BookingPolicy, now: datetime.datetime
) -> None:
    """The place can be taken at `now` through `channel`. Refuses with: session_stopped,
    slot_started, walkin_same_day, outside_window, not_yet_released."""
    if session.is_stopped:
        raise errors.SessionStopped()
    if slot.has_started(now):
        raise errors.SlotStarted()
    if channel in channels.SAME_DAY_ONLY:
        if session.date != timezone.localdate(now):
            raise errors.WalkinSameDay()
        return
    if channel in channels.PUBLIC:
        check_window(session=session, policy=policy, now=now)


def check_channel_open(*, session: Session, channel: str, now: datetime.datetime) -> None:
    """No closure covering `session` switches `channel` off at `now`. One query
    (`session.department` must be loaded). When several closures apply, the refusal
    names the one that lasts longest, and gives no retry time if any is open-ended.
    Refuses with: channel_closed."""
    if channel not in channels.CLOSABLE:
        return
    closures = list(
        Closure.objects.covering(session)
        .active_at(now)
        .closing(channel)
        .only("pk", "notice", "notice_en", "ends_at", "reopened_at", "starts_at")
        .order_by("starts_at", "pk")
    )
    if not closures:
        return
    open_ended = [c for c in closures if c.ends_at is None]
    longest = open_ended[0] if open_ended else max(closures, key=lambda c: c.ends_at)
    raise errors.ChannelClosed(
        channel=channel,
        notice=longest.notice,
        notice_en=longest.notice_en,
        retry_at=None if open_ended else longest.ends_at,
        closure_id=longest.pk,
    )


def check_not_suspended(*, patient: Patient, channel: str, now: datetime.datetime) -> None:
    """A patient suspended for no-shows books no public channel until the suspension
    ends (the desk's walk-in stays open). No query. Refuses with: patient_suspended."""
    if channel in channels.PUBLIC and patient.is_suspended_on(timezone.localdate(now)):
        raise errors.PatientSuspended(until=formats.date_format(patient.suspended_until))


def check_patient(
    *,
    patient: Patient,
    session: Session,
    channel: str,
    policy: BookingPolicy,
    now: datetime.datetime,
) -> None:
    """The patient may hold one more place in `session`.

    Must be called while holding the patient's row lock: two requests for one patient
    are then judged one after the other. Refuses with: patient_suspended,
    already_booked_session, duplicate_department_day, daily_limit, weekly_limit.
    """
    check_not_suspended(patient=patient, channel=channel, now=now)
    day = session.date
    week = datetime.timedelta(days=6)
    held = holding_dates(patient_id=patient.pk, start=day - week, end=day + week)
    if any(session_id == session.pk for _, _, session_id in held):
        raise errors.AlreadyBookedSession()
    if channel not in channels.LIMITED:
        return  # a doctor's follow-up is the doctor's decision, not a quota of the patient
    same_day = [department_id for visit, department_id, _ in held if visit == day]
    if same_day.count(session.department_id) >= policy.max_per_department_day:
        raise errors.DuplicateDepartmentDay()
    if len(same_day) >= policy.max_per_day:
        raise errors.DailyLimit(limit=policy.max_per_day)
    visits = [visit for visit, _, _ in held]
    for first in (day - datetime.timedelta(days=n) for n in range(7)):
        in_window = sum(first <= visit <= first + week for visit in visits)
        if in_window >= policy.max_per_7_days:
            raise errors.WeeklyLimit(limit=policy.max_per_7_days)


def check_bookable(
    *,
    patient: Patient,
    session: Session,
    slot: Slot,
    channel: str,
    policy: BookingPolicy,
    now: datetime.datetime,
    from_waitlist: bool = False,
) -> None:
    """Every rule a new place is judged by, in the order a person would want to hear
    them: timing, closures, then the patient's own limits. Under the patient's lock.

    `from_waitlist`: a held place handed to a patient who was already waiting is not a
    new booking through the channel, so a closure of that channel does not refuse it
    (a freed place goes to the waitlist first, then walk-in, even while closed)."""
    check_timing(session=session, slot=slot, channel=channel, policy=policy, now=now)
    if not from_waitlist:
        check_channel_open(session=session, channel=channel, now=now)
    check_patient(patient=patient, session=session, channel=channel, policy=policy, now=now)


def check_cancellable(
    *, booking: Booking, requested_by: Account, policy: BookingPolicy, now: datetime.datetime
) -> None:
    """A confirmed booking may be cancelled (or moved away) by this requester now:
    patients online until the policy's cut-off before the slot, staff any time.
    Refuses with: not_cancellable, cancel_too_late."""
    if booking.status != Booking.Status.CONFIRMED:
        raise errors.NotCancellable()
    if requested_by.is_staff:
        return
    if not booking.is_cancellable_online_at(now, cutoff_minutes=policy.cancel_cutoff_minutes):
        raise errors.CancelTooLate(minutes=policy.cancel_cutoff_minutes)


__all__ = [
    "check_bookable",
    "check_cancellable",
    "check_channel_open",
    "check_not_suspended",
    "check_patient",
    "check_requester",
    "check_timing",
    "check_window",
]
