"""The booking admin: staff cancel through a confirmation that asks why and whose decision
it is, and the list says who cancelled and why. Times are Beijing time."""

import datetime
import re

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


def test_the_page_shows_who_cancelled_and_why_the_list_fits_the_screen(
    admin_client, admin_user, two_bookings
):
    cancel(admin_client, two_bookings[:1], decided_by=HOSPITAL, reason="医生临时停诊")

    listing = admin_client.get(CHANGELIST).content.decode()
    page = admin_client.get(
        reverse("admin:booking_booking_change", args=[two_bookings[0].pk])
    ).content.decode()

    # the list's columns fit 1280 px: who cancelled and why are on the booking's page
    columns = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', listing)
    assert columns == [
        "code",
        "queue_number",
        "patient_name",
        "patient_phone",
        "visit_date",
        "slot_time",
        "doctor",
        "department",
        "channel",
        "status",
    ]
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


# --- the desk's list: search, filters, masks -----------------------------------------

GB_WANG = "11010519491231002X"


@pytest.fixture
def desk(db):
    """Front-desk staff: look at bookings, change them, check patients in."""
    member = factories.StaffFactory()
    member.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_booking", "change_booking", "check_in"])
    )
    return member


@pytest.fixture
def desk_client(client, desk):
    client.force_login(desk)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def today(clock):
    """Two bookings today 14:00-14:30 (Beijing) and one tomorrow, different patients."""
    slot = slot_in(0, hour=14)
    wang = factories.PatientFactory(
        real_name="王秀英",
        document_number=GB_WANG,
        phone="13912345678",
        medical_record_number="Y000000042",
    )
    wang.account.phone = "13700001111"
    wang.account.save()
    return [
        book(wang, slot),
        book(factories.PatientFactory(real_name="李建国"), slot),
        book(factories.PatientFactory(real_name="张伟"), slot_in(1)),
    ]


def listed(client, **params) -> list[str]:
    html = client.get(CHANGELIST, params).content.decode()
    return re.findall(r'<th class="field-code"><a [^>]*>(\w+)</a>', html)


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("{code}", [0]),
        ("13912345678", [0]),  # the patient's phone
        ("13700001111", [0]),  # the account's
        ("1391234", []),  # a phone only whole: a search must not uncover hidden digits
        ("王秀英", [0]),
        ("Y000000042", [0]),
        ("002x", [0]),  # the last 4 of the ID, as the lists show them
        ("1949", []),  # never the middle of an ID number
    ],
)
def test_desk_search(desk_client, today, term, found):
    term = term.format(code=today[0].code)

    assert listed(desk_client, q=term) == [today[i].code for i in found]


def test_the_list_masks_phones_and_shows_no_id_number(desk_client, today):
    html = desk_client.get(CHANGELIST).content.decode()

    assert '<td class="field-patient_phone">139****5678</td>' in html
    assert "13912345678" not in html and "13700001111" not in html
    assert GB_WANG not in html


def test_filters_by_date_department_doctor_status_and_channel_with_counts(desk_client, today):
    html = desk_client.get(CHANGELIST).content.decode()
    doctor = today[0].session.doctor

    for title in ("visit date", "department", "doctor", "status", "channel"):
        assert f"By {title}" in html
    assert re.search(r"Confirmed\s*\(3\)", html)
    assert re.search(r"Online\s*\(3\)", html)
    assert sorted(listed(desk_client, session__doctor__id__exact=doctor.pk)) == sorted(
        [b.code for b in Booking.objects.filter(session__doctor=doctor)]
    )
    assert sorted(listed(desk_client, status__exact="confirmed")) == sorted(b.code for b in today)


# --- actions: check in, no-show and its undo ---------------------------------------------


def act(client, action, bookings, **data):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [b.pk for b in bookings], **data},
        follow=True,
    )


def statuses(bookings) -> list[str]:
    return [Booking.objects.get(pk=b.pk).status for b in bookings]


def test_check_in_reports_each_booking_and_refusals(desk_client, today):
    first, _, tomorrow = today

    response = act(desk_client, "check_in_bookings", [first, tomorrow])

    assert statuses([first, tomorrow]) == ["checked_in", "confirmed"]
    assert messages_of(response) == [
        f"{first.code}: checked in.",
        f"{tomorrow.code}: This booking is for Nov. 24, 2026, not today.",
    ]
    again = act(desk_client, "check_in_bookings", [first])
    assert messages_of(again) == [f"{first.code}: already checked in; nothing changed."]


def test_check_in_calls_the_service_the_desk_hands_over(desk_client, today, monkeypatch):
    from django.contrib import admin as django_admin

    calls = []
    model_admin = django_admin.site._registry[Booking]
    monkeypatch.setattr(
        model_admin,
        "check_in_service",
        lambda **kwargs: calls.append(kwargs) or services.booking_check_in(**kwargs),
    )

    act(desk_client, "check_in_bookings", today[:1])

    assert [(c["booking"].pk, c["checked_in_by"].pk) for c in calls] == [
        (today[0].pk, int(desk_client.session["_auth_user_id"]))
    ]


def test_check_in_needs_the_desks_permission(client, today):
    member = factories.StaffFactory()
    member.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_booking", "change_booking"])
    )
    client.force_login(member)
    before = snapshot()

    listing = client.get(CHANGELIST).content.decode()
    act(client, "check_in_bookings", today[:1])

    assert "check_in_bookings" not in listing
    assert "mark_no_shows" in listing and "undo_no_shows" in listing
    assert statuses(today[:1]) == ["confirmed"]
    assert snapshot() == before


def test_no_show_actions_need_change_permission(client, today, clock):
    member = factories.StaffFactory()
    member.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_booking", "check_in"])
    )
    later(clock, client, member, today[0].slot.ends_at)

    listing = client.get(CHANGELIST).content.decode()
    act(client, "mark_no_shows", today[:1])

    assert "check_in_bookings" in listing
    assert "mark_no_shows" not in listing and "undo_no_shows" not in listing
    assert statuses(today[:1]) == ["confirmed"]


def later(clock, client, member, when):
    """Move the clock; sign in again (staff are signed out after a while idle)."""
    clock.move_to(when)
    client.logout()
    client.force_login(member)


def test_mark_no_shows_after_the_slot_and_report_refusals(desk_client, desk, today, clock):
    first, second, _ = today
    act(desk_client, "check_in_bookings", [second])
    later(clock, desk_client, desk, first.slot.ends_at)

    response = act(desk_client, "mark_no_shows", [first, second])

    assert statuses([first, second]) == ["no_show", "checked_in"]
    assert messages_of(response) == [
        f"{first.code}: marked as a no-show.",
        f"{second.code}: Only a confirmed booking the patient did not come for can be "
        "marked as a no-show.",
    ]
    assert first.patient.no_shows.count() == 1


def test_a_no_show_too_early_is_refused(desk_client, today):
    response = act(desk_client, "mark_no_shows", today[:1])

    assert statuses(today[:1]) == ["confirmed"]
    assert messages_of(response) == [
        f"{today[0].code}: The visit's time has not ended yet: the patient can still come."
    ]


def test_undo_no_show_asks_why_then_undoes_each(desk_client, desk, today, clock):
    first, second, _ = today
    later(clock, desk_client, desk, first.slot.ends_at)
    act(desk_client, "mark_no_shows", [first])

    page = desk_client.post(
        CHANGELIST, {"action": "undo_no_shows", "_selected_action": [first.pk, second.pk]}
    )
    without_reason = act(desk_client, "undo_no_shows", [first], confirm="yes", reason=" ")
    assert statuses([first]) == ["no_show"]
    done = act(desk_client, "undo_no_shows", [first, second], confirm="yes", reason="窗口纸质签到")

    html = page.content.decode()
    assert "Undo these 2 no-show marks?" in html
    assert f'<tr data-booking="{first.code}">' in html and 'name="reason"' in html
    assert without_reason.status_code == 200
    assert "This field is required." in without_reason.content.decode()
    assert statuses([first, second]) == ["confirmed", "confirmed"]
    assert Booking.objects.get(pk=first.pk).status_note == "窗口纸质签到"
    assert first.patient.no_shows.count() == 0
    assert messages_of(done) == [
        f"{first.code}: no-show undone; now Confirmed.",
        f"{second.code}: This booking is not marked as a no-show.",
    ]


def test_the_desks_list_costs_the_same_queries_for_more_bookings(desk_client, clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    slot = slot_in(0, hour=14, online=10)
    counts = []
    for _ in range(2):
        for _ in range(3):
            book(factories.PatientFactory(), slot)
        with CaptureQueriesContext(connection) as queries:
            assert desk_client.get(CHANGELIST).status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
