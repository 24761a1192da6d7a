"""Channel closures and maintenance windows. (Stub: filled in by the closures work.)"""

import datetime

from clinics.models import Session


def ensure_channel_open(*, session: Session, channel: str, now: datetime.datetime) -> None:
    """Refuse a booking through a channel that a closure covers at `now`.

    Called by booking_create inside its transaction, before any write.
    """
