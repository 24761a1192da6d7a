"""Stopping a session [停诊] from its admin page: a button for staff with the right, a
confirmation that says how many patients are cancelled and told, then the sign."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from booking import services
from booking.models import Booking
from booking.selectors import session_active_booking_count
from clinics.models import Session
from tests import factories
from tests.booking.helpers import snapshot
from tests.booking.test_create import book, slot_in

pytestmark = pytest.mark.django_db

STOP = reverse("admin:booking_stop_session")


@pytest.fixture
def admin_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@pytest.fixture
def session_with_bookings(clock, staff):
    """Tomorrow's session: one confirmed, one checked in, one cancelled, one completed."""
    slot = slot_in(1, online=4)
    _confirmed, checked_in, cancelled, completed = (
        book(factories.PatientFactory(), slot) for _ in range(4)
    )
    Booking.objects.filter(pk=checked_in.pk).update(status=Booking.Status.CHECKED_IN)
    services.booking_cancel(booking=cancelled, requested_by=staff, reason="患者来电取消")
    Booking.objects.filter(pk=completed.pk).update(status=Booking.Status.COMPLETED)
    return slot.session


def session_page(client, session: Session) -> str:
    response = client.get(reverse("admin:clinics_session_change", args=[session.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_stop_reaches_the_confirmed_and_checked_in_bookings(session_with_bookings):
    assert session_active_booking_count(session=session_with_bookings) == 2


def test_an_open_sessions_page_has_the_stop_button(admin_client, session_with_bookings):
    html = session_page(admin_client, session_with_bookings)

    assert f'href="{STOP}?session={session_with_bookings.pk}"' in html
    assert "Stop this session [停诊]" in html
    assert "/signs/session/" not in html


def test_staff_without_the_stop_right_see_no_button(client, session_with_bookings):
    viewer = factories.StaffFactory()
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_session", content_type__app_label="clinics")
    )
    client.force_login(viewer)

    html = session_page(client, session_with_bookings)

    assert STOP not in html
    assert client.get(STOP, {"session": session_with_bookings.pk}).status_code == 403


def test_a_session_that_has_ended_has_no_stop_button(clock, admin_client):
    ended = slot_in(0, hour=8).session  # 08:00–12:00 today; the clock says 09:00
    clock.move_to(ended.ends_at + datetime.timedelta(minutes=1))

    assert STOP not in session_page(admin_client, ended)


def test_stopping_asks_first_saying_how_many_patients_are_told(admin_client, session_with_bookings):
    # given staff followed the button and gave a reason
    form = admin_client.get(STOP, {"session": session_with_bookings.pk})
    assert form.context["form"]["session"].value() == str(session_with_bookings.pk)
    before = snapshot()

    # when they send the form
    confirm = admin_client.post(STOP, {"session": session_with_bookings.pk, "reason": "医生病假"})

    # then a confirmation says what will happen, and nothing has happened yet
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert confirm.context["bookings"] == 2
    assert (
        "2 bookings will be cancelled by the hospital, and their patients told by message "
        "with up to three other times." in html
    )
    assert "医生病假" in html
    assert '<input type="hidden" name="confirm" value="yes">' in html
    assert snapshot() == before


def test_the_confirmed_stop_cancels_and_leads_to_the_sign(admin_client, session_with_bookings):
    # when staff confirm
    done = admin_client.post(
        STOP,
        {"session": session_with_bookings.pk, "reason": "医生病假", "confirm": "yes"},
        follow=True,
    )

    # then the session is stopped, its two active bookings cancelled by the hospital
    page = reverse("admin:clinics_session_change", args=[session_with_bookings.pk])
    assert done.redirect_chain == [(page, 302)]
    session_with_bookings.refresh_from_db()
    assert (session_with_bookings.status, session_with_bookings.stop_reason) == (
        "stopped",
        "医生病假",
    )
    assert sorted(Booking.objects.values_list("status", flat=True)) == [
        "cancelled_by_hospital",
        "cancelled_by_hospital",
        "cancelled_by_patient",
        "completed",
    ]
    # and its page links the printable sign instead of the button
    html = done.content.decode()
    assert f'href="/signs/session/{session_with_bookings.pk}"' in html
    assert STOP not in html
    assert "Session stopped: 2 bookings cancelled by the hospital" in html


def test_the_session_page_stays_clinics_page_with_bookings_tools(admin_client, clock):
    from django.contrib import admin

    from booking.admin.sessions import SessionAdmin as BookingSessionAdmin
    from clinics.admin import SessionAdmin as ClinicsSessionAdmin

    session = slot_in(1).session

    assert isinstance(admin.site._registry[Session], BookingSessionAdmin)
    assert issubclass(BookingSessionAdmin, ClinicsSessionAdmin)
    assert "Online 0/3" in session_page(admin_client, session)  # clinics' slot inline
