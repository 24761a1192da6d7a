"""The release engine: places move to where patients are.

Three movements, none of which creates or destroys a place (invariant 2: the sum of a
slot's quota capacities is constant):

- a freed place (a cancellation, a reschedule away) is held back on its quota
  (`booked - 1, held + 1`) and offered to the session's waitlist; without a taker it
  returns to its quota after a random 0–60 minute delay (`held - 1`);
- closing online or phone booking with release moves the unbooked places of the
  affected sessions to the same slots' walk-in quotas (`release_for_closure`);
- before each session the unbooked online and phone places move to walk-in
  (`release_due_sessions`).

Capacity moves between two quota rows of one slot in one transaction, with the slot's
quota rows locked in primary-key order and conditional UPDATEs. Lock order, as in
`bookings`: patient, booking, quota (by primary key), session.
"""

import datetime
import logging
import secrets

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from booking.models import Booking, Closure, HeldPlace, ReleaseRun, WaitlistEntry
from booking.selectors import policy_for_department
from clinics.models import Channel, Quota, Session, Slot

logger = logging.getLogger(__name__)

# DESIGN.md: unbooked online and phone quota goes to walk-in 2 hours before the session.
PRE_SESSION_RELEASE_MINUTES = 120
# DESIGN.md: without a waitlist a freed place returns after a random 0–60 minute delay.
HOLD_MAX_SECONDS = 60 * 60
# Channels whose unbooked places move to walk-in.
RELEASABLE_CHANNELS = (Channel.ONLINE, Channel.PHONE)

_random = secrets.SystemRandom()


# --- a freed place ---------------------------------------------------------------


def place_freed(*, booking: Booking, now: datetime.datetime) -> HeldPlace:
    """The place of `booking` was freed (cancelled or moved away): hold it back.

    Must be called inside the transaction that holds the booking's row lock, after its
    status changed. The place stays on its quota as `held` (neither bookable nor
    booked) until the waitlist takes it or `release_at` (now + random 0–60 minutes)
    passes. After commit the waitlist is offered the place. Refuses (RuntimeError) when
    the quota had nothing booked: the books would not balance.
    """
    moved = Quota.objects.filter(
        slot_id=booking.slot_id, channel=booking.channel, booked__gt=0
    ).update(booked=F("booked") - 1, held=F("held") + 1)
    if moved != 1:
        raise RuntimeError(f"quota of booking {booking.pk} had no place to release")
    quota_id = Quota.objects.values_list("pk", flat=True).get(
        slot_id=booking.slot_id, channel=booking.channel
    )
    held = HeldPlace.objects.create(
        quota_id=quota_id,
        freed_by=booking,
        release_at=now + datetime.timedelta(seconds=_random.randint(0, HOLD_MAX_SECONDS)),
    )
    if booking.channel in RELEASABLE_CHANNELS and (
        WaitlistEntry.objects.filter(
            session_id=booking.session_id, status=WaitlistEntry.Status.WAITING
        ).exists()
    ):
        held_id = held.pk
        transaction.on_commit(lambda: _publish_offer(held_id), robust=True)
    return held


def _publish_offer(held_place_id: int) -> None:
    # The beat's settle of due held places offers again whatever a lost task missed.
    from booking.tasks import offer_freed_place_task

    offer_freed_place_task.delay(held_place_id)


def held_place_return(*, held_place_id: int, now: datetime.datetime) -> bool:
    """Return a held place to its quota's pool (`held - 1`; capacity and booked unchanged).

    Its own transaction: held place row, then the quota (a conditional UPDATE). Returns
    False when the place was already returned or taken from the waitlist.
    """
    with transaction.atomic():
        held = (
            HeldPlace.objects.select_for_update()
            .filter(pk=held_place_id, released_at__isnull=True)
            .first()
        )
        if held is None:
            return False
        returned = Quota.objects.filter(pk=held.quota_id, held__gt=0).update(held=F("held") - 1)
        if returned != 1:
            raise RuntimeError(f"quota {held.quota_id} had no held place to return")
        held.released_at = now
        held.save(update_fields=["released_at"])
    return True


def held_places_due(*, now: datetime.datetime, limit: int = 500) -> list[int]:
    return list(
        HeldPlace.objects.filter(released_at__isnull=True, release_at__lte=now)
        .order_by("release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- moving capacity to walk-in --------------------------------------------------


def _move_to_walkin(*, slot_ids: list[int], channels: tuple[str, ...]) -> int:
    """Move every unbooked place of `channels` in these slots to the slot's walk-in quota.

    Must be called inside a transaction; takes the slots' quota row locks in primary-key
    order (creating a missing walk-in quota with capacity 0 first). Returns the places
    moved. Capacity only moves: each slot's total is unchanged.
    """
    if not slot_ids:
        return 0
    have_walkin = set(
        Quota.objects.filter(slot_id__in=slot_ids, channel=Channel.WALKIN).values_list(
            "slot_id", flat=True
        )
    )
    for slot_id in sorted(set(slot_ids) - have_walkin):
        try:
            with transaction.atomic():
                Quota.objects.create(slot_id=slot_id, channel=Channel.WALKIN, capacity=0)
        except IntegrityError:
            pass  # a concurrent release created it: use that one
    quotas = list(
        Quota.objects.select_for_update()
        .filter(slot_id__in=slot_ids, channel__in=(*channels, Channel.WALKIN))
        .order_by("pk")
    )
    walkin = {q.slot_id: q for q in quotas if q.channel == Channel.WALKIN}
    total = 0
    for quota in quotas:
        if quota.channel == Channel.WALKIN:
            continue
        free = quota.capacity - quota.booked - quota.held
        if free <= 0:
            continue
        taken = Quota.objects.filter(
            pk=quota.pk, capacity__gte=F("booked") + F("held") + free
        ).update(capacity=F("capacity") - free)
        if taken != 1:
            raise RuntimeError(f"quota {quota.pk} changed under its row lock")
        Quota.objects.filter(pk=walkin[quota.slot_id].pk).update(capacity=F("capacity") + free)
        total += free
    return total


def session_release_to_walkin(*, session: Session, now: datetime.datetime) -> int | None:
    """Pre-session release of one session: its unbooked online and phone places go to
    walk-in, once. Returns the places moved, or None if the session was already released
    (or is no longer open).

    One transaction: the quota rows (primary-key order), then the session's conditional
    UPDATE `walkin_released_at IS NULL`; if another worker won, everything rolls back.
    """
    with transaction.atomic():
        slot_ids = list(Slot.objects.filter(session_id=session.pk).values_list("pk", flat=True))
        moved = _move_to_walkin(slot_ids=slot_ids, channels=RELEASABLE_CHANNELS)
        claimed = Session.objects.filter(
            pk=session.pk, status=Session.Status.OPEN, walkin_released_at__isnull=True
        ).update(walkin_released_at=now)
        if not claimed:
            transaction.set_rollback(True)
            return None
    return moved


def sessions_due_for_release(*, now: datetime.datetime) -> QuerySet[Session]:
    """Open sessions starting within PRE_SESSION_RELEASE_MINUTES, not over, not yet released."""
    return Session.objects.filter(
        status=Session.Status.OPEN,
        walkin_released_at__isnull=True,
        starts_at__lte=now + datetime.timedelta(minutes=PRE_SESSION_RELEASE_MINUTES),
        ends_at__gt=now,
    ).order_by("pk")


def release_due_sessions(*, now: datetime.datetime | None = None) -> ReleaseRun | None:
    """Beat (every 5 minutes): the pre-session release of every due session.

    Writes a ReleaseRun only when some session is due. Safe to run twice and
    concurrently: each session is released once (Session.walkin_released_at).
    """
    now = now or timezone.now()
    due = list(sessions_due_for_release(now=now).values_list("pk", flat=True))
    if not due:
        return None
    run = ReleaseRun.objects.create(
        kind=ReleaseRun.Kind.PRE_SESSION, status=ReleaseRun.Status.RUNNING, started_at=now
    )
    try:
        for session in Session.objects.filter(pk__in=due).order_by("pk"):
            moved = session_release_to_walkin(session=session, now=now)
            ReleaseRun.objects.filter(pk=run.pk).update(
                cursor=session.pk,
                places_moved=F("places_moved") + (moved or 0),
                sessions_touched=F("sessions_touched") + (1 if moved else 0),
            )
    except Exception as exc:
        _fail(run, exc)
        raise
    ReleaseRun.objects.filter(pk=run.pk).update(
        status=ReleaseRun.Status.DONE, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


# --- a closure with release ------------------------------------------------------


def release_for_closure(*, closure_id: int, now: datetime.datetime | None = None) -> ReleaseRun:
    """Move the unbooked places of the closed online/phone channels to walk-in, for every
    open session in the closure's scope whose slots start inside its window (in the
    future and at most the booking window ahead).

    One transaction per session, sessions in primary-key order; `ReleaseRun.cursor` is
    the last session done, so a rerun after a failure continues where it stopped, and a
    finished run moves nothing more (one run per closure). Runs twice at once are
    serialised on the run's row lock. Nothing to move (no release asked, the closure was
    reopened, walk-in closed too) finishes the run with 0 places.
    """
    now = now or timezone.now()
    closure = Closure.objects.select_related("department", "doctor", "session").get(pk=closure_id)
    run = _run_for_closure(closure)
    if run.status == ReleaseRun.Status.DONE:
        return run
    ReleaseRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=now)
    ReleaseRun.objects.filter(pk=run.pk).exclude(status=ReleaseRun.Status.DONE).update(
        status=ReleaseRun.Status.RUNNING, error=""
    )
    channels = tuple(c for c in closure.channels() if c in RELEASABLE_CHANNELS)
    releasing = (
        closure.release_places and channels and not closure.walkin and closure.reopened_at is None
    )
    try:
        if releasing:
            for session_id, slot_ids in _closure_sessions(closure, now=now, after=run.cursor):
                _release_one_session(run.pk, session_id, slot_ids, channels)
    except Exception as exc:
        _fail(run, exc)
        raise
    ReleaseRun.objects.filter(pk=run.pk).update(
        status=ReleaseRun.Status.DONE, finished_at=timezone.now()
    )
    run.refresh_from_db()
    logger.info(
        "release run %s: %s places, %s sessions", run.pk, run.places_moved, run.sessions_touched
    )
    return run


def release_closures_pending(*, now: datetime.datetime | None = None) -> list[ReleaseRun]:
    """Beat: run (or resume) the release of every closure that asked for one and whose
    run is missing, failed or interrupted — a lost task or a broker outage when the
    closure was saved delays its release, never drops it. Closures already ended or
    reopened are left alone."""
    now = now or timezone.now()
    pending = (
        Closure.objects.filter(release_places=True, reopened_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .exclude(release_runs__status=ReleaseRun.Status.DONE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [release_for_closure(closure_id=closure_id, now=now) for closure_id in pending]


def _run_for_closure(closure: Closure) -> ReleaseRun:
    run = ReleaseRun.objects.filter(kind=ReleaseRun.Kind.CLOSURE, closure=closure).first()
    if run is not None:
        return run
    try:
        with transaction.atomic():
            return ReleaseRun.objects.create(kind=ReleaseRun.Kind.CLOSURE, closure=closure)
    except IntegrityError:  # a twin task created it first
        return ReleaseRun.objects.get(kind=ReleaseRun.Kind.CLOSURE, closure=closure)


def _release_one_session(
    run_id: int, session_id: int, slot_ids: list[int], channels: tuple[str, ...]
) -> None:
    with transaction.atomic():
        run = ReleaseRun.objects.select_for_update().get(pk=run_id)
        if run.cursor >= session_id:
            return  # a twin run did this session while we waited for the lock
        if not Session.objects.filter(pk=session_id, status=Session.Status.OPEN).exists():
            moved = 0
        else:
            moved = _move_to_walkin(slot_ids=slot_ids, channels=channels)
        run.cursor = session_id
        run.places_moved += moved
        run.sessions_touched += 1 if moved else 0
        run.save(update_fields=["cursor", "places_moved", "sessions_touched"])


def _closure_sessions(closure: Closure, *, now: datetime.datetime, after: int):
    """(session id, [slot ids]) in session primary-key order, after the cursor."""
    sessions = Session.objects.filter(status=Session.Status.OPEN, pk__gt=after)
    if closure.scope == Closure.Scope.DEPARTMENT:
        sessions = sessions.filter(
            Q(department=closure.department) | Q(department__parent=closure.department)
        )
    elif closure.scope == Closure.Scope.DOCTOR:
        sessions = sessions.filter(doctor=closure.doctor)
    elif closure.scope == Closure.Scope.SESSION:
        sessions = sessions.filter(pk=closure.session_id)
    slots = Slot.objects.filter(
        session__in=sessions, starts_at__gte=closure.starts_at, starts_at__gt=now
    )
    if closure.ends_at is not None:
        slots = slots.filter(starts_at__lt=closure.ends_at)
    rows = list(
        slots.order_by("session_id", "pk").values_list(
            "session_id", "pk", "session__date", "session__department_id"
        )
    )
    today = timezone.localdate(now)
    windows: dict[int, int] = {}
    current: int | None = None
    slot_ids: list[int] = []
    for session_id, slot_id, date, department_id in rows:
        if department_id not in windows:
            department = Session.objects.get(pk=session_id).department
            windows[department_id] = policy_for_department(department).window_days
        if date > today + datetime.timedelta(days=windows[department_id]):
            continue
        if session_id != current:
            if current is not None:
                yield current, slot_ids
            current, slot_ids = session_id, []
        slot_ids.append(slot_id)
    if current is not None:
        yield current, slot_ids


def _fail(run: ReleaseRun, exc: Exception) -> None:
    ReleaseRun.objects.filter(pk=run.pk).update(
        status=ReleaseRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:500]
    )
