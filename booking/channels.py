"""Channel policy: what each booking channel [渠道] means to the rules, in one place.

- online: patients book for themselves (browser, API);
- phone: call-centre staff book for a caller;
- walkin: the front desk books a patient standing at the window, for today only;
- reserved: doctor-booked follow-ups, the doctor's decision.
"""

from clinics.models import Channel

# The channel a patient books through by themself; every other channel is staff's.
PATIENT = Channel.ONLINE
# Channels that only staff may book through.
STAFF_ONLY = frozenset({Channel.PHONE, Channel.WALKIN, Channel.RESERVED})
# Channels the public reaches from afar: the booking window, the daily release time and
# no-show suspensions apply, and their freed places go to the waitlist first.
PUBLIC = frozenset({Channel.ONLINE, Channel.PHONE})
# The ways a patient gets a place, in the order pages show them: online by themself, by
# phone through the call centre, at the registration windows on the day. `reserved`
# places are the doctor's follow-ups, never offered.
PATIENT_FACING = (Channel.ONLINE, Channel.PHONE, Channel.WALKIN)
# Channels ops can switch off with a closure; `reserved` is the doctor's.
CLOSABLE = PATIENT_FACING
# Channels whose unbooked places move to walk-in (closure release, pre-session release).
RELEASABLE = (Channel.ONLINE, Channel.PHONE)
# Walk-in places are for today and for the patient at the window.
SAME_DAY_ONLY = frozenset({Channel.WALKIN})
# Bookings in these channels count against a patient's daily and weekly limits.
LIMITED = frozenset({Channel.ONLINE, Channel.PHONE, Channel.WALKIN})


def waitlist_channel(*, staff: bool) -> str:
    """The channel a waitlist entry books through: the caller's phone channel for staff."""
    return Channel.PHONE if staff else PATIENT
