"""The release engine: places move to where patients are.

Three movements, none of which creates or destroys a place (invariant 2: the sum of a
slot's quota capacities is constant):

- a freed place (a cancellation, a reschedule away) is held back on its quota
  (`booked - 1, held + 1`) and offered to the session's waitlist; without a taker it
  returns to its quota after a random 0–60 minute delay (`held - 1`) — unless its
  channel was released (a closure with release in force, or the pre-session release
  done): then it follows the other released places to walk-in, at once when nobody
  waits, else when the waitlist did not take it;
- closing online or phone booking with release moves the unbooked places of the
  affected sessions to the same slots' walk-in quotas (`release_for_closure`);
- before each session the unbooked online and phone places move to walk-in
  (`release_due_sessions`);
- reopening a closure may move the released places still unbooked at walk-in back to
  their channels, for sessions far enough ahead (`release_return_for_closure`).

Every capacity move is recorded (clinics.CapacityChange, `ref` "release_run:<id>" or
"booking:<id>"), so a run's moves can be read back and undone exactly.

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

from booking import channels
from booking.models import Booking, Closure, HeldPlace, ReleaseRun, WaitlistEntry
from booking.selectors import policy_for_department
from clinics.models import CapacityChange, Channel, Quota, Session, Slot
from clinics.services import quota_capacity_move
from core.tasks import task_publish

logger = logging.getLogger(__name__)

# DESIGN.md: unbooked online and phone quota goes to walk-in 2 hours before the session.
PRE_SESSION_RELEASE_MINUTES = 120
# DESIGN.md: without a waitlist a freed place returns after a random 0–60 minute delay.
HOLD_MAX_SECONDS = 60 * 60

_random = secrets.SystemRandom()


# --- a freed place ---------------------------------------------------------------


def place_freed(*, booking: Booking, now: datetime.datetime) -> HeldPlace:
    """The place of `booking` was freed (cancelled or moved away): hold it back.

    Must be called inside the transaction that holds the booking's row lock, after its
    status changed. The place stays on its quota as `held` (neither bookable nor
    booked) until the waitlist takes it or `release_at` (now + random 0–60 minutes)
    passes; after commit the waitlist is offered the place. When the place's channel
    was released to walk-in (a closure with release, or the pre-session release) and
    nobody waits, it moves to walk-in at once. Refuses (RuntimeError) when the quota had
    nothing booked: the books would not balance.
    """
    released_by = channel_release_for(
        session_id=booking.session_id,
        slot_starts_at=booking.slot.starts_at,
        channel=booking.channel,
        now=now,
    )
    waiting = booking.channel in channels.PUBLIC and (
        WaitlistEntry.objects.filter(
            session_id=booking.session_id, status=WaitlistEntry.Status.WAITING
        ).exists()
    )
    if released_by is not None and not waiting:
        # The walk-in quota is locked too: both rows in primary-key order, first.
        _lock_slot_quotas(booking.slot_id, (booking.channel, Channel.WALKIN))
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
    if released_by is not None and not waiting:
        _held_place_to_walkin(held, released_by=released_by, now=now)
    elif waiting:
        held_id = held.pk
        transaction.on_commit(
            lambda: task_publish("booking.tasks.offer_freed_place_task", held_id), robust=True
        )
    return held


def channel_release_for(
    *, session_id: int, slot_starts_at: datetime.datetime, channel: str, now: datetime.datetime
) -> ReleaseRun | Session | None:
    """What released `channel`'s places of this session to walk-in, if anything: the
    release run of a closure with release in force now that covers the slot, or the
    session itself when its pre-session release is done. Two queries at most."""
    if channel not in channels.RELEASABLE:
        return None
    session = Session.objects.select_related("department").get(pk=session_id)
    if session.walkin_released_at is not None:
        return session
    closure = (
        Closure.objects.covering(session)
        .active_at(now)
        .closing(channel)
        # Walk-in closed too: the release moved nothing there, nor does a freed place.
        .filter(release_places=True, walkin=False, starts_at__lte=slot_starts_at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=slot_starts_at))
        .order_by("pk")
        .first()
    )
    if closure is None:
        return None
    return _run_for_closure(closure)


def _lock_slot_quotas(slot_id: int, channel_list: tuple[str, ...]) -> None:
    _ensure_walkin_quotas([slot_id])
    list(
        Quota.objects.select_for_update()
        .filter(slot_id=slot_id, channel__in=channel_list)
        .order_by("pk")
        .values_list("pk")
    )


def _held_place_to_walkin(
    held: HeldPlace, *, released_by: ReleaseRun | Session, now: datetime.datetime
) -> None:
    """Must be called inside a transaction holding the held place's row (or having just
    made it) and both quota rows. The place leaves its closed channel for walk-in."""
    quota = Quota.objects.only("slot_id").get(pk=held.quota_id)
    walkin_id = Quota.objects.values_list("pk", flat=True).get(
        slot_id=quota.slot_id, channel=Channel.WALKIN
    )
    if isinstance(released_by, ReleaseRun):
        reason, ref = CapacityChange.Reason.FREED_PLACE, f"release_run:{released_by.pk}"
        ReleaseRun.objects.filter(pk=released_by.pk).update(
            places_freed_moved=F("places_freed_moved") + 1
        )
    else:
        reason, ref = CapacityChange.Reason.PRE_SESSION_RELEASE, f"booking:{held.freed_by_id}"
    quota_capacity_move(
        from_quota_id=held.quota_id,
        to_quota_id=walkin_id,
        places=1,
        reason=reason,
        ref=ref,
        from_held=True,
    )
    held.released_at = now
    held.outcome = HeldPlace.Outcome.WALKIN
    held.save(update_fields=["released_at", "outcome"])


def held_place_return(*, held_place_id: int, now: datetime.datetime) -> bool:
    """A held place nobody on the waitlist took: back to its quota's pool (`held - 1`),
    or, when its channel was released meanwhile, on to walk-in like the other released
    places. Its own transaction: held place row, then the quota rows (primary-key
    order). Returns False when the place was already returned or taken.
    """
    with transaction.atomic():
        held = (
            HeldPlace.objects.select_for_update()
            .select_related("quota__slot")
            .filter(pk=held_place_id, released_at__isnull=True)
            .first()
        )
        if held is None:
            return False
        slot = held.quota.slot
        released_by = channel_release_for(
            session_id=slot.session_id,
            slot_starts_at=slot.starts_at,
            channel=held.quota.channel,
            now=now,
        )
        if released_by is not None:
            _lock_slot_quotas(slot.pk, (held.quota.channel, Channel.WALKIN))
            _held_place_to_walkin(held, released_by=released_by, now=now)
            return True
        returned = Quota.objects.filter(pk=held.quota_id, held__gt=0).update(held=F("held") - 1)
        if returned != 1:
            raise RuntimeError(f"quota {held.quota_id} had no held place to return")
        held.released_at = now
        held.outcome = HeldPlace.Outcome.RETURNED
        held.save(update_fields=["released_at", "outcome"])
    return True


def held_places_due(*, now: datetime.datetime, limit: int = 500) -> list[int]:
    return list(
        HeldPlace.objects.filter(released_at__isnull=True, release_at__lte=now)
        .order_by("release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- moving capacity to walk-in --------------------------------------------------


def _ensure_walkin_quotas(slot_ids: list[int]) -> None:
    """Every slot gets a walk-in quota (capacity 0) to receive released places."""
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


def _move_to_walkin(
    *, slot_ids: list[int], channel_list: tuple[str, ...], reason: str, ref: str
) -> int:
    """Move every unbooked place of `channel_list` in these slots to the slot's walk-in
    quota, recording each move with `reason` and `ref`.

    Must be called inside a transaction; takes the slots' quota row locks in primary-key
    order (creating a missing walk-in quota with capacity 0 first). Returns the places
    moved. Capacity only moves: each slot's total is unchanged.
    """
    if not slot_ids:
        return 0
    _ensure_walkin_quotas(slot_ids)
    quotas = list(
        Quota.objects.select_for_update()
        .filter(slot_id__in=slot_ids, channel__in=(*channel_list, Channel.WALKIN))
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
        quota_capacity_move(
            from_quota_id=quota.pk,
            to_quota_id=walkin[quota.slot_id].pk,
            places=free,
            reason=reason,
            ref=ref,
        )
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
        moved = _move_to_walkin(
            slot_ids=slot_ids,
            channel_list=channels.RELEASABLE,
            reason=CapacityChange.Reason.PRE_SESSION_RELEASE,
            ref=f"session:{session.pk}",
        )
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
    released = tuple(c for c in closure.channels() if c in channels.RELEASABLE)
    releasing = (
        closure.release_places and released and not closure.walkin and closure.reopened_at is None
    )
    try:
        if releasing:
            for session_id, slot_ids in _closure_sessions(closure, now=now, after=run.cursor):
                if not _release_one_session(run.pk, closure.pk, session_id, slot_ids, released):
                    break  # reopened meanwhile: move nothing more
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
    reopened are left alone, except that an unfinished return on reopening is resumed."""
    now = now or timezone.now()
    pending = (
        Closure.objects.filter(release_places=True, reopened_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .exclude(release_runs__status=ReleaseRun.Status.DONE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    runs = [release_for_closure(closure_id=closure_id, now=now) for closure_id in pending]
    # Reopened with return_places, and the return not finished (a lost task).
    returning = (
        Closure.objects.filter(return_places=True, release_runs__returned_at__isnull=True)
        .filter(release_runs__kind=ReleaseRun.Kind.CLOSURE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for closure_id in returning:
        release_return_for_closure(closure_id=closure_id, now=now)
    return runs


def release_return_for_closure(
    *, closure_id: int, now: datetime.datetime | None = None
) -> ReleaseRun | None:
    """A closure reopened with `return_places`: move the places its release moved to
    walk-in back to their channels, as far as walk-in has not booked them, for sessions
    far enough ahead (open, not yet pre-session released, starting after the
    pre-session release time). Nearer sessions keep them at walk-in: the desk may be
    using them.

    What to give back is read from the run's recorded moves (CapacityChange rows with
    ref "release_run:<id>"), less what earlier returns gave. One transaction per session
    under the run's row lock, resumable by `return_cursor`; `returned_at` marks the end.
    Returns the run, or None when the closure released nothing.
    """
    now = now or timezone.now()
    run = ReleaseRun.objects.filter(kind=ReleaseRun.Kind.CLOSURE, closure_id=closure_id).first()
    if run is None or run.returned_at is not None:
        return run
    ref = f"release_run:{run.pk}"
    session_ids = sorted(
        set(
            CapacityChange.objects.filter(ref=ref, delta__lt=0)
            .filter(quota__slot__session_id__gt=run.return_cursor)
            .values_list("quota__slot__session_id", flat=True)
        )
    )
    for session_id in session_ids:
        _return_one_session(run.pk, session_id, ref=ref, now=now)
    ReleaseRun.objects.filter(pk=run.pk).update(returned_at=timezone.now())
    run.refresh_from_db()
    logger.info("release run %s: %s places moved back", run.pk, run.places_returned)
    return run


def _return_one_session(run_id: int, session_id: int, *, ref: str, now: datetime.datetime) -> None:
    with transaction.atomic():
        run = ReleaseRun.objects.select_for_update().get(pk=run_id)
        if run.return_cursor >= session_id:
            return
        far_enough = Session.objects.filter(
            pk=session_id,
            status=Session.Status.OPEN,
            walkin_released_at__isnull=True,
            starts_at__gt=now + datetime.timedelta(minutes=PRE_SESSION_RELEASE_MINUTES),
        ).exists()
        returned = _give_back(session_id, ref=ref) if far_enough else 0
        run.return_cursor = session_id
        run.places_returned += returned
        run.save(update_fields=["return_cursor", "places_returned"])


def _give_back(session_id: int, *, ref: str) -> int:
    """Must be called inside a transaction. Locks the session's quota rows (primary-key
    order) and moves back, per source quota, what the run moved out and no return gave
    back yet, as far as the walk-in quota has unbooked places."""
    owed: dict[int, int] = {}
    for quota_id, delta, reason in CapacityChange.objects.filter(
        ref=ref, quota__slot__session_id=session_id
    ).values_list("quota_id", "delta", "reason"):
        if reason == CapacityChange.Reason.CLOSURE_RETURN:
            if delta > 0:  # given back to this quota already
                owed[quota_id] = owed.get(quota_id, 0) - delta
        elif delta < 0:  # moved out of this quota by the release
            owed[quota_id] = owed.get(quota_id, 0) - delta
    quotas = list(
        Quota.objects.select_for_update().filter(slot__session_id=session_id).order_by("pk")
    )
    walkin = {q.slot_id: q for q in quotas if q.channel == Channel.WALKIN}
    total = 0
    for quota in quotas:
        due = owed.get(quota.pk, 0)
        target = walkin.get(quota.slot_id)
        if due <= 0 or target is None:
            continue
        places = min(due, target.capacity - target.booked - target.held)
        if places <= 0:
            continue
        quota_capacity_move(
            from_quota_id=target.pk,
            to_quota_id=quota.pk,
            places=places,
            reason=CapacityChange.Reason.CLOSURE_RETURN,
            ref=ref,
        )
        target.capacity -= places
        total += places
    return total


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
    run_id: int,
    closure_id: int,
    session_id: int,
    slot_ids: list[int],
    channel_list: tuple[str, ...],
) -> bool:
    """One session's release, under the run's row lock (which the return on reopening
    takes too). False when the closure was reopened meanwhile: nothing moved."""
    with transaction.atomic():
        run = ReleaseRun.objects.select_for_update().get(pk=run_id)
        if Closure.objects.filter(pk=closure_id, reopened_at__isnull=False).exists():
            return False
        if run.cursor >= session_id:
            return True  # a twin run did this session while we waited for the lock
        if not Session.objects.filter(pk=session_id, status=Session.Status.OPEN).exists():
            moved = 0
        else:
            moved = _move_to_walkin(
                slot_ids=slot_ids,
                channel_list=channel_list,
                reason=CapacityChange.Reason.CLOSURE_RELEASE,
                ref=f"release_run:{run.pk}",
            )
        run.cursor = session_id
        run.places_moved += moved
        run.sessions_touched += 1 if moved else 0
        run.save(update_fields=["cursor", "places_moved", "sessions_touched"])
    return True


def _closure_sessions(closure: Closure, *, now: datetime.datetime, after: int):
    """(session id, [slot ids]) in session primary-key order, after the cursor."""
    sessions = Session.objects.filter(closure.session_q(), status=Session.Status.OPEN, pk__gt=after)
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
