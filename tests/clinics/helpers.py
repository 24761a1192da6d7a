"""Dates and assertions shared by the clinics tests."""

import datetime
from zoneinfo import ZoneInfo

from clinics.models import Quota, Session, Slot

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 23 November 2026, 09:00 in Shanghai. Generation covers Mon 23 .. Mon 30 November.
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
MONDAY = datetime.date(2026, 11, 23)
WEDNESDAY, SUNDAY = 2, 6


def inventory() -> tuple[int, int, int]:
    """(sessions, slots, quotas): what a refusal or a rerun must leave unchanged."""
    return Session.objects.count(), Slot.objects.count(), Quota.objects.count()


def quotas_of(slot: Slot) -> dict[str, tuple[int, int]]:
    """channel -> (capacity, booked)"""
    return {quota.channel: (quota.capacity, quota.booked) for quota in slot.quotas.all()}
