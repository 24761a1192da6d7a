"""Reads of the waitlist [候补]."""

import datetime

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from booking.models import WaitlistEntry
from clinics.models import Channel, Quota, Session
from patients.models import Account

# DESIGN.md: the waitlist closes at 20:00 the day before the session.
WAITLIST_CLOSES_AT = datetime.time(20, 0)
# DESIGN.md: at most 3 waiting entries per patient.
WAITLIST_LIMIT = 3


def waitlist_closes_at(*, session: Session) -> datetime.datetime:
    """20:00 (local time) the day before the session."""
    day_before = session.date - datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day_before, WAITLIST_CLOSES_AT))


def waitlist_last_open_date(*, now: datetime.datetime) -> datetime.date:
    """Sessions dated after this day still take waitlist entries at `now`."""
    local = timezone.localtime(now)
    if local.time() >= WAITLIST_CLOSES_AT:
        return local.date() + datetime.timedelta(days=1)
    return local.date()


def waitlist_position(*, entry: WaitlistEntry) -> int:
    """1-based place among the session's waiting entries (first come, first served);
    0 when the entry is no longer waiting."""
    if entry.status != WaitlistEntry.Status.WAITING:
        return 0
    ahead = WaitlistEntry.objects.filter(
        session_id=entry.session_id, status=WaitlistEntry.Status.WAITING
    ).filter(Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk))
    return ahead.count() + 1


def waitlist_candidates(
    *, session_id: int, joined_by: datetime.datetime, now: datetime.datetime
) -> list[WaitlistEntry]:
    """Waiting entries of a session that joined by `joined_by`, in waitlist order; none
    once the waitlist has closed. Entries joined after a place was freed never get it:
    a cancel-and-join hand-over fails like a cancel-and-rebook."""
    return list(
        WaitlistEntry.objects.filter(
            session_id=session_id,
            status=WaitlistEntry.Status.WAITING,
            created_at__lte=joined_by,
            session__date__gt=waitlist_last_open_date(now=now),
        )
        .select_related("patient", "requested_by")
        .order_by("created_at", "pk")
    )


def waitlist_list_for_account(*, account: Account) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(patient__account=account)
        .select_related("patient", "session__doctor", "session__department")
        .order_by("-created_at")
    )


def session_online_places_left(*, session: Session, now: datetime.datetime) -> int:
    """Online places still bookable in the session's slots that have not started
    (held-back places are not bookable)."""
    total = Quota.objects.filter(
        slot__session_id=session.pk, channel=Channel.ONLINE, slot__starts_at__gt=now
    ).aggregate(left=Sum(F("capacity") - F("booked") - F("held")))["left"]
    return total or 0
