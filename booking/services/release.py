"""The release engine: places move to where patients are. (Stub: filled in later.)"""

import datetime

from django.db.models import F

from booking.models import Booking
from clinics.models import Quota


def place_freed(*, booking: Booking, now: datetime.datetime) -> None:
    """A place of `booking` was freed (cancelled or moved away). Give it back.

    Must be called inside the transaction that holds the booking's row lock, after its
    status changed. Refuses (RuntimeError) when the quota had nothing booked.
    """
    released = Quota.objects.filter(
        slot_id=booking.slot_id, channel=booking.channel, booked__gt=0
    ).update(booked=F("booked") - 1)
    if released != 1:
        raise RuntimeError(f"quota of booking {booking.pk} had no place to release")
