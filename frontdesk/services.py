"""Every write of the visit day's queue: check-in into the queue, call, recall, skip, done.

The queue lock is the session row (`select_for_update`): every change of a session's
tickets happens while it is held, so positions are rewritten by one desk at a time and
the database's "one called ticket per session" constraint is never raced into.
Lock order (STYLE / DESIGN): the booking row first (booking's visit services lock it),
then the session row.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from booking import services as booking_services
from booking.models import Booking
from clinics.models import Session
from frontdesk.exceptions import QueueBusy, TicketAlreadyDone, TicketNotCalled
from frontdesk.models import QueueTicket
from patients.identity import age_on
from patients.models import Account

PRIORITY_AGE = 80  # years on the visit day: seen before the others
SKIP_BEHIND = 3  # a skipped patient returns after this many waiting patients
_CALL_NEXT_ATTEMPTS = 10


class _QueueMoved(Exception):
    """Another desk changed the called ticket between our read and our lock."""


def queue_check_in(
    *,
    booking: Booking,
    checked_in_by: Account,
    disability: bool = False,
    now: datetime.datetime | None = None,
) -> QueueTicket:
    """Check the booking's patient in (booking's `booking_check_in`) and give them a
    place in their session's queue. Idempotent: a booking already in the queue gets its
    ticket back, unchanged.

    Priority: aged 80 or over on the visit day ("age"), else `disability`. Priority
    patients wait before the others, each group in queue-number order. A patient who
    arrives after their slot ended is `late`: they go to the end of the queue, with no
    priority move.

    Refusals are booking_check_in's: booking_cancelled_by_hospital (with
    `.alternatives`), booking_cancelled, not_checkable, not_today.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Locks the booking row first, then we take the session's queue lock.
        booking = booking_services.booking_check_in(
            booking=booking, checked_in_by=checked_in_by, now=now
        )
        session = _lock_session(booking.session_id)
        existing = QueueTicket.objects.filter(booking=booking).first()
        if existing is not None:
            return existing
        late = booking_services.arrived_late(booking)
        priority = QueueTicket.Priority.NONE
        if age_on(booking.patient.birth_date, booking.visit_date) >= PRIORITY_AGE:
            priority = QueueTicket.Priority.AGE
        elif disability:
            priority = QueueTicket.Priority.DISABILITY
        ticket = QueueTicket(
            booking=booking,
            session=session,
            room_id=session.room_id,
            number=booking.queue_number,
            position=0,
            priority=priority,
            late=late,
            checked_in_at=booking.checked_in_at or now,
            checked_in_by=checked_in_by,
        )
        waiting = _waiting(session)
        waiting.insert(_arrival_index(waiting, ticket), ticket)
        ticket.position = waiting.index(ticket) + 1
        ticket.save()
        _renumber(waiting)
        return ticket


def queue_call_next(
    *, session: Session, called_by: Account, now: datetime.datetime | None = None
) -> QueueTicket | None:
    """The patient being called (if any) is seen (done, booking completed) and the first
    waiting patient is called. Returns the newly called ticket, or None when nobody waits.

    Each press moves the queue on once: two desks pressing together call two patients
    in turn, never the same one, and never leave two called. The called patient's
    booking row is locked before the session (the lock order); if another desk moved
    the queue in between, the press starts again on the new state.

    Refusals: queue_busy (the queue kept moving under us), and booking_complete's.
    """
    now = now or timezone.now()
    for _attempt in range(_CALL_NEXT_ATTEMPTS):
        try:
            return _call_next_once(session=session, called_by=called_by, now=now)
        except _QueueMoved:
            continue
    raise QueueBusy()


@transaction.atomic
def _call_next_once(
    *, session: Session, called_by: Account, now: datetime.datetime
) -> QueueTicket | None:
    seen = _called(session.pk)
    if seen is not None:
        Booking.objects.select_for_update().get(pk=seen.booking_id)
    _lock_session(session.pk)
    current = _called(session.pk)
    if (current and current.pk) != (seen and seen.pk):
        raise _QueueMoved
    if current is not None:
        _finish(current, done_by=called_by, now=now)
    waiting = _waiting(session)
    if not waiting:
        return None
    ticket = waiting.pop(0)
    ticket.state = QueueTicket.State.CALLED
    ticket.calls += 1
    ticket.called_at = now
    ticket.save(update_fields=["state", "calls", "called_at"])
    _renumber(waiting)
    return ticket


@transaction.atomic
def queue_recall(
    *, ticket: QueueTicket, called_by: Account, now: datetime.datetime | None = None
) -> QueueTicket:
    """Call the patient being called once more (the board shows the number again).

    Refusals: ticket_not_called.
    """
    now = now or timezone.now()
    _lock_session(ticket.session_id)
    ticket = QueueTicket.objects.get(pk=ticket.pk)
    if ticket.state != QueueTicket.State.CALLED:
        raise TicketNotCalled()
    ticket.calls += 1
    ticket.called_at = now
    ticket.save(update_fields=["calls", "called_at"])
    return ticket


@transaction.atomic
def queue_skip(
    *, ticket: QueueTicket, skipped_by: Account, now: datetime.datetime | None = None
) -> QueueTicket:
    """A called (or waiting) patient who did not come waits again, behind the next
    three waiting patients (at the end when fewer wait), so they lose a little time
    but not their visit.

    Refusals: ticket_done.
    """
    _lock_session(ticket.session_id)
    ticket = QueueTicket.objects.get(pk=ticket.pk)
    if ticket.state == QueueTicket.State.DONE:
        raise TicketAlreadyDone()
    waiting = _waiting_for(ticket.session_id)
    start = 0
    if ticket.state == QueueTicket.State.WAITING:
        start = next(i for i, other in enumerate(waiting) if other.pk == ticket.pk)
        waiting.pop(start)
    waiting.insert(min(start + SKIP_BEHIND, len(waiting)), ticket)
    ticket.state = QueueTicket.State.WAITING
    ticket.skips += 1
    ticket.save(update_fields=["state", "skips"])
    _renumber(waiting)
    return ticket


def queue_done(
    *, ticket: QueueTicket, done_by: Account, now: datetime.datetime | None = None
) -> QueueTicket:
    """The called patient has been seen: the ticket is done and the booking completed.

    Refusals: ticket_not_called, and booking_complete's.
    """
    now = now or timezone.now()
    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=ticket.booking_id)
        _lock_session(ticket.session_id)
        ticket = QueueTicket.objects.get(pk=ticket.pk)
        if ticket.state != QueueTicket.State.CALLED:
            raise TicketNotCalled()
        _finish(ticket, done_by=done_by, now=now)
        return ticket


def _lock_session(session_id: int) -> Session:
    """The queue lock. Must be taken after any booking row the transaction locks."""
    return Session.objects.select_for_update().get(pk=session_id)


def _called(session_id: int) -> QueueTicket | None:
    return QueueTicket.objects.filter(session_id=session_id, state=QueueTicket.State.CALLED).first()


def _waiting(session: Session) -> list[QueueTicket]:
    return _waiting_for(session.pk)


def _waiting_for(session_id: int) -> list[QueueTicket]:
    """The session's waiting tickets in queue order. Call under the queue lock."""
    return list(
        QueueTicket.objects.filter(session_id=session_id, state=QueueTicket.State.WAITING).order_by(
            "position", "number"
        )
    )


def _arrival_index(waiting: list[QueueTicket], ticket: QueueTicket) -> int:
    """Where an arriving ticket joins the waiting list.

    A late ticket goes to the end. Any other goes before the first "in order" ticket
    (neither late nor skipped) that it precedes by (priority first, then number); with
    none, it goes behind everyone who is not late. Skipped and late tickets keep the
    place they were given.
    """
    if ticket.late:
        return len(waiting)
    key = _order_key(ticket)
    for index, other in enumerate(waiting):
        if not other.late and not other.skips and _order_key(other) > key:
            return index
    on_time = [i for i, other in enumerate(waiting) if not other.late]
    return on_time[-1] + 1 if on_time else 0


def _order_key(ticket: QueueTicket) -> tuple[int, int]:
    return (0 if ticket.priority else 1, ticket.number)


def _renumber(waiting: list[QueueTicket]) -> None:
    """Rewrite positions 1..n in list order (only the rows that moved)."""
    moved = []
    for position, ticket in enumerate(waiting, start=1):
        if ticket.position != position:
            ticket.position = position
            moved.append(ticket)
    if moved:
        QueueTicket.objects.bulk_update(moved, ["position"])


def _finish(ticket: QueueTicket, *, done_by: Account, now: datetime.datetime) -> None:
    """Called -> done; the booking is completed. Under the booking and queue locks."""
    booking_services.booking_complete(booking=ticket.booking, completed_by=done_by, now=now)
    ticket.state = QueueTicket.State.DONE
    ticket.done_at = now
    ticket.save(update_fields=["state", "done_at"])
