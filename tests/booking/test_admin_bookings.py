"""The booking admin: staff cancel through a confirmation that asks why and whose decision
it is, and the list says who cancelled and why. Times are Beijing time."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from booking import services
from booking.models import Booking, HeldPlace
from booking.services import closures
from notifications.models import OutboxMessage
from tests import factories
from tests.booking.conftest import SHANGHAI
from tests.booking.helpers import assert_books_balance, snapshot
from tests.booking.test_create import book, slot_in

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:booking_booking_changelist")
PATIENT_ASKED = "patient"
HOSPITAL = "hospital"


@pytest.fixture
def admin_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@pytest.fixture
def two_bookings(clock):
    """Two bookings tomorrow (24 November 2026) at 08:00 in Beijing, 00:00 UTC."""
    doctor = factories.DoctorFactory(name="刘芳", name_en="Liu Fang")
    slot = factories.slot_with_quotas(session=factories.SessionFactory(doctor=doctor), online=3)
    return [
        book(factories.PatientFactory(real_name="王秀英"), slot),
        book(factories.PatientFactory(real_name="李建国"), slot),
    ]


def cancel(client, bookings, **confirmation):
    data = {"action": "cancel_bookings", "_selected_action": [b.pk for b in bookings]}
    if confirmation:
        data |= {"confirm": "yes", **confirmation}
    return client.post(CHANGELIST, data, follow=bool(confirmation))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_action_first_lists_the_bookings_and_asks_why_changing_nothing(
    admin_client, two_bookings
):
    before = snapshot()

    page = cancel(admin_client, two_bookings)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Cancel these 2 bookings?" in html
    for booking in two_bookings:
        row = f'<tr data-booking="{booking.code}">'
        assert row in html
        assert f'<input type="hidden" name="_selected_action" value="{booking.pk}">' in html
    assert "王秀英" in html and "李建国" in html and "Liu Fang" in html
    # Beijing time, not the stored UTC
    assert html.count("2026-11-24 08:00") == 2
    assert "2026-11-24 00:00" not in html
    assert 'name="reason"' in html
    assert "The patient asked (cancelled on the patient&#x27;s behalf)" in html
    assert "The hospital cancels (e.g. the doctor is unavailable)" in html
    assert snapshot() == before


def test_without_a_reason_nothing_is_cancelled(admin_client, two_bookings):
    before = snapshot()

    page = cancel(admin_client, two_bookings, decided_by=PATIENT_ASKED, reason="  ")

    assert page.status_code == 200
    assert page.context["form"].errors == {"reason": ["This field is required."]}
    assert snapshot() == before


def test_cancelling_on_the_patients_behalf_records_who_and_why(
    admin_client, admin_user, two_bookings
):
    done = cancel(admin_client, two_bookings, decided_by=PATIENT_ASKED, reason="患者来电要求取消")

    assert done.redirect_chain == [(CHANGELIST, 302)]
    assert messages_of(done) == [
        "2 bookings cancelled on the patients' behalf; each patient is told by message."
    ]
    rows = Booking.objects.order_by("pk").values_list("status", "cancelled_by", "cancel_reason")
    assert list(rows) == [("cancelled_by_patient", admin_user.pk, "患者来电要求取消")] * 2
    kinds = OutboxMessage.objects.filter(kind__startswith="booking_cancelled")
    assert sorted(kinds.values_list("kind", flat=True)) == ["booking_cancelled"] * 2
    assert_books_balance()


def test_the_hospital_cancelling_tells_each_patient_why(admin_client, admin_user, two_bookings):
    done = cancel(admin_client, two_bookings, decided_by=HOSPITAL, reason="设备检修")

    assert messages_of(done) == [
        "2 bookings cancelled by the hospital; their patients are told why, "
        "with other times to book."
    ]
    rows = Booking.objects.order_by("pk").values_list("status", "cancelled_by", "cancel_reason")
    assert list(rows) == [("cancelled_by_hospital", admin_user.pk, "设备检修")] * 2
    told = OutboxMessage.objects.filter(kind="booking_cancelled_by_hospital")
    assert [m.context["reason"] for m in told] == ["设备检修", "设备检修"]
    assert_books_balance()


def test_each_refusal_is_reported_and_the_others_are_cancelled(admin_client, two_bookings):
    done_before, cancelled_before = two_bookings
    Booking.objects.filter(pk=done_before.pk).update(status=Booking.Status.COMPLETED)
    cancelled_before_code = cancelled_before.code
    third = book(factories.PatientFactory(), slot_in(2))
    cancel(admin_client, [cancelled_before], decided_by=PATIENT_ASKED, reason="第一次")

    done = cancel(
        admin_client,
        [done_before, cancelled_before, third],
        decided_by=PATIENT_ASKED,
        reason="第二次",
    )

    assert messages_of(done) == [
        f"{done_before.code}: This booking can no longer be cancelled or changed.",
        f"{cancelled_before_code}: already cancelled; nothing changed.",
        "1 booking cancelled on the patient's behalf; the patient is told by message.",
    ]
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {
        done_before.pk: "completed",
        cancelled_before.pk: "cancelled_by_patient",
        third.pk: "cancelled_by_patient",
    }
    # the first reason stays with the booking cancelled first
    assert Booking.objects.get(pk=cancelled_before.pk).cancel_reason == "第一次"


def test_the_list_and_the_page_show_who_cancelled_and_why(admin_client, admin_user, two_bookings):
    cancel(admin_client, two_bookings[:1], decided_by=HOSPITAL, reason="医生临时停诊")

    listing = admin_client.get(CHANGELIST).content.decode()
    page = admin_client.get(
        reverse("admin:booking_booking_change", args=[two_bookings[0].pk])
    ).content.decode()

    assert "column-cancelled_by" in listing and "column-cancel_reason" in listing
    assert "医生临时停诊" in listing and admin_user.username in listing
    assert "医生临时停诊" in page and admin_user.username in page


def test_the_list_shows_slot_times_in_beijing_time(admin_client, two_bookings):
    listing = admin_client.get(CHANGELIST).content.decode()

    assert "Nov. 24, 2026, 8 a.m." in listing
    assert "midnight" not in listing


def test_staff_who_may_only_look_cannot_cancel(client, two_bookings):
    viewer = factories.StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_booking"))
    client.force_login(viewer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    before = snapshot()

    listing = client.get(CHANGELIST)
    tried = cancel(client, two_bookings, decided_by=HOSPITAL, reason="x")

    assert listing.status_code == 200
    assert "cancel_bookings" not in listing.content.decode()
    assert tried.status_code == 200  # Django offers no action they may not use
    assert snapshot() == before


def test_held_place_and_closure_names_use_beijing_time(clock, two_bookings, staff):
    services.booking_cancel(booking=two_bookings[0], requested_by=staff, reason="x")
    held = HeldPlace.objects.get()
    held.release_at = datetime.datetime(2026, 11, 24, 0, 30, tzinfo=datetime.UTC)
    closure = closures.closure_create(
        scope="hospital",
        target=None,
        channels=["online"],
        starts_at=datetime.datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI),
        reason="maintenance",
        notice="维护",
        notice_en="Maintenance",
        release_places=False,
        created_by=staff,
    )

    assert str(held) == f"{held.quota_id} until 2026-11-24 08:30"
    assert str(closure) == "Whole hospital Planned maintenance 2026-11-24 08:00"
