"""The release engine: closures, the pre-session release, freed places held back."""

import datetime

import pytest
from django.urls import reverse

from booking import services
from booking.models import Booking, Closure, HeldPlace, ReleaseRun
from booking.selectors import release_run_summary
from booking.services import release
from clinics.models import Channel, Quota, Session
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, capacity_per_slot, snapshot
from tests.booking.test_create import book, refused, slot_in

pytestmark = pytest.mark.django_db


def closure(**fields) -> Closure:
    defaults = {
        "scope": Closure.Scope.HOSPITAL,
        "online": True,
        "starts_at": NOW,
        "ends_at": NOW + datetime.timedelta(days=3),
        "reason": Closure.Reason.CAPACITY,
        "notice": "网上预约暂停",
        "notice_en": "Online booking paused",
        "release_places": True,
    }
    return Closure.objects.create(**(defaults | fields))


def quota(slot, channel: str) -> Quota:
    return Quota.objects.get(slot=slot, channel=channel)


def later_slot(slot, minutes: int = 30, **quotas):
    return factories.slot_with_quotas(
        session=slot.session,
        starts_at=slot.starts_at + datetime.timedelta(minutes=minutes),
        **quotas,
    )


# --- a closure with release ---------------------------------------------------------


def test_closure_release_moves_exactly_the_unbooked_places(clock, staff):
    department = factories.DepartmentFactory()
    first = slot_in(1, department=department, online=5, phone=2, walkin=1)
    second = later_slot(first, online=4)  # no walk-in quota row yet
    other = slot_in(2, department=department, hour=14, online=3, phone=1, walkin=0)
    elsewhere = slot_in(1, online=3, walkin=1)  # another department: untouched
    for _ in range(2):
        book(factories.PatientFactory(), first)
    book(factories.PatientFactory(), first, channel=Channel.PHONE, by=staff)
    cancelled = book(factories.PatientFactory(), other)
    services.booking_cancel(
        booking=cancelled, requested_by=staff, reason="患者来电取消"
    )  # held back: not moved
    totals = capacity_per_slot()

    run = release.release_for_closure(
        closure_id=closure(scope=Closure.Scope.DEPARTMENT, department=department, phone=True).pk
    )

    assert run.status == ReleaseRun.Status.DONE
    assert (quota(first, "online").capacity, quota(first, "phone").capacity) == (2, 1)
    assert quota(first, "walkin").capacity == 1 + 3 + 1
    assert quota(second, "online").capacity == 0
    assert quota(second, "walkin").capacity == 4  # created with 0, then filled
    assert (quota(other, "online").capacity, quota(other, "online").held) == (1, 1)
    assert quota(other, "phone").capacity == 0
    assert quota(other, "walkin").capacity == 3
    assert quota(elsewhere, "online").capacity == 3
    assert (run.places_moved, run.sessions_touched) == (11, 2)
    assert run.cursor == other.session_id
    assert release_run_summary(run) == "released 11 places across 2 sessions"
    assert capacity_per_slot() == totals
    assert_books_balance()


def test_closure_release_twice_moves_nothing_more(clock):
    slot = slot_in(1, online=3, walkin=1)
    book(factories.PatientFactory(), slot)
    closed = closure()
    first = release.release_for_closure(closure_id=closed.pk)
    before = snapshot()

    again = release.release_for_closure(closure_id=closed.pk)

    assert again.pk == first.pk
    assert (again.places_moved, again.sessions_touched) == (2, 1)
    assert snapshot() == before
    assert ReleaseRun.objects.count() == 1


def test_closure_release_resumes_from_its_cursor_after_a_failure(clock, monkeypatch):
    slots = [slot_in(1, hour=8 + i, online=2, walkin=0) for i in range(3)]
    closed = closure()
    real = release._move_to_walkin
    calls = []

    def fail_on_second(**kwargs):
        calls.append(kwargs["slot_ids"])
        if len(calls) == 2:
            raise ConnectionError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(release, "_move_to_walkin", fail_on_second)
    with pytest.raises(ConnectionError):
        release.release_for_closure(closure_id=closed.pk)

    run = ReleaseRun.objects.get()
    assert run.status == ReleaseRun.Status.FAILED
    assert "worker lost" in run.error
    assert (run.cursor, run.places_moved) == (slots[0].session_id, 2)
    assert [quota(s, "online").capacity for s in slots] == [0, 2, 2]

    monkeypatch.setattr(release, "_move_to_walkin", real)
    run = release.release_for_closure(closure_id=closed.pk)

    assert run.status == ReleaseRun.Status.DONE
    assert (run.places_moved, run.sessions_touched) == (6, 3)
    assert [quota(s, "online").capacity for s in slots] == [0, 0, 0]
    assert [quota(s, "walkin").capacity for s in slots] == [2, 2, 2]


def test_closure_release_covers_only_its_window_scope_and_the_booking_window(clock):
    doctor = factories.DoctorFactory()
    inside = factories.slot_with_quotas(
        session=factories.SessionFactory(doctor=doctor), online=2, walkin=0
    )
    started = slot_in(0, hour=8, online=2)  # today 08:00: already started
    beyond_window = slot_in(8, online=2)
    after_closure = slot_in(5, online=2)
    other_doctor = slot_in(1, hour=14, online=2)
    stopped = slot_in(2, online=2)
    Session.objects.filter(pk=stopped.session_id).update(status=Session.Status.STOPPED)
    untouched = [started, beyond_window, after_closure, other_doctor, stopped]

    run = release.release_for_closure(
        closure_id=closure(
            scope=Closure.Scope.DOCTOR, doctor=doctor, ends_at=NOW + datetime.timedelta(days=4)
        ).pk
    )

    assert (run.places_moved, run.sessions_touched) == (2, 1)
    assert quota(inside, "walkin").capacity == 2
    assert [quota(s, "online").capacity for s in untouched] == [2] * 5
    # scope by doctor: the others were not even looked at
    run = release.release_for_closure(
        closure_id=closure(ends_at=NOW + datetime.timedelta(days=4)).pk
    )
    assert [quota(s, "online").capacity for s in untouched] == [2, 2, 2, 0, 2]


@pytest.mark.parametrize(
    "fields",
    [
        {"release_places": False},
        {"online": False, "walkin": True},  # walk-in closed itself: nowhere to move to
        {"online": True, "walkin": True},
        {"reopened_at": NOW},
    ],
)
def test_closure_without_release_moves_nothing(clock, fields):
    slot_in(1, online=3, walkin=1)
    before = snapshot()

    run = release.release_for_closure(closure_id=closure(**fields).pk)

    assert run.status == ReleaseRun.Status.DONE
    assert (run.places_moved, run.sessions_touched) == (0, 0)
    assert snapshot() == before


def test_release_closure_task_runs_the_service_and_ignores_a_missing_closure(clock):
    from booking.tasks import release_closure_task

    slot_in(1, online=3, walkin=1)
    closed = closure()
    assert release_closure_task(closed.pk) == {
        "run": ReleaseRun.objects.get().pk,
        "places": 3,
        "sessions": 1,
    }
    assert release_closure_task(closed.pk + 1000) is None


# --- before the session -------------------------------------------------------------


def test_pre_session_release_two_hours_before_and_only_once(clock, staff):
    slot = slot_in(0, hour=14, online=4, phone=2, walkin=1)
    second = later_slot(slot, online=2)
    tomorrow = slot_in(1, online=2, walkin=0)
    book(factories.PatientFactory(), slot)
    book(factories.PatientFactory(), slot, channel=Channel.PHONE, by=staff)
    totals = capacity_per_slot()

    clock.move_to(NOW.replace(hour=11, minute=59))
    assert release.release_due_sessions() is None
    assert quota(slot, "online").capacity == 4

    clock.move_to(NOW.replace(hour=12, minute=0))
    run = release.release_due_sessions()

    assert run.kind == ReleaseRun.Kind.PRE_SESSION
    assert (run.status, run.places_moved, run.sessions_touched) == ("done", 6, 1)
    assert (quota(slot, "online").capacity, quota(slot, "phone").capacity) == (1, 1)
    assert quota(slot, "walkin").capacity == 1 + 3 + 1
    assert (quota(second, "online").capacity, quota(second, "walkin").capacity) == (0, 2)
    assert quota(tomorrow, "online").capacity == 2
    session = Session.objects.get(pk=slot.session_id)
    assert session.walkin_released_at == NOW.replace(hour=12)
    assert capacity_per_slot() == totals
    assert_books_balance()

    before = snapshot()
    clock.move_to(NOW.replace(hour=12, minute=5))
    assert release.release_due_sessions() is None
    assert release.session_release_to_walkin(session=session, now=NOW) is None
    assert snapshot() == before


def test_pre_session_release_skips_stopped_and_finished_sessions(clock):
    stopped = slot_in(0, hour=10, online=2)
    Session.objects.filter(pk=stopped.session_id).update(status=Session.Status.STOPPED)
    finished = factories.slot_with_quotas(
        session=factories.SessionFactory(
            date=NOW.date(),
            starts_at=NOW - datetime.timedelta(hours=5),
            ends_at=NOW - datetime.timedelta(hours=1),
        ),
        starts_at=NOW - datetime.timedelta(hours=5),
        online=2,
    )
    assert release.release_due_sessions() is None
    assert quota(stopped, "online").capacity == quota(finished, "online").capacity == 2


def test_walkin_books_the_released_places(clock, staff):
    slot = slot_in(0, hour=10, online=1, walkin=0)
    release.release_due_sessions()
    booking = book(factories.PatientFactory(), slot, channel=Channel.WALKIN, by=staff)
    assert booking.channel == Channel.WALKIN
    refused("slot_full", lambda: book(factories.PatientFactory(), slot))
    assert_books_balance()


# --- a freed place without a waitlist ----------------------------------------------


def test_freed_place_is_held_back_then_returned_after_its_delay(clock, patient):
    slot = slot_in(1, online=1)
    booking = book(factories.PatientFactory(), slot)
    totals = capacity_per_slot()

    services.booking_cancel(booking=booking, requested_by=booking.patient.account)

    online = quota(slot, "online")
    assert (online.capacity, online.booked, online.held) == (1, 0, 1)
    held = HeldPlace.objects.get()
    assert held.freed_by_id == booking.pk
    assert NOW <= held.release_at <= NOW + datetime.timedelta(minutes=60)
    assert_books_balance()
    # not bookable meanwhile: a cancel-and-rebook hand-over fails
    refused("slot_full", lambda: book(patient, slot))

    clock.move_to(held.release_at - datetime.timedelta(seconds=1))
    assert services.held_places_settle() == {"offered": 0, "returned": 0}
    clock.move_to(held.release_at)
    assert services.held_places_settle() == {"offered": 0, "returned": 1}

    online.refresh_from_db()
    assert (online.capacity, online.booked, online.held) == (1, 0, 0)
    held.refresh_from_db()
    assert held.released_at == held.release_at
    assert capacity_per_slot() == totals
    assert book(patient, slot).status == Booking.Status.CONFIRMED
    assert services.held_places_settle() == {"offered": 0, "returned": 0}
    assert_books_balance()


def test_hold_delay_is_random_within_the_hour(clock, monkeypatch):
    draws = iter([0, 3600])
    monkeypatch.setattr(release._random, "randint", lambda low, high: next(draws))
    slot = slot_in(1, online=2)
    for booking in [book(factories.PatientFactory(), slot) for _ in range(2)]:
        services.booking_cancel(booking=booking, requested_by=booking.patient.account)
    assert sorted(HeldPlace.objects.values_list("release_at", flat=True)) == [
        NOW,
        NOW + datetime.timedelta(hours=1),
    ]


def test_reschedule_holds_the_old_place(clock, patient):
    old, new = slot_in(1, online=1), slot_in(2, online=1)
    booking = book(patient, old)
    services.booking_reschedule(booking=booking, new_slot=new, requested_by=patient.account)
    online = quota(old, "online")
    assert (online.booked, online.held) == (0, 1)
    assert_books_balance()


def test_sweep_runs_closures_whose_task_was_lost_and_leaves_the_rest(clock):
    slot = slot_in(1, online=3, walkin=0)
    lost = closure()
    closure(release_places=False)
    closure(reopened_at=NOW)
    closure(starts_at=NOW - datetime.timedelta(days=2), ends_at=NOW - datetime.timedelta(days=1))

    runs = services.release_closures_pending()

    assert [run.closure_id for run in runs] == [lost.pk]
    assert quota(slot, "walkin").capacity == 3
    assert services.release_closures_pending() == []


# --- the ops pages -------------------------------------------------------------------


@pytest.fixture
def admin_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


def test_ops_pages_show_runs_held_places_and_the_waitlist(clock, admin_client):
    slot = slot_in(1, online=1, walkin=0)
    holder = book(factories.PatientFactory(), slot)
    services.booking_cancel(booking=holder, requested_by=holder.patient.account)
    waiting = factories.PatientFactory()
    services.waitlist_join(patient=waiting, session=slot.session, requested_by=waiting.account)
    release.release_for_closure(closure_id=closure().pk)

    runs = admin_client.get(reverse("admin:booking_releaserun_changelist"))
    held = admin_client.get(reverse("admin:booking_heldplace_changelist"))
    waitlist = admin_client.get(reverse("admin:booking_waitlistentry_changelist"))

    assert runs.status_code == held.status_code == waitlist.status_code == 200
    assert "released 0 places across 0 sessions" in runs.content.decode()
    assert holder.code in held.content.decode()
    assert waiting.real_name in waitlist.content.decode()
    assert waitlist.context["cl"].result_list[0].waitlist_position == 1
