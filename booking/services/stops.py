"""Stopping a session [停诊]: the doctor cannot come.

The session's bookings are cancelled by the hospital — never a no-show, never counted
against the patient — and their places go back to their quotas (not to the waitlist:
nobody can book a stopped session). Waiting waitlist entries close. Each patient is told
once, with up to three alternatives.
"""

import dataclasses
import datetime
import logging
from collections import Counter

from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from booking import exceptions as errors
from booking.models import Booking, WaitlistEntry
from booking.selectors.stops import session_alternatives
from booking.services.bookings import message_context, name_in, reminder_key, when_text
from clinics.models import ClinicLevel, Quota, Session
from notifications.services import message_cancel, message_enqueue
from patients.models import Account

logger = logging.getLogger(__name__)

ACTIVE = (Booking.Status.CONFIRMED, Booking.Status.CHECKED_IN)
MESSAGE_KIND = "booking_cancelled_by_hospital"
URGENT_WITHIN = datetime.timedelta(hours=24)


@dataclasses.dataclass(frozen=True)
class StopResult:
    stopped: bool  # False: the session was already stopped; nothing changed
    bookings_cancelled: int = 0
    waitlist_closed: int = 0
    notified: int = 0


def session_stop(*, session: Session, reason: str, stopped_by: Account) -> StopResult:
    """Stop an open session, in one transaction.

    Locks, in the order of `bookings`: the session's active bookings (primary-key
    order), its quota rows (primary-key order), then the session row, whose conditional
    UPDATE (`WHERE status = 'open'`) makes a second stop change nothing and notify
    nobody. Bookings made meanwhile are picked up after the session row is held (a new
    booking needs that row). Refuses with: stop_reason_required.
    """
    reason = (reason or "").strip()
    if not reason:
        raise errors.StopReasonRequired()
    now = timezone.now()
    with transaction.atomic():
        list(
            Booking.objects.select_for_update(of=("self",))
            .filter(session_id=session.pk, status__in=ACTIVE)
            .order_by("pk")
            .values_list("pk")
        )
        list(
            Quota.objects.select_for_update(of=("self",))
            .filter(slot__session_id=session.pk)
            .order_by("pk")
            .values_list("pk")
        )
        stopped = Session.objects.filter(pk=session.pk, status=Session.Status.OPEN).update(
            status=Session.Status.STOPPED, stopped_at=now, stop_reason=reason[:200]
        )
        if not stopped:
            return StopResult(stopped=False)
        cancelled = list(
            Booking.objects.select_for_update(of=("self",))
            .filter(session_id=session.pk, status__in=ACTIVE)
            .select_related("patient__account", "slot", "session__doctor", "department")
            .order_by("pk")
        )
        Booking.objects.filter(pk__in=[b.pk for b in cancelled]).update(
            status=Booking.Status.CANCELLED_BY_HOSPITAL, cancelled_at=now, updated_at=now
        )
        message_cancel(dedupe_keys=[reminder_key(b.pk) for b in cancelled])
        for (slot_id, channel), count in Counter((b.slot_id, b.channel) for b in cancelled).items():
            given_back = Quota.objects.filter(
                slot_id=slot_id, channel=channel, booked__gte=count
            ).update(booked=F("booked") - count)
            if given_back != 1:
                raise RuntimeError(f"quota of slot {slot_id} {channel} had fewer than {count}")
        closed = WaitlistEntry.objects.filter(
            session_id=session.pk, status=WaitlistEntry.Status.WAITING
        ).update(status=WaitlistEntry.Status.CLOSED, closed_at=now)
        session = Session.objects.select_related("doctor", "department").get(pk=session.pk)
        alternatives = session_alternatives(session=session, now=now)
        for booking in cancelled:
            booking.status = Booking.Status.CANCELLED_BY_HOSPITAL
            booking.cancelled_at = now
            _notify(booking, reason=reason, alternatives=alternatives)
    logger.info(
        "session %s stopped by account %s: %s bookings cancelled, %s waitlist entries closed",
        session.pk,
        stopped_by.pk,
        len(cancelled),
        closed,
    )
    return StopResult(
        stopped=True,
        bookings_cancelled=len(cancelled),
        waitlist_closed=closed,
        notified=len(cancelled),
    )


def _notify(booking: Booking, *, reason: str, alternatives: list[Session]) -> None:
    """Must be called inside the stop's transaction: the message lands with the change."""
    patient = booking.patient
    account = patient.account
    language = account.language
    context = message_context(booking) | {
        "reason": reason,
        "alternatives": [
            {
                "doctor": name_in(alt.doctor, language),
                "when": when_text(alt.starts_at),
                "level": _level_label(alt.level, language),
            }
            for alt in alternatives
        ],
    }
    message_enqueue(
        kind=MESSAGE_KIND,
        dedupe_key=f"booking:{booking.pk}:{MESSAGE_KIND}",
        recipient=patient.phone or account.phone or "",
        language=language,
        context=context,
        account_id=account.pk,
        # Within a day of the visit the patient must know before leaving home:
        # this notice goes even in quiet hours.
        urgent=booking.slot.starts_at - timezone.now() <= URGENT_WITHIN,
    )


def _level_label(level: str, language: str) -> str:
    with translation.override(language):
        return str(ClinicLevel(level).label)
