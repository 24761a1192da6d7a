"""The server-side cache of availability reads (booking/apis/cache.py, clinics/cache.py):
a hit runs no query; a booking, a cancellation, a closure, a session stop, an admin
capacity edit and a policy edit show on the next read once the coalescing second has
passed; the minute is part of the key; a cache outage still answers and still books."""

import datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking import services as booking_services
from booking.models import BookingPolicy, Closure
from booking.services.stops import session_stop
from clinics.cache import availability_generation
from clinics.models import Channel, Quota
from tests import factories
from tests.api.test_catalogue import DAY, TODAY, at, make_session
from tests.booking.conftest import NOW

# Real commits: the generation moves after commit (on_commit), never inside a test's
# wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)

LATER = datetime.timedelta(seconds=1.5)


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed():
    """A write in its own committed transaction (autocommit: the bump runs at once)."""

    def run(write):
        return write()

    return run


def slots(client, session) -> list[dict]:
    response = client.get(f"/api/v1/sessions/{session.pk}/slots")
    assert response.status_code == 200, response.content
    return response.json()


def online(client, session) -> list[int]:
    return [slot["places"]["online"] for slot in slots(client, session)]


def session_row(client, session) -> dict:
    listed = client.get("/api/v1/sessions").json()["results"]
    return next(row for row in listed if row["id"] == session.pk)


def test_a_hit_runs_no_query(client, clock, django_assert_num_queries):
    session = make_session(TODAY + DAY, department=factories.DepartmentFactory())
    first_list = client.get("/api/v1/sessions")
    first_slots = client.get(f"/api/v1/sessions/{session.pk}/slots")

    client.get("/api/v1/departments")
    client.get("/api/v1/status")

    with django_assert_num_queries(0):
        listed = client.get("/api/v1/sessions")
        slot_list = client.get(f"/api/v1/sessions/{session.pk}/slots")
        client.get("/api/v1/departments")
        client.get("/api/v1/status")
        not_modified = client.get("/api/v1/sessions", HTTP_IF_NONE_MATCH=first_list["ETag"])

    assert listed.content == first_list.content
    assert slot_list.content == first_slots.content
    assert listed["ETag"] == first_list["ETag"]
    assert listed["Cache-Control"] == "public, max-age=5"
    assert not_modified.status_code == 304


def test_a_booking_shows_after_the_coalescing_second(client, clock, committed):
    session = make_session(TODAY + DAY, department=factories.DepartmentFactory(), slots=1)
    assert online(client, session) == [3]
    patient = factories.PatientFactory()

    committed(
        lambda: booking_services.booking_create(
            patient=patient,
            slot=session.slots.get(),
            channel=Channel.ONLINE,
            requested_by=patient.account,
            idempotency_key="cache-1",
        )
    )

    # Within the second the entry may still be served (coalescing)...
    assert online(client, session) == [3]
    clock.shift(LATER)
    # ...never after it.
    assert online(client, session) == [2]
    assert session_row(client, session)["places"]["online"] == 2


def test_a_cancellation_invalidates(client, clock, committed, django_assert_num_queries):
    session = make_session(TODAY + DAY, department=factories.DepartmentFactory(), slots=1)
    patient = factories.PatientFactory()
    booking = booking_services.booking_create(
        patient=patient,
        slot=session.slots.get(),
        channel=Channel.ONLINE,
        requested_by=patient.account,
        idempotency_key="cache-2",
    )
    slots(client, session)
    before = availability_generation()

    committed(
        lambda: booking_services.booking_cancel(booking=booking, requested_by=patient.account)
    )
    clock.shift(LATER)

    assert availability_generation() > before
    with CaptureQueriesContext(connection) as read:
        slots(client, session)
    assert len(read.captured_queries) > 0  # recomputed, not the old entry


def test_a_closure_a_stop_an_admin_capacity_edit_and_a_policy_edit_show(client, clock, committed):
    department = factories.DepartmentFactory()
    policy = factories.BookingPolicyFactory(department=department)
    session = make_session(TODAY + DAY, department=department, slots=1)
    far = make_session(
        TODAY + 6 * DAY, department=department, slots=1, hour=14, half_day="afternoon"
    )
    staff = factories.StaffFactory()
    assert slots(client, session)[0]["refusal"] is None

    # a capacity change in the admin: an instance save
    quota = Quota.objects.get(slot__session=session, channel=Channel.ONLINE)
    quota.capacity = 5
    committed(quota.save)
    clock.shift(LATER)
    assert online(client, session) == [5]

    # a policy edit: a window of 5 days puts `far` outside it
    assert slots(client, far)[0]["refusal"] is None
    policy.window_days = 5
    committed(policy.save)
    clock.shift(LATER)
    assert slots(client, far)[0]["refusal"]["code"] == "outside_window"

    # a closure
    committed(
        lambda: Closure.objects.create(
            scope=Closure.Scope.SESSION,
            session=session,
            online=True,
            starts_at=NOW,
            reason=Closure.Reason.MAINTENANCE,
            notice="维护",
            notice_en="Maintenance",
            created_by=staff,
        )
    )
    clock.shift(LATER)
    assert slots(client, session)[0]["refusal"]["code"] == "channel_closed"
    assert session_row(client, session)["availability"][0]["state"] == "paused"

    # a session stop
    committed(lambda: session_stop(session=far, reason="生病", stopped_by=staff))
    clock.shift(LATER)
    assert slots(client, far)[0]["refusal"]["code"] == "session_stopped"
    assert session_row(client, far)["status"] == "stopped"
    assert BookingPolicy.objects.get(pk=policy.pk).window_days == 5


def test_the_minute_is_part_of_the_key(client, clock):
    # The newest day of the window opens at 07:00 with no write at all.
    clock.move_to(at(TODAY, 6, 59) + datetime.timedelta(seconds=30))
    session = make_session(TODAY + 7 * DAY, department=factories.DepartmentFactory(), slots=1)
    assert slots(client, session)[0]["refusal"]["code"] == "not_yet_released"

    clock.move_to(at(TODAY, 6, 59) + datetime.timedelta(seconds=59))
    assert slots(client, session)[0]["refusal"]["code"] == "not_yet_released"
    clock.move_to(at(TODAY, 7, 0))
    assert slots(client, session)[0]["refusal"] is None


def test_staff_and_public_have_their_own_entries(client, clock):
    from tests.api.test_catalogue import staff_client

    session = make_session(TODAY + DAY, department=factories.DepartmentFactory(), slots=1)

    public = slots(client, session)
    staff = staff_client().get(f"/api/v1/sessions/{session.pk}/slots").json()
    again = slots(client, session)

    assert "phone" not in public[0]["places"]
    assert staff[0]["places"]["phone"] == 1
    assert again == public


def test_languages_have_their_own_entries(client, clock):
    factories.DepartmentFactory(name="白内障", name_en="Cataract")

    english = client.get("/api/v1/departments", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = client.get("/api/v1/departments", HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    assert english[0]["name"] == "Cataract"
    assert chinese[0]["name"] == "白内障"


def test_a_cache_outage_still_answers_and_still_books(client, clock, committed, caplog):
    session = make_session(TODAY + DAY, department=factories.DepartmentFactory(), slots=1)
    patient = factories.PatientFactory()
    # The cache as the availability code sees it: every call fails (throttles keep theirs).
    broken = mock.Mock(
        **{
            f"{name}.side_effect": ConnectionError("down")
            for name in ("get", "get_many", "set", "add", "incr")
        }
    )

    with (
        mock.patch("clinics.cache.cache", broken),
        mock.patch("booking.selectors.bookings.cache", broken),
    ):
        assert online(client, session) == [3]
        booking = committed(
            lambda: booking_services.booking_create(
                patient=patient,
                slot=session.slots.get(),
                channel=Channel.ONLINE,
                requested_by=patient.account,
                idempotency_key="cache-down",
            )
        )
        assert online(client, session) == [2]

    assert booking.pk is not None
    assert "could not be bumped" in caplog.text
