"""Stopping a session [停诊]: the doctor cannot come.

The session's bookings are cancelled by the hospital — never a no-show, never counted
against the patient — and their places go back to their quotas (not to the waitlist:
nobody can book a stopped session). Waiting waitlist entries close. Each patient is told
once, with up to three alternatives.

A stop is two short transactions, each in the documented lock order, so it cannot
deadlock with a booking, a cancellation or a waitlist offer made in the same instant:

1. the session row alone: `open → stopped` (a conditional UPDATE). From its commit on,
   no booking or waitlist join can succeed: both need the open session row last.
2. the bookings (primary-key order), the waitlist entries, then the quota rows: cancel,
   give places back, close the waitlist, write each patient's message (outbox).

Phase 2 finds whatever is still active on a stopped session, so running `session_stop`
again (after a crash between the phases, or an operator's double click) completes a stop
and never notifies anyone twice. A transaction chosen as a deadlock victim anyway (some
lock outside this order) is retried.
"""

import dataclasses
import logging
from collections import Counter

from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from booking import exceptions as errors
from booking.models import Booking, WaitlistEntry
from booking.selectors.stops import session_alternatives
from booking.services.bookings import notify_cancelled_by_hospital, reminder_key
from clinics.models import Quota, Session
from core.audit import audit_record
from notifications.services import message_cancel
from patients.models import Account

logger = logging.getLogger(__name__)

ACTIVE = Booking.ACTIVE  # what a stop cancels (and the admin's confirmation counts)
DEADLOCK_RETRIES = 3


@dataclasses.dataclass(frozen=True)
class StopResult:
    stopped: bool  # this call stopped the session (False: it was stopped already)
    bookings_cancelled: int = 0
    waitlist_closed: int = 0
    notified: int = 0


def session_stop(*, session: Session, reason: str, stopped_by: Account) -> StopResult:
    """Stop an open session (or finish stopping a stopped one).

    The result counts what this call did: `stopped` when it stopped the session, and
    the bookings it cancelled (so two stops at once may share the work; their counts
    add up). Refuses with: stop_reason_required. Never a deadlock error: each phase is
    retried.
    """
    reason = (reason or "").strip()[:200]
    if not reason:
        raise errors.StopReasonRequired()
    now = timezone.now()
    flipped = _retrying(
        lambda: Session.objects.filter(pk=session.pk, status=Session.Status.OPEN).update(
            status=Session.Status.STOPPED, stopped_at=now, stop_reason=reason
        )
    )
    session = Session.objects.select_related("doctor", "department").get(pk=session.pk)
    reason = session.stop_reason or reason  # a repeated stop tells the first reason
    # Read before any lock is taken: where the patients can go instead.
    alternatives = session_alternatives(session=session, now=now)
    cancelled, closed = _retrying(
        lambda: _cancel_session_bookings(session, reason=reason, alternatives=alternatives)
    )
    if not flipped and not cancelled and not closed:
        return StopResult(stopped=False)  # nothing changed: nobody is told twice
    if flipped:  # a conditional UPDATE, which the audit log's signals never see
        audit_record(
            instance=session,
            changes={"status": (Session.Status.OPEN, session.status), "stop_reason": ("", reason)},
            actor=stopped_by,
            additional_data={"bookings_cancelled": cancelled, "waitlist_closed": closed},
        )
    logger.info(
        "session %s stopped by account %s: %s bookings cancelled, %s waitlist entries closed",
        session.pk,
        stopped_by.pk,
        cancelled,
        closed,
    )
    return StopResult(
        stopped=bool(flipped),
        bookings_cancelled=cancelled,
        waitlist_closed=closed,
        notified=cancelled,
    )


def _cancel_session_bookings(
    session: Session, *, reason: str, alternatives: list[Session]
) -> tuple[int, int]:
    """Phase 2, one transaction: bookings, waitlist entries, quotas — the lock order of
    every other writer. The session is already stopped, so nothing new arrives."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = list(
            Booking.objects.select_for_update(of=("self",))
            .filter(session_id=session.pk, status__in=ACTIVE)
            .select_related("patient__account", "slot", "session__doctor", "department")
            .order_by("pk")
        )
        closed = WaitlistEntry.objects.filter(
            session_id=session.pk, status=WaitlistEntry.Status.WAITING
        ).update(status=WaitlistEntry.Status.CLOSED, closed_at=now)
        if not cancelled:
            return 0, closed
        list(
            Quota.objects.select_for_update()
            .filter(slot_id__in={b.slot_id for b in cancelled})
            .order_by("pk")
            .values_list("pk")
        )
        Booking.objects.filter(pk__in=[b.pk for b in cancelled]).update(
            status=Booking.Status.CANCELLED_BY_HOSPITAL,
            cancelled_at=now,
            cancel_reason=reason,
            updated_at=now,
        )
        message_cancel(dedupe_keys=[reminder_key(b.pk) for b in cancelled])
        for (slot_id, channel), count in Counter((b.slot_id, b.channel) for b in cancelled).items():
            given_back = Quota.objects.filter(
                slot_id=slot_id, channel=channel, booked__gte=count
            ).update(booked=F("booked") - count)
            if given_back != 1:
                raise RuntimeError(f"quota of slot {slot_id} {channel} had fewer than {count}")
        for booking in cancelled:
            booking.status = Booking.Status.CANCELLED_BY_HOSPITAL
            booking.cancelled_at = now
            notify_cancelled_by_hospital(booking, reason=reason, alternatives=alternatives)
    return len(cancelled), closed


def _retrying(step):
    """Run `step` (its own transaction), again if PostgreSQL chose it as a deadlock
    victim: the rollback undid it whole, so a rerun is safe."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return step()
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) != "40P01" or attempt == DEADLOCK_RETRIES - 1:
                raise
            logger.warning("session stop: deadlock, retrying (%s)", attempt + 1)
    raise AssertionError("unreachable")
