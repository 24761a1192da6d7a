"""The booking steps (red-flag check, department, doctor, day, time band, confirm) and the
confirmation page: the right choices on each step, choices carried in the query string,
refusals in words with alternatives, tampered ids → 404, one booking per key, and a
fixed number of queries per page."""

import datetime
import re
import uuid
from decimal import Decimal

import icalendar
import pytest
from django.core.cache import cache
from django.urls import NoReverseMatch, reverse

from booking.models import Booking, Closure
from booking.services import booking_create
from booking.services.closures import closure_create
from clinics.cache import forget_local
from clinics.models import Channel, ClinicLevel, Doctor, Quota, Session
from notifications.models import OutboxMessage
from tests.booking.conftest import NOW, SHANGHAI
from tests.factories import (
    AccountFactory,
    DepartmentFactory,
    DoctorFactory,
    PatientFactory,
    RoomFactory,
    SessionFactory,
    StaffFactory,
    slot_with_quotas,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TODAY = NOW.date()  # Monday 23 November 2026, 09:00: after the 07:00 release
DAY = datetime.timedelta(days=1)
HALF_HOUR = datetime.timedelta(minutes=30)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def make_session(
    day: datetime.date, *, doctor: Doctor, hour: int = 8, slots: int = 2, online: int = 3
) -> Session:
    """A session of `doctor` on `day` from `hour`: `slots` half-hour bands, each with
    `online` online places, 1 by phone and 2 walk-in."""
    start = at(day, hour)
    session = SessionFactory(
        doctor=doctor,
        date=day,
        half_day="morning" if hour < 12 else "afternoon",
        starts_at=start,
        ends_at=start + slots * HALF_HOUR,
        room=RoomFactory(department=doctor.department, code=f"3-{doctor.pk}{hour}{day.day}"),
    )
    for index in range(slots):
        slot_with_quotas(
            session=session, starts_at=start + index * HALF_HOUR, online=online, phone=1, walkin=2
        )
    return session


@pytest.fixture
def department():
    return DepartmentFactory(
        code="cataract", name="白内障门诊", name_en="Cataract clinic", location="门诊楼 3 层"
    )


@pytest.fixture
def doctor(department):
    return DoctorFactory(
        department=department,
        name="王明",
        name_en="Wang Ming",
        level=ClinicLevel.EXPERT,
        fee=Decimal("50.00"),
        specialties_zh_hans="白内障手术",
        specialties_en="Cataract surgery",
    )


@pytest.fixture
def session(doctor):
    return make_session(TODAY + DAY, doctor=doctor)


@pytest.fixture
def account():
    return AccountFactory()


@pytest.fixture
def patient(account):
    return PatientFactory(account=account, real_name="张三")


def get(client, name: str, query: str = "", **headers):
    return client.get(reverse(name) + (f"?{query}" if query else ""), **(headers or EN))


def text(response) -> str:
    return " ".join(response.content.decode().split())


def step_indicator(html: str) -> tuple[str, str]:
    """("Step n of 5", the label of the step marked aria-current)."""
    count = re.search(r'<p class="book-steps__count"[^>]*>(.*?)</p>', html).group(1)
    current = re.search(r'aria-current="step">\s*<span>(.*?)</span>', html).group(1)
    return count, current


def confirm_post(client, *, slot, patient, key="key-1", **headers):
    return client.post(
        reverse("booking:confirm"),
        {"slot": slot.pk, "patient": patient.pk, "idempotency_key": key},
        **(headers or EN),
    )


# --- step 0: the red-flag check ------------------------------------------------------


def test_start_asks_the_red_flag_question_before_anything_else(client):
    response = get(client, "booking:start")

    assert response.status_code == 200
    html = text(response)
    for flag in (
        "sudden loss of vision",
        "a chemical in the eye",
        "an eye injury",
        "flashes of light with a curtain or shadow over your vision",
    ):
        assert flag in html
    assert 'name="red_flags" value="yes"' in html
    assert 'name="red_flags" value="no"' in html
    assert '<form class="book-form" method="get"' in html


def test_no_red_flag_goes_to_step_1_keeping_the_choices(client):
    response = get(client, "booking:start", "red_flags=no&patient=4")

    assert response.status_code == 302
    assert response["Location"] == reverse("booking:department") + "?patient=4"


def test_a_red_flag_shows_the_emergency_department_instead_of_booking(client, settings):
    settings.YUYUE_HOSPITAL_ADDRESS_EN = "Emergency building, 1 Demo Road"
    settings.YUYUE_HOSPITAL_PHONE = "010-1234-5678"

    response = get(client, "booking:start", "red_flags=yes")

    assert response.status_code == 200
    html = text(response)
    assert "Go to the emergency department now" in html
    assert '<dd data-field="address">Emergency building, 1 Demo Road</dd>' in html
    assert '<a href="tel:010-1234-5678">010-1234-5678</a>' in html
    assert "follow the red “Emergency” signs to: Emergency building, 1 Demo Road" in html
    assert reverse("booking:department") not in html


def test_an_unknown_answer_asks_again_with_the_error_tied_to_the_question(client):
    response = get(client, "booking:start", "red_flags=maybe")

    assert response.status_code == 200
    html = text(response)
    assert 'class="error-summary"' in html
    assert 'aria-describedby="red-flags-error"' in html
    assert 'id="red-flags-error"' in html


# --- steps 1 to 4 --------------------------------------------------------------------


def test_step_1_lists_the_clinics_with_links_carrying_the_patient(client, department):
    response = get(client, "booking:department", "patient=7")

    html = response.content.decode()
    assert response.status_code == 200
    assert step_indicator(html) == ("Step 1 of 5", "1. Clinic")
    assert f'href="/book/doctor/?department={department.pk}&amp;patient=7">Cataract clinic' in html


def test_step_2_shows_each_doctor_and_where_the_next_place_is(client, department, doctor):
    make_session(TODAY + DAY, doctor=doctor, slots=2, online=3)
    other = DoctorFactory(department=department, name="李华", name_en="Li Hua")

    response = get(client, "booking:doctor", f"department={department.pk}")

    html = text(response)
    assert response.status_code == 200
    assert step_indicator(html) == ("Step 2 of 5", "2. Doctor")
    # Step 1 is a link back, with what was chosen so far.
    assert '<a href="/book/department/">1. Clinic</a>' in html
    assert (
        f'href="/book/session/?department={department.pk}">Any doctor: the earliest place' in html
    )
    card = html.split(f'data-doctor="{doctor.pk}"')[1].split("</li>")[0]
    assert f'href="/book/session/?department={department.pk}&amp;doctor={doctor.pk}"' in card
    assert "Chief physician · Expert · 50.00 yuan" in card
    assert "Specialties: Cataract surgery" in card
    assert "Next: Tuesday, November 24, Morning · 6 places" in card
    other_card = html.split(f'data-doctor="{other.pk}"')[1].split("</li>")[0]
    assert "No online places in the booking window." in other_card


def test_step_3_shows_the_booking_window_day_by_day_with_each_state_in_words(
    client, settings, department, doctor
):
    settings.YUYUE_WALKIN_HOURS = "07:30–11:30"
    open_ = make_session(TODAY + DAY, doctor=doctor)
    full = make_session(TODAY + 2 * DAY, doctor=doctor, online=0)
    stopped = make_session(TODAY + 3 * DAY, doctor=doctor)
    Session.objects.filter(pk=stopped.pk).update(status=Session.Status.STOPPED, stop_reason="会议")
    newest = make_session(TODAY + 8 * DAY, doctor=doctor)  # the day after the window
    paused_doctor = DoctorFactory(department=department)
    paused = make_session(TODAY + DAY, doctor=paused_doctor, hour=14)
    closure_create(
        scope=Closure.Scope.SESSION,
        target=paused,
        channels=[Channel.ONLINE],
        starts_at=NOW - HALF_HOUR,
        reason=Closure.Reason.CAPACITY,
        notice="线上预约暂停。",
        notice_en="Online booking is paused.",
        release_places=False,
        created_by=StaffFactory(),
    )

    response = get(client, "booking:session", f"department={department.pk}")

    html = text(response)
    assert response.status_code == 200
    assert step_indicator(html) == ("Step 3 of 5", "3. Day")
    days = re.findall(r'<section class="book-day"[^>]*data-date="([\d-]+)"', html)
    assert days == [(TODAY + n * DAY).isoformat() for n in range(9)]
    states = dict(re.findall(r'data-session="(\d+)" data-state="(\w+)"', html))
    assert states == {
        str(open_.pk): "open",
        str(full.pk): "full",
        str(stopped.pk): "stopped",
        str(newest.pk): "not_released",
        str(paused.pk): "paused",
    }

    def row(session):
        return html.split(f'data-session="{session.pk}"')[1].split("</li>")[0]

    assert f'href="/book/slot/?department={department.pk}&amp;session={open_.pk}"' in row(open_)
    assert "<strong> 6 places </strong>" in row(open_)
    assert "<strong> Full </strong>" in row(full)
    assert "Stopped </strong> · 会议" in row(stopped)
    assert "Opens tomorrow 07:00" in row(newest)
    assert "Online booking paused" in row(paused)
    assert "010-0000-0000" in row(paused)
    assert "07:30–11:30" in row(paused)
    for closed in (full, stopped, newest, paused):
        assert "/book/slot/" not in row(closed)
    assert "No sessions on this day." in html


def test_step_3_with_a_doctor_shows_only_their_sessions(client, department, doctor):
    mine = make_session(TODAY + DAY, doctor=doctor)
    other = make_session(TODAY + DAY, doctor=DoctorFactory(department=department), hour=14)

    response = get(client, "booking:session", f"department={department.pk}&doctor={doctor.pk}")

    html = response.content.decode()
    assert f'data-session="{mine.pk}"' in html
    assert f'data-session="{other.pk}"' not in html
    # Back to step 2 keeps the clinic.
    assert f'<a href="/book/doctor/?department={department.pk}">2. Doctor</a>' in html


def test_step_4_lists_the_time_bands_with_places_left(client, department, doctor, session):
    first, second = session.slots.order_by("starts_at")
    Quota.objects.filter(slot=second, channel=Channel.ONLINE).update(booked=3)

    response = get(
        client,
        "booking:slot",
        f"department={department.pk}&doctor={doctor.pk}&session={session.pk}&patient=9",
    )

    html = text(response)
    assert response.status_code == 200
    assert step_indicator(html) == ("Step 4 of 5", "4. Time")
    assert (
        f'href="/book/confirm/?department={department.pk}&amp;doctor={doctor.pk}'
        f'&amp;session={session.pk}&amp;slot={first.pk}&amp;patient=9">08:00–08:30 · 3 places left'
        in html
    )
    assert "08:30–09:00 · Full" in html
    assert f"slot={second.pk}" not in html


def test_step_4_of_a_paused_session_gives_the_phone_and_the_walk_in_hours(
    client, settings, department, doctor, session
):
    settings.YUYUE_WALKIN_HOURS = "07:30–11:30"
    closure_create(
        scope=Closure.Scope.DEPARTMENT,
        target=department,
        channels=[Channel.ONLINE],
        starts_at=NOW - HALF_HOUR,
        reason=Closure.Reason.MAINTENANCE,
        notice="系统维护。",
        notice_en="System maintenance.",
        release_places=False,
        created_by=StaffFactory(),
    )

    response = get(client, "booking:slot", f"session={session.pk}")

    html = text(response)
    assert 'data-state="paused"' in html
    assert "Online booking paused" in html
    assert '<a href="tel:010-0000-0000">010-0000-0000</a>' in html
    assert "07:30–11:30" in html
    assert "/book/confirm/" not in html


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("booking:doctor", "department=999999"),
        ("booking:doctor", "department=abc"),
        ("booking:doctor", "department=-1"),
        ("booking:doctor", "department=99999999999999999999999"),
        ("booking:session", "department=999999"),
        ("booking:slot", "session=999999"),
        ("booking:slot", "session=1%00"),
    ],
)
def test_a_tampered_id_in_a_step_is_not_found(client, name, query):
    assert get(client, name, query).status_code == 404


def test_a_doctor_of_another_clinic_is_not_found(client, department, doctor):
    stranger = DoctorFactory()

    response = get(client, "booking:session", f"department={department.pk}&doctor={stranger.pk}")

    assert response.status_code == 404


def test_a_step_without_its_choice_goes_back_a_step_keeping_the_rest(client):
    response = get(client, "booking:doctor", "patient=3")

    assert response.status_code == 302
    assert response["Location"] == "/book/department/?patient=3"


# --- step 5: confirm -------------------------------------------------------------------


def test_confirm_needs_an_account_and_comes_back_to_the_step(client, session):
    try:
        reverse("patients:sign-in")
    except NoReverseMatch:
        pytest.skip("the sign-in page is not wired yet")
    slot = session.slots.first()

    response = get(client, "booking:confirm", f"slot={slot.pk}&patient=4")

    assert response.status_code == 302
    assert "next=/book/confirm/%3Fslot%3D" in response["Location"]


def test_step_5_shows_the_place_the_patients_and_a_fresh_key(client, account, session):
    me = PatientFactory(account=account, real_name="张三")
    mother = PatientFactory(account=account, real_name="李四")
    PatientFactory(real_name="别人")  # another account's
    slot = session.slots.order_by("starts_at").first()
    client.force_login(account)

    first = get(client, "booking:confirm", f"slot={slot.pk}&patient={mother.pk}")
    second = get(client, "booking:confirm", f"slot={slot.pk}&patient={mother.pk}")

    html = text(first)
    assert first.status_code == 200
    assert step_indicator(html) == ("Step 5 of 5", "5. Confirm")
    assert '<dd data-field="time">08:00–08:30</dd>' in html
    assert "Tuesday, November 24" in html
    assert "Wang Ming" in html
    assert "Expert · 50.00 yuan" in html
    assert f'name="patient" value="{me.pk}" id="patient-{me.pk}">' in html
    assert f'name="patient" value="{mother.pk}" id="patient-{mother.pk}" checked>' in html
    assert "别人" not in html
    assert f'<input type="hidden" name="slot" value="{slot.pk}"' in html
    key = re.search(r'name="idempotency_key" value="(\w+)"', html).group(1)
    assert len(key) == 32
    assert key not in text(second)


def test_step_5_with_another_accounts_patient_is_not_found(client, account, patient, session):
    stranger = PatientFactory()
    client.force_login(account)

    response = get(
        client, "booking:confirm", f"slot={session.slots.first().pk}&patient={stranger.pk}"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("slot", ["999999", "abc", "0", "1.5"])
def test_step_5_with_a_tampered_slot_is_not_found(client, account, patient, slot):
    client.force_login(account)

    assert get(client, "booking:confirm", f"slot={slot}").status_code == 404


def test_confirm_books_once_and_shows_the_confirmation(client, account, patient, session):
    slot = session.slots.order_by("starts_at").first()
    client.force_login(account)

    response = confirm_post(client, slot=slot, patient=patient, key="k1")

    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/book/booking/{booking.code}/"
    assert (booking.patient, booking.slot, booking.channel) == (patient, slot, Channel.ONLINE)
    assert booking.requested_by == account
    assert booking.idempotency_key == "k1"


def test_a_double_submit_with_the_same_key_is_one_booking(client, account, patient, session):
    slot = session.slots.first()
    client.force_login(account)

    first = confirm_post(client, slot=slot, patient=patient, key="double")
    second = confirm_post(client, slot=slot, patient=patient, key="double")

    assert Booking.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 1


def test_confirm_for_another_accounts_patient_is_not_found_and_writes_nothing(
    client, account, patient, session
):
    stranger = PatientFactory()
    client.force_login(account)

    response = confirm_post(client, slot=session.slots.first(), patient=stranger)

    assert response.status_code == 404
    assert Booking.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_confirm_without_a_patient_asks_for_one(client, account, patient, session):
    slot = session.slots.first()
    client.force_login(account)

    response = client.post(
        reverse("booking:confirm"), {"slot": slot.pk, "idempotency_key": "k"}, **EN
    )

    html = text(response)
    assert response.status_code == 400
    assert 'class="error-summary"' in html
    assert "Choose who the appointment is for." in html
    assert 'aria-describedby="patient-error"' in html
    assert Booking.objects.count() == 0


def test_a_place_that_filled_meanwhile_is_refused_with_the_nearest_alternatives(
    client, account, patient, doctor, session
):
    first, second = session.slots.order_by("starts_at")
    later = make_session(TODAY + 2 * DAY, doctor=doctor)
    client.force_login(account)
    page = get(client, "booking:confirm", f"slot={first.pk}&patient={patient.pk}")
    key = re.search(r'name="idempotency_key" value="(\w+)"', page.content.decode()).group(1)
    # Someone else takes the last places between the page and the press.
    Quota.objects.filter(slot=first, channel=Channel.ONLINE).update(booked=3)

    response = confirm_post(client, slot=first, patient=patient, key=key)

    html = text(response)
    assert response.status_code == 409
    assert 'data-code="slot_full"' in html
    assert "This time slot is fully booked." in html
    assert (
        f'href="/book/confirm/?department={session.department_id}&amp;session={session.pk}'
        f'&amp;slot={second.pk}&amp;patient={patient.pk}">Same session, 08:30–09:00 · 3 places left'
        in html
    )
    assert (
        f'href="/book/slot/?department={later.department_id}&amp;session={later.pk}'
        f'&amp;patient={patient.pk}">Wednesday, November 25, Morning' in html
    )
    assert Booking.objects.count() == 0
    # The form is still there, with the same key: trying again is one booking at most.
    assert f'name="idempotency_key" value="{key}"' in html


def test_a_closed_channel_shows_the_notice_the_phone_and_the_walk_in_hours(
    client, settings, account, patient, department, session
):
    settings.YUYUE_WALKIN_HOURS = "07:30–11:30"
    settings.YUYUE_WALKIN_WINDOWS = "Windows 1–6"
    department.phone = "010-5555-0000"
    department.save()
    closure_create(
        scope=Closure.Scope.DEPARTMENT,
        target=department,
        channels=[Channel.ONLINE],
        starts_at=NOW - HALF_HOUR,
        reason=Closure.Reason.MAINTENANCE,
        notice="系统维护。",
        notice_en="System maintenance tonight.",
        release_places=False,
        created_by=StaffFactory(),
    )
    client.force_login(account)

    response = confirm_post(client, slot=session.slots.first(), patient=patient)

    html = text(response)
    assert response.status_code == 409
    assert 'data-code="channel_closed"' in html
    assert "System maintenance tonight." in html
    assert '<a href="tel:010-5555-0000">010-5555-0000</a>' in html
    assert "Windows 1–6, 07:30–11:30" in html
    assert Booking.objects.count() == 0


def test_a_day_not_released_yet_gives_the_release_time(client, clock, account, patient, doctor):
    clock.move_to(at(TODAY, 6, 30))
    newest = make_session(TODAY + 7 * DAY, doctor=doctor)
    client.force_login(account)

    response = confirm_post(client, slot=newest.slots.first(), patient=patient)

    html = text(response)
    assert response.status_code == 400
    assert 'data-code="not_yet_released"' in html
    assert "Places for this day are released at 07:00 (Beijing time)." in html
    assert Booking.objects.count() == 0


# --- the confirmation page and its calendar ----------------------------------------------


@pytest.fixture
def booking(account, patient, session):
    return booking_create(
        patient=patient,
        slot=session.slots.order_by("starts_at").last(),
        channel=Channel.ONLINE,
        requested_by=account,
        idempotency_key=uuid.uuid4().hex,
    )


def test_the_confirmation_shows_code_queue_number_place_and_preparation(client, account, booking):
    client.force_login(account)

    response = client.get(reverse("booking:booking-detail", args=[booking.code]), **EN)

    html = text(response)
    assert response.status_code == 200
    assert f'<p class="confirmation__code" data-field="code">{booking.code}</p>' in html
    assert f'<dd data-field="queue-number">{booking.queue_number}</dd>' in html
    assert '<dd data-field="time">08:30–09:00</dd>' in html
    assert "Tuesday, November 24 2026" in html
    room = booking.session.room
    assert (
        f'<dd data-field="room">Cataract clinic · {room.code} {room.name} 门诊楼 3 层</dd>' in html
    )
    assert "Expert · 50.00 yuan" in html
    assert "do not drive afterwards" in html
    assert "Take out contact lenses" in html
    assert "Bring your current glasses and earlier eye reports." in html
    assert f'aria-label="QR code: {booking.code}"' in html
    assert f'href="/book/booking/{booking.code}/calendar.ics"' in html
    copy = re.search(r"<textarea[^>]*readonly>(.*?)</textarea>", html).group(1)
    assert f"Booking code: {booking.code}" in copy
    assert f"Queue number: {booking.queue_number}" in copy
    assert "When: 2026-11-24 (Tuesday) 08:30–09:00" in copy


def test_the_confirmation_in_chinese(client, account, booking):
    client.force_login(account)

    response = client.get(reverse("booking:booking-detail", args=[booking.code]), **ZH)

    html = text(response)
    assert '<html lang="zh-hans"' in html
    assert "白内障门诊" in html
    assert "星期二" in html
    assert booking.code in html


def test_another_accounts_booking_is_not_found(client, booking):
    client.force_login(AccountFactory())

    assert client.get(reverse("booking:booking-detail", args=[booking.code])).status_code == 404
    assert client.get(reverse("booking:booking-ics", args=[booking.code])).status_code == 404
    assert client.get(reverse("booking:booking-detail", args=["NOPE"])).status_code == 404


def test_the_ics_parses_with_the_slot_times_in_shanghai(client, account, booking):
    client.force_login(account)

    response = client.get(reverse("booking:booking-ics", args=[booking.code]), **EN)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="booking-{booking.code}.ics"'
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == at(TODAY + DAY, 8, 30)
    assert end == at(TODAY + DAY, 9, 0)
    assert str(start.tzinfo) == "Asia/Shanghai"
    assert event["dtstart"].params["TZID"] == "Asia/Shanghai"
    room = booking.session.room
    assert str(event["location"]) == f"Demo Hospital Eye Centre {room.code} {room.name} 门诊楼 3 层"
    assert booking.code in str(event["description"])
    assert "Cataract clinic" in str(event["summary"])


# --- languages ----------------------------------------------------------------------------


def test_the_steps_in_chinese_use_the_catalogue_words(client, department, doctor):
    make_session(TODAY + DAY, doctor=doctor, online=0)

    response = get(client, "booking:session", f"department={department.pk}", **ZH)

    html = text(response)
    assert '<html lang="zh-hans"' in html
    assert "白内障门诊" in html
    assert "星期二" in html
    assert "<strong> 约满 </strong>" in html


# --- query counts: fixed, whatever the number of sessions ----------------------------------


def uncached(assert_num_queries, count: int):
    """Count a page's queries with nothing cached: the site banner is cached for every
    page (booking/context_processors.py), so each measured page starts cold."""
    cache.clear()
    forget_local()
    return assert_num_queries(count)


@pytest.mark.parametrize("sessions", [1, 6])
def test_query_counts_are_fixed(
    client, django_assert_num_queries, account, patient, department, doctor, sessions
):
    made = [
        make_session(TODAY + (n % 7 + 1) * DAY, doctor=DoctorFactory(department=department))
        for n in range(sessions)
    ]
    first = made[0]
    slot = first.slots.first()
    booking = booking_create(
        patient=patient,
        slot=slot,
        channel=Channel.ONLINE,
        requested_by=account,
        idempotency_key="q",
    )
    dep = f"department={department.pk}"
    # Every page: the notices and closures of the site banner (2, base.html); signed in,
    # the session and the account (2) and the idle-expiry session save (3).
    with uncached(django_assert_num_queries, 2):
        get(client, "booking:start")
    # The departments and their sub-clinics.
    with uncached(django_assert_num_queries, 2 + 2):
        get(client, "booking:department")
    # The department, the doctors, then the availability read (4).
    with uncached(django_assert_num_queries, 2 + 6):
        get(client, "booking:doctor", dep)
    # The department, the policies, then the availability read (4).
    with uncached(django_assert_num_queries, 2 + 6):
        get(client, "booking:session", dep)
    with uncached(django_assert_num_queries, 2 + 7):  # and the doctor
        get(client, "booking:session", f"{dep}&doctor={doctor.pk}")
    # The session, its slots, its quotas, the policies, the closures in force.
    with uncached(django_assert_num_queries, 2 + 5):
        get(client, "booking:slot", f"session={first.pk}")
    client.force_login(account)
    # The slot with its places, the account's patients.
    with uncached(django_assert_num_queries, 2 + 5 + 2):
        get(client, "booking:confirm", f"slot={slot.pk}&patient={patient.pk}")
    # The booking with everything it shows.
    with uncached(django_assert_num_queries, 2 + 5 + 1):
        client.get(reverse("booking:booking-detail", args=[booking.code]))
    with uncached(django_assert_num_queries, 5 + 1):  # a file: no banner
        client.get(reverse("booking:booking-ics", args=[booking.code]))
