"""The waitlist [候补]: joining, leaving, its limits and closing time, and freed places."""

import datetime

import pytest

from booking import services
from booking.models import Booking, HeldPlace, WaitlistEntry
from booking.selectors import waitlist_closes_at, waitlist_position
from clinics.models import Channel, Quota, Session
from notifications.models import OutboxMessage
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.helpers import assert_books_balance, capacity_per_slot
from tests.booking.test_create import book, refused, slot_in

pytestmark = pytest.mark.django_db


def full_slot(days: int = 1, **kwargs):
    """A slot whose one online place is booked by someone else."""
    slot = slot_in(days, online=1, **kwargs)
    book(factories.PatientFactory(), slot)
    return slot


def join(patient, slot_or_session, *, by=None) -> WaitlistEntry:
    session = getattr(slot_or_session, "session", slot_or_session)
    return services.waitlist_join(
        patient=patient, session=session, requested_by=by or patient.account
    )


def test_join_a_full_session_in_order(clock, patient):
    slot = full_slot()
    first = join(patient, slot)
    second = join(factories.PatientFactory(), slot)

    assert first.status == WaitlistEntry.Status.WAITING
    assert first.requested_by == patient.account
    assert (waitlist_position(entry=first), waitlist_position(entry=second)) == (1, 2)
    assert OutboxMessage.objects.filter(kind__startswith="waitlist").count() == 0


def test_staff_join_for_a_phone_caller(clock, patient, staff):
    entry = join(patient, full_slot(), by=staff)
    assert entry.requested_by == staff


def test_join_refused_while_the_session_has_online_places(clock, patient):
    slot = slot_in(1, online=2)
    book(factories.PatientFactory(), slot)
    refused("session_has_places", lambda: join(patient, slot))


def test_a_held_place_is_no_online_place(clock, patient):
    slot = slot_in(1, online=1)
    booking = book(factories.PatientFactory(), slot)
    services.booking_cancel(booking=booking, requested_by=booking.patient.account)
    assert join(patient, slot).status == WaitlistEntry.Status.WAITING


def test_join_twice_is_refused(clock, patient):
    slot = full_slot()
    join(patient, slot)
    refused("already_waitlisted", lambda: join(patient, slot))


def test_at_most_three_waiting_entries(clock, patient):
    slots = [full_slot(department=factories.DepartmentFactory()) for _ in range(4)]
    for slot in slots[:3]:
        join(patient, slot)
    error = refused("waitlist_limit", lambda: join(patient, slots[3]))
    assert "3" in error.detail
    # leaving one frees a place on the list
    services.waitlist_leave(
        entry=WaitlistEntry.objects.filter(patient=patient).first(),
        requested_by=patient.account,
    )
    assert join(patient, slots[3]).status == WaitlistEntry.Status.WAITING


def test_waitlist_closes_at_20_the_day_before(clock, patient):
    slot = full_slot(1)
    assert waitlist_closes_at(session=slot.session) == datetime.datetime(
        2026, 11, 23, 20, 0, tzinfo=SHANGHAI
    )
    clock.move_to(NOW.replace(hour=19, minute=59))
    assert join(patient, slot).status == WaitlistEntry.Status.WAITING

    clock.move_to(NOW.replace(hour=20, minute=0))
    refused("waitlist_closed", lambda: join(factories.PatientFactory(), slot))


def test_close_due_closes_tomorrows_entries_at_20(clock, patient):
    tomorrow = join(patient, full_slot(1))
    later = join(patient, full_slot(2))

    clock.move_to(NOW.replace(hour=19, minute=59))
    assert services.waitlist_close_due() == 0
    clock.move_to(NOW.replace(hour=20, minute=0))
    assert services.waitlist_close_due() == 1
    assert services.waitlist_close_due() == 0

    tomorrow.refresh_from_db()
    later.refresh_from_db()
    assert (tomorrow.status, tomorrow.closed_at) == (
        WaitlistEntry.Status.CLOSED,
        NOW.replace(hour=20),
    )
    assert later.status == WaitlistEntry.Status.WAITING
    assert waitlist_position(entry=tomorrow) == 0


@pytest.mark.parametrize(
    ("code", "setup"),
    [
        ("not_your_patient", lambda p, s: {"by": factories.AccountFactory()}),
        ("patient_suspended", lambda p, s: _suspend(p)),
        ("session_stopped", lambda p, s: _stop(s)),
        ("already_booked_session", lambda p, s: _book_other_slot(p, s)),
        ("duplicate_department_day", lambda p, s: _book_same_department_day(p, s)),
        ("outside_window", None),
    ],
)
def test_join_obeys_the_booking_rules(clock, patient, code, setup):
    slot = slot_in(8, online=0) if code == "outside_window" else full_slot(1)
    kwargs = (setup(patient, slot) if setup else None) or {}
    refused(code, lambda: join(patient, slot, **kwargs))


def _suspend(patient):
    patient.suspended_until = NOW.date() + datetime.timedelta(days=30)
    patient.save(update_fields=["suspended_until"])


def _stop(slot):
    Session.objects.filter(pk=slot.session_id).update(status=Session.Status.STOPPED)


def _book_other_slot(patient, slot):
    other = factories.slot_with_quotas(
        session=slot.session, starts_at=slot.starts_at + datetime.timedelta(minutes=30), online=1
    )
    book(patient, other)


def _book_same_department_day(patient, slot):
    other = factories.slot_with_quotas(
        session=factories.SessionFactory(
            doctor__department=slot.session.department,
            date=slot.session.date,
            half_day="afternoon",
            starts_at=slot.starts_at + datetime.timedelta(hours=6),
        ),
        online=1,
    )
    book(patient, other)


def test_leave(clock, patient):
    slot = full_slot()
    entry = join(patient, slot)
    behind = join(factories.PatientFactory(), slot)

    left = services.waitlist_leave(entry=entry, requested_by=patient.account)

    assert left.status == WaitlistEntry.Status.LEFT
    assert left.closed_at == NOW
    assert waitlist_position(entry=behind) == 1
    assert services.waitlist_leave(entry=entry, requested_by=patient.account).status == "left"
    refused(
        "not_your_patient",
        lambda: services.waitlist_leave(entry=behind, requested_by=patient.account),
    )
    # and may join again
    assert join(patient, slot).status == WaitlistEntry.Status.WAITING


def test_leave_a_booked_entry_is_refused(clock, patient):
    slot = full_slot()
    entry = join(patient, slot)
    taken = book(factories.PatientFactory(), slot_in(1, online=1))
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        status=WaitlistEntry.Status.BOOKED, booking=taken
    )
    refused(
        "waitlist_not_waiting",
        lambda: services.waitlist_leave(entry=entry, requested_by=patient.account),
    )


# --- a freed place goes to the waitlist first ----------------------------------------


def test_freed_place_books_the_first_eligible_entry_and_tells_them(
    clock, django_capture_on_commit_callbacks
):
    slot = slot_in(1, online=1)
    holder = book(factories.PatientFactory(), slot)
    suspended, first_eligible, last = (factories.PatientFactory() for _ in range(3))
    skipped = join(suspended, slot)
    taker = join(first_eligible, slot)
    waiting = join(last, slot)
    _suspend(suspended)  # suspended after joining: skipped, not deleted
    totals = capacity_per_slot()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=holder, requested_by=holder.patient.account)

    taker.refresh_from_db()
    booking = taker.booking
    assert taker.status == WaitlistEntry.Status.BOOKED
    assert (booking.patient, booking.slot, booking.channel) == (first_eligible, slot, "online")
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.queue_number == 2
    assert booking.idempotency_key == f"waitlist:{taker.pk}"
    skipped.refresh_from_db()
    waiting.refresh_from_db()
    assert skipped.status == waiting.status == WaitlistEntry.Status.WAITING
    assert (waitlist_position(entry=skipped), waitlist_position(entry=waiting)) == (1, 2)
    online = Quota.objects.get(slot=slot, channel=Channel.ONLINE)
    assert (online.capacity, online.booked, online.held) == (1, 1, 0)
    assert HeldPlace.objects.get().released_at == NOW
    message = OutboxMessage.objects.get(kind="waitlist_booked")
    assert message.dedupe_key == f"booking:{booking.pk}:waitlist_booked"
    assert message.account_id == first_eligible.account_id
    assert set(message.context) == {
        "code",
        "patient",
        "department",
        "doctor",
        "when",
        "queue_number",
    }
    assert message.context["code"] == booking.code
    assert capacity_per_slot() == totals
    assert_books_balance()

    # the offer running again (acks late) changes nothing
    assert services.held_place_offer(held_place_id=HeldPlace.objects.get().pk) is None
    assert OutboxMessage.objects.filter(kind="waitlist_booked").count() == 1


def test_freed_place_with_only_ineligible_entries_stays_held_then_returns(clock):
    slot = slot_in(1, online=1)
    holder = book(factories.PatientFactory(), slot)
    patient = factories.PatientFactory()
    entry = join(patient, slot)
    book(patient, slot_in(1, hour=14, online=1))  # now has a booking that day elsewhere...
    other_department = factories.DepartmentFactory()
    book(patient, slot_in(1, department=other_department, hour=15))  # ...and the daily limit

    held_at = services.booking_cancel(booking=holder, requested_by=holder.patient.account)
    held = HeldPlace.objects.get(freed_by=held_at)
    assert services.held_place_offer(held_place_id=held.pk) is None

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).held == 1
    clock.move_to(held.release_at)
    assert services.held_places_settle() == {"offered": 0, "returned": 1}
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).held == 0
    assert_books_balance()


def test_a_lost_offer_is_made_by_the_settle_beat(clock):
    slot = slot_in(1, online=1)
    holder = book(factories.PatientFactory(), slot)
    patient = factories.PatientFactory()
    entry = join(patient, slot)
    services.booking_cancel(booking=holder, requested_by=holder.patient.account)  # no commit
    held = HeldPlace.objects.get()

    clock.move_to(held.release_at)
    assert services.held_places_settle() == {"offered": 1, "returned": 0}

    entry.refresh_from_db()
    assert entry.booking.patient == patient
    assert_books_balance()


def test_joining_after_the_cancel_does_not_take_the_freed_place(clock):
    slot = slot_in(1, online=1)
    holder = book(factories.PatientFactory(), slot)
    services.booking_cancel(booking=holder, requested_by=holder.patient.account)
    clock.move_to(NOW + datetime.timedelta(seconds=1))
    late = join(factories.PatientFactory(), slot)

    assert services.held_place_offer(held_place_id=HeldPlace.objects.get().pk) is None
    late.refresh_from_db()
    assert late.status == WaitlistEntry.Status.WAITING


def test_freed_place_of_a_session_whose_waitlist_closed_is_not_offered(clock):
    slot = slot_in(1, online=1)
    holder = book(factories.PatientFactory(), slot)
    entry = join(factories.PatientFactory(), slot)
    clock.move_to(NOW.replace(hour=20, minute=30))
    services.booking_cancel(booking=holder, requested_by=holder.patient.account)

    assert services.held_place_offer(held_place_id=HeldPlace.objects.get().pk) is None
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING  # the beat closes it


def test_cancel_publishes_the_offer_only_when_someone_waits(
    clock, django_capture_on_commit_callbacks, monkeypatch
):
    from booking.services import release

    published = []
    monkeypatch.setattr(release, "task_publish", lambda name, *args: published.append(args[0]))
    slot = slot_in(1, online=2)
    nobody, somebody = (book(factories.PatientFactory(), slot) for _ in range(2))

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=nobody, requested_by=nobody.patient.account)
    assert published == []

    join(factories.PatientFactory(), slot)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=somebody, requested_by=somebody.patient.account)
    assert published == [HeldPlace.objects.get(freed_by=somebody).pk]


def test_join_refused_while_the_channel_is_closed(clock, patient):
    from booking.models import Closure

    slot = full_slot()
    Closure.objects.create(
        scope=Closure.Scope.HOSPITAL,
        online=True,
        starts_at=NOW,
        ends_at=NOW + datetime.timedelta(hours=2),
        reason=Closure.Reason.MAINTENANCE,
        notice="系统维护",
        notice_en="Maintenance",
    )
    refused("channel_closed", lambda: join(patient, slot))
