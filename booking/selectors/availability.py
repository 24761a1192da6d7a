"""What a patient can do now with each coming session: the home page's read.

Per session and per way of getting a place (online, phone, at the window), one state
decided by the booking rules: the session stopped [停诊] or every slot started, a
closure in force switching the channel off, the policy's booking window and daily
release time (`booking.rules.check_window`), and the places left in the slots that have
not started. The page only puts the state in words (有号 N, 约满, 已结束, 停诊, 线上暂停,
今日/明日 07:00 放号); it never decides one.

Fixed queries whatever the number of sessions: the policies (one), the sessions and
their quotas (two, `clinics.selectors.session_list_upcoming`), the closures in force
(one).
"""

import datetime
import enum
from dataclasses import dataclass

from django.utils import timezone

from booking import channels, rules
from booking import exceptions as errors
from booking.models import BookingPolicy, Closure
from booking.rules import opens_at
from booking.selectors.bookings import policies_by_department
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Department, Session

# The ways a patient gets a place, in the order the page shows them.
SHOWN_CHANNELS = channels.PATIENT_FACING


class State(enum.StrEnum):
    OPEN = "open"  # places can be taken now: 有号 N
    FULL = "full"  # none left in the slots still to come: 约满
    ENDED = "ended"  # every slot has started: 已结束
    STOPPED = "stopped"  # the doctor does not see patients in it: 停诊
    PAUSED = "paused"  # a closure switches the channel off now: 线上暂停
    NOT_RELEASED = "not_released"  # the day opens at the release time: 今日/明日 07:00 放号


@dataclass(frozen=True)
class Availability:
    """One channel of one session, as a patient finds it at `now`."""

    channel: Channel
    state: State
    # Places that can be taken in the slots that have not started (OPEN only).
    places: int = 0
    # NOT_RELEASED: when the channel starts taking this session's day, and how many
    # local days from today that is (0 today, 1 tomorrow).
    opens_at: datetime.datetime | None = None
    opens_in_days: int | None = None


def closures_in_force(*, now: datetime.datetime) -> list[Closure]:
    """The closures in force at `now`, with only what `session_availability` reads: one
    query for a whole page of sessions, judged in Python for each."""
    return list(
        Closure.objects.active_at(now).only(
            "scope", "department", "doctor", "session", "online", "phone", "walkin"
        )
    )


def session_availability(
    *,
    session: Session,
    channel: Channel,
    policy: BookingPolicy,
    closures: list[Closure],
    now: datetime.datetime,
) -> Availability:
    """The state of `channel` for `session` at `now`, first match wins: stopped, ended,
    paused (a closure in `closures` covers it), not released (public channels), full,
    open. `session` comes from `session_list_upcoming(now=now)` (its `places_left`
    counts the slots not started at `now`); `closures` are those in force at `now`."""
    if session.is_stopped:
        return Availability(channel, State.STOPPED)
    last_slot = session.last_slot_starts_at
    if (last_slot is not None and last_slot <= now) or session.ends_at <= now:
        # No slot left that has not started (`Slot.has_started`): refused as slot_started.
        return Availability(channel, State.ENDED)
    if any(getattr(c, channel) and c.covers(session) for c in closures):
        return Availability(channel, State.PAUSED)
    if channel in channels.PUBLIC:
        try:
            rules.check_window(session=session, policy=policy, now=now)
        except (errors.OutsideWindow, errors.NotYetReleased):
            moment = opens_at(policy=policy, day=session.date)
            days = (timezone.localdate(moment) - timezone.localdate(now)).days
            return Availability(channel, State.NOT_RELEASED, opens_at=moment, opens_in_days=days)
    places = session.places_left[channel]
    if places <= 0:
        return Availability(channel, State.FULL)
    return Availability(channel, State.OPEN, places=places)


def session_list_for_patients(
    *, now: datetime.datetime, department: Department | None = None
) -> list[Session]:
    """The sessions a patient may look at now, in time order: per department, from
    today to the newest day of its booking window (`window_days` ahead), and the day
    after that if its sessions already exist (it opens tomorrow).

    Each session carries `availability`: channel value -> Availability, for the
    online, phone and walk-in channels, and `availability_list` in that order. Four
    queries whatever the number of sessions (three when there is none).
    """
    today = timezone.localdate(now)
    policies = policies_by_department()
    furthest = max((p.window_days for p in policies.values()), default=0)
    sessions = clinic_selectors.session_list_upcoming(
        start=today, days=furthest + 2, department=department, now=now
    )
    if not sessions:
        return sessions
    closures = closures_in_force(now=now)
    listed = []
    for session in sessions:
        policy = policies[session.department_id]
        if session.date > today + datetime.timedelta(days=policy.window_days + 1):
            continue
        session.availability = {
            channel.value: session_availability(
                session=session, channel=channel, policy=policy, closures=closures, now=now
            )
            for channel in SHOWN_CHANNELS
        }
        session.availability_list = list(session.availability.values())
        listed.append(session)
    return listed
