"""A place freed inside a released channel follows the others: waitlist, then walk-in.
Reopening a closure may move released places back, and the run records it."""

import datetime

import pytest

from booking import services
from booking.models import HeldPlace, ReleaseRun, WaitlistEntry
from booking.services import release
from clinics.models import CapacityChange, Channel, Quota
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, capacity_per_slot
from tests.booking.test_create import book, slot_in

pytestmark = pytest.mark.django_db


def quota(slot, channel: str) -> Quota:
    return Quota.objects.get(slot=slot, channel=channel)


def close_online(department, *, release_places=True):
    closure = services.closure_create(
        scope="department",
        target=department,
        channels=[Channel.ONLINE],
        starts_at=NOW,
        reason="capacity",
        notice="网上预约暂停",
        notice_en="Online booking paused",
        release_places=release_places,
        created_by=factories.StaffFactory(),
    )
    release.release_for_closure(closure_id=closure.pk)  # the task published on commit
    return closure


def test_a_cancellation_in_a_released_closure_moves_the_place_to_walk_in(clock):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department, online=3, walkin=1)
    holder = book(factories.PatientFactory(), slot)
    totals = capacity_per_slot()
    closure = close_online(department)  # eager: the release moved 2 places
    assert quota(slot, Channel.WALKIN).capacity == 3

    services.booking_cancel(booking=holder, requested_by=holder.patient.account)

    assert (quota(slot, Channel.ONLINE).capacity, quota(slot, Channel.ONLINE).held) == (0, 0)
    assert quota(slot, Channel.WALKIN).capacity == 4
    held = HeldPlace.objects.get(freed_by=holder)
    assert (held.outcome, held.released_at) == (HeldPlace.Outcome.WALKIN, NOW)
    run = closure.release_runs.get()
    assert (run.places_moved, run.places_freed_moved) == (2, 1)
    change = CapacityChange.objects.get(reason=CapacityChange.Reason.FREED_PLACE, delta=1)
    assert change.ref == f"release_run:{run.pk}"
    assert capacity_per_slot() == totals
    assert_books_balance()


def test_without_release_a_freed_place_stays_in_its_closed_channel(clock):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department, online=2, walkin=1)
    holder = book(factories.PatientFactory(), slot)
    close_online(department, release_places=False)

    services.booking_cancel(booking=holder, requested_by=holder.patient.account)

    assert quota(slot, Channel.ONLINE).held == 1  # held back; returns when due
    assert HeldPlace.objects.get().outcome == HeldPlace.Outcome.HELD


def test_the_waitlist_gets_a_place_freed_in_a_closed_channel_first(
    clock, django_capture_on_commit_callbacks
):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department, online=1, walkin=0)
    holder = book(factories.PatientFactory(), slot)
    waiting = factories.PatientFactory()
    entry = services.waitlist_join(
        patient=waiting, session=slot.session, requested_by=waiting.account
    )
    close_online(department)

    with django_capture_on_commit_callbacks(execute=True):  # the offer task
        services.booking_cancel(booking=holder, requested_by=holder.patient.account)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    held = HeldPlace.objects.get(freed_by=holder)
    assert (held.outcome, held.taken_by) == (HeldPlace.Outcome.WAITLIST, entry.booking)
    assert_books_balance()


def test_a_place_nobody_on_the_waitlist_took_goes_to_walk_in_when_due(clock):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department, online=1, walkin=0)
    holder = book(factories.PatientFactory(), slot)
    suspended = factories.PatientFactory()
    services.waitlist_join(patient=suspended, session=slot.session, requested_by=suspended.account)
    suspended.suspended_until = NOW.date() + datetime.timedelta(days=30)
    suspended.save(update_fields=["suspended_until"])
    close_online(department)
    services.booking_cancel(booking=holder, requested_by=holder.patient.account)
    assert quota(slot, Channel.ONLINE).held == 1  # the offer found nobody eligible

    clock.move_to(NOW + datetime.timedelta(hours=1, minutes=1))
    assert services.held_places_settle() == {"offered": 0, "returned": 1}

    assert (quota(slot, Channel.ONLINE).capacity, quota(slot, Channel.ONLINE).held) == (0, 0)
    assert quota(slot, Channel.WALKIN).capacity == 1
    assert HeldPlace.objects.get().outcome == HeldPlace.Outcome.WALKIN
    assert_books_balance()


def test_after_the_pre_session_release_a_freed_place_goes_to_walk_in(clock):
    slot = slot_in(0, hour=10, online=2, walkin=1)  # today 10:00; now 09:00
    holder = book(factories.PatientFactory(), slot)
    services.release_due_sessions()
    assert quota(slot, Channel.WALKIN).capacity == 2

    services.booking_cancel(booking=holder, requested_by=factories.StaffFactory(), reason="来电")

    assert quota(slot, Channel.ONLINE).capacity == 0
    assert quota(slot, Channel.WALKIN).capacity == 3
    assert_books_balance()


def test_reopening_with_return_moves_unbooked_released_places_back(
    clock, django_capture_on_commit_callbacks
):
    department = factories.DepartmentFactory()
    far = slot_in(3, department=department, online=4, walkin=1)
    near = slot_in(0, department=department, hour=10, online=2, walkin=0)  # within 2 hours
    book(factories.PatientFactory(), far)
    totals = capacity_per_slot()
    closure = close_online(department)
    assert quota(far, Channel.WALKIN).capacity == 4  # 3 moved
    assert quota(near, Channel.WALKIN).capacity == 2
    # The desk books one of the released places at walk-in meanwhile.
    desk = factories.StaffFactory()
    book(factories.PatientFactory(), near, channel=Channel.WALKIN, by=desk)

    with django_capture_on_commit_callbacks(execute=True) as published:
        services.closure_reopen(closure=closure, reopened_by=desk, return_places=True)

    assert len(published) == 1  # the return task, after commit
    assert quota(far, Channel.ONLINE).capacity == 4  # all 3 back
    assert quota(far, Channel.WALKIN).capacity == 1
    assert quota(near, Channel.ONLINE).capacity == 0  # too close: stays at walk-in
    run = closure.release_runs.get()
    assert (run.places_moved, run.places_returned) == (5, 3)
    assert run.returned_at == NOW
    assert capacity_per_slot() == totals
    assert_books_balance()


def test_return_gives_back_only_what_walk_in_has_not_booked(clock):
    department = factories.DepartmentFactory()
    slot = slot_in(0, department=department, hour=14, online=3, walkin=0)  # today, 5 h ahead
    closure = close_online(department)
    desk = factories.StaffFactory()
    book(factories.PatientFactory(), slot, channel=Channel.WALKIN, by=desk)

    services.closure_reopen(closure=closure, reopened_by=desk, return_places=True)
    release.release_return_for_closure(closure_id=closure.pk)

    assert quota(slot, Channel.ONLINE).capacity == 2
    assert quota(slot, Channel.WALKIN).capacity == 1
    assert closure.release_runs.get().places_returned == 2
    # A second return (a retried task) moves nothing more.
    ReleaseRun.objects.update(returned_at=None, return_cursor=0)
    release.release_return_for_closure(closure_id=closure.pk)
    assert quota(slot, Channel.ONLINE).capacity == 2
    assert_books_balance()


def test_reopening_without_return_leaves_places_at_walk_in(clock):
    department = factories.DepartmentFactory()
    slot = slot_in(3, department=department, online=3, walkin=0)
    closure = close_online(department)

    services.closure_reopen(closure=closure, reopened_by=factories.StaffFactory())

    assert quota(slot, Channel.WALKIN).capacity == 3
    assert closure.release_runs.get().places_returned == 0


def test_the_staff_api_reopens_with_return(clock, client):
    from django.urls import reverse

    staff = factories.StaffFactory(is_superuser=True)
    client.force_login(staff)
    department = factories.DepartmentFactory()
    slot = slot_in(3, department=department, online=3, walkin=0)
    closure = close_online(department)

    response = client.post(
        reverse("api-staff-closure-reopen", args=[closure.pk]),
        {"return_places": True},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["return_places"] is True
    release.release_return_for_closure(closure_id=closure.pk)  # the task on commit
    assert quota(slot, Channel.ONLINE).capacity == 3


def test_the_admin_action_reopens_with_return(clock, admin_client):
    from django.urls import reverse

    department = factories.DepartmentFactory()
    slot = slot_in(3, department=department, online=3, walkin=0)
    closure = close_online(department)

    admin_client.post(
        reverse("admin:booking_closure_changelist"),
        {"action": "reopen_and_return", "_selected_action": [closure.pk]},
    )

    closure.refresh_from_db()
    assert closure.reopened_at is not None and closure.return_places is True
    release.release_return_for_closure(closure_id=closure.pk)
    assert quota(slot, Channel.ONLINE).capacity == 3
