"""The front desk's API: phone bookings, check-in, a session's queue — per role, with
every refusal in the one shape and nothing changed by a refusal."""

import datetime
import secrets

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client

from booking import services as booking_services
from booking.models import Booking
from booking.services.stops import session_stop
from clinics.models import Channel, Quota
from frontdesk import services as desk_services
from frontdesk.models import QueueTicket
from patients.authentication import token_hash
from patients.models import ApiToken
from staff import roles
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.helpers import assert_books_balance, snapshot
from tests.staff.conftest import sign_in_verified

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/staff/bookings"
CHECK_INS = "/api/v1/staff/check-ins"
TODAY = NOW.date()
TOMORROW = TODAY + datetime.timedelta(days=1)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def otp_required(settings):
    """Production's rule: staff endpoints need a verified second factor."""
    settings.YUYUE_ADMIN_REQUIRE_OTP = True


def staff_in(role: str, **kwargs):
    user = factories.StaffFactory(**kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


def token_client(user, *, second_factor: bool = True) -> Client:
    """An API client with a bearer token, as the sign-in issues it."""
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        account=user,
        key_hash=token_hash(raw),
        second_factor=second_factor,
        created_at=NOW - datetime.timedelta(minutes=1),
        expires_at=NOW + datetime.timedelta(hours=8),
    )
    return Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})


@pytest.fixture
def desk():
    return staff_in(roles.FRONT_DESK)


@pytest.fixture
def desk_api(desk):
    return token_client(desk)


def session_on(day: datetime.date, *, hour: int = 10, doctor=None, **quotas):
    """A session on `day` from `hour`:00 with two half-hour slots, each with `quotas`."""
    extra = {"doctor": doctor} if doctor else {}
    session = factories.SessionFactory(
        date=day, starts_at=at(day, hour), ends_at=at(day, hour + 2), **extra
    )
    for band in range(2):
        factories.slot_with_quotas(
            session=session,
            starts_at=at(day, hour) + datetime.timedelta(minutes=30 * band),
            **quotas,
        )
    return session


def first_slot(session):
    return session.slots.order_by("starts_at").first()


def book_phone(client, patient, slot, *, key="key-1"):
    return client.post(
        BOOKINGS,
        {"patient": patient.pk, "slot": slot.pk},
        content_type="application/json",
        headers={"Idempotency-Key": key} if key else {},
    )


# --- phone bookings ------------------------------------------------------------------------


def test_the_front_desk_books_a_caller_in_the_phone_channel(desk, desk_api):
    patient = factories.PatientFactory(real_name="王秀英")
    session = session_on(TOMORROW, phone=2, online=3)
    slot = first_slot(session)

    response = book_phone(desk_api, patient, slot)

    assert response.status_code == 201
    booking = Booking.objects.get()
    assert response.json() == {
        "id": booking.pk,
        "code": booking.code,
        "queue_number": 1,
        "status": "confirmed",
        "channel": "phone",
        "patient": patient.pk,
        "patient_name": "王秀英",
        "slot": slot.pk,
        "session": session.pk,
        "department": session.department_id,
        "department_name": session.department.name_en,
        "doctor_name": session.doctor.name_en,
        "level": "expert",
        "room": session.room.code,
        "visit_date": "2026-11-24",
        "starts_at": "2026-11-24T10:00:00+08:00",
        "ends_at": "2026-11-24T10:30:00+08:00",
        "created_at": "2026-11-23T09:00:00+08:00",
    }
    assert booking.channel == Channel.PHONE
    assert booking.requested_by == desk
    assert booking.booked_by == Booking.BookedBy.STAFF
    assert Quota.objects.get(slot=slot, channel=Channel.PHONE).booked == 1
    assert Quota.objects.get(slot=slot, channel=Channel.ONLINE).booked == 0
    assert_books_balance()


def test_a_replay_with_the_same_key_returns_the_first_response(desk_api):
    patient = factories.PatientFactory()
    slot = first_slot(session_on(TOMORROW, phone=2))

    first = book_phone(desk_api, patient, slot, key="same")
    again = book_phone(desk_api, patient, slot, key="same")

    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert Booking.objects.count() == 1
    assert Quota.objects.get(slot=slot, channel=Channel.PHONE).booked == 1


def test_the_same_key_for_another_slot_is_refused(desk_api):
    patient = factories.PatientFactory()
    session = session_on(TOMORROW, phone=2)
    slots = list(session.slots.order_by("starts_at"))
    book_phone(desk_api, patient, slots[0], key="same")
    before = snapshot()

    response = book_phone(desk_api, patient, slots[1], key="same")

    assert response.status_code == 422
    assert response.json() == {
        "code": "idempotency_key_reused",
        "detail": "This request key was already used for a different booking.",
    }
    assert snapshot() == before


@pytest.mark.parametrize("key", [None, "x" * 65])
def test_an_idempotency_key_is_required_and_short(desk_api, key):
    patient = factories.PatientFactory()
    slot = first_slot(session_on(TOMORROW, phone=2))
    before = snapshot()

    response = book_phone(desk_api, patient, slot, key=key)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["Idempotency-Key"]
    assert snapshot() == before


def test_an_unknown_patient_or_slot_is_a_field_error(desk_api):
    slot = first_slot(session_on(TOMORROW, phone=2))
    before = snapshot()

    response = desk_api.post(
        BOOKINGS,
        {"patient": 999999, "slot": slot.pk + 1000},
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )

    assert response.status_code == 400
    assert sorted(response.json()["fields"]) == ["patient", "slot"]
    assert snapshot() == before


def _full(session):
    Quota.objects.filter(slot__session=session, channel=Channel.PHONE).update(booked=1)


def _stopped(session):
    session_stop(session=session, reason="Doctor ill", stopped_by=factories.StaffFactory())


@pytest.mark.parametrize(
    ("code", "status", "detail", "arrange"),
    [
        (
            "slot_full",
            409,
            "This time slot is fully booked. Please choose another time or join the waitlist.",
            _full,
        ),
        (
            "session_stopped",
            409,
            "The doctor has stopped this session. Please choose another session.",
            _stopped,
        ),
    ],
)
def test_booking_refusals_say_why_and_change_nothing(desk_api, code, status, detail, arrange):
    patient = factories.PatientFactory()
    session = session_on(TOMORROW, phone=1)
    arrange(session)
    before = snapshot()

    response = book_phone(desk_api, patient, first_slot(session))

    assert response.status_code == status
    assert response.json() == {"code": code, "detail": detail}
    assert snapshot() == before


def test_the_same_rules_as_online_one_booking_per_session(desk_api):
    patient = factories.PatientFactory()
    session = session_on(TOMORROW, phone=2)
    slots = list(session.slots.order_by("starts_at"))
    book_phone(desk_api, patient, slots[0], key="a")
    before = snapshot()

    response = book_phone(desk_api, patient, slots[1], key="b")

    assert response.status_code == 409
    assert response.json() == {
        "code": "already_booked_session",
        "detail": "This patient already has a booking in this session.",
    }
    assert snapshot() == before


def test_refusals_in_the_request_language(desk_api):
    patient = factories.PatientFactory()
    session = session_on(TOMORROW, phone=1)
    _full(session)

    response = desk_api.post(
        BOOKINGS,
        {"patient": patient.pk, "slot": first_slot(session).pk},
        content_type="application/json",
        headers={"Idempotency-Key": "k", "Accept-Language": "zh-hans"},
    )

    assert response.json()["code"] == "slot_full"
    assert response.json()["detail"] != (
        "This time slot is fully booked. Please choose another time or join the waitlist."
    )


# --- who may call ----------------------------------------------------------------------------


def _client_for(who: str, patient) -> Client:
    if who == "anonymous":
        return Client()
    if who == "patient token":
        return token_client(patient.account, second_factor=False)
    if who == "front desk, password only":
        client = Client()
        client.force_login(staff_in(roles.FRONT_DESK))
        return client
    if who == "front desk token without second factor":
        return token_client(staff_in(roles.FRONT_DESK), second_factor=False)
    if who == "doctor":
        user = staff_in(roles.DOCTOR)
        factories.DoctorFactory(account=user)
        return token_client(user)
    if who == "ops":
        return token_client(staff_in(roles.OPS))
    raise AssertionError(who)


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("patient token", 403, "permission_denied"),
        ("front desk, password only", 403, "permission_denied"),
        ("front desk token without second factor", 403, "permission_denied"),
        ("doctor", 403, "permission_denied"),
        ("ops", 403, "permission_denied"),
    ],
)
def test_only_the_front_desk_with_a_second_factor_may_write(patient, who, status, code):
    session = session_on(TODAY, phone=2, online=2)
    booking = booking_services.booking_create(
        patient=patient,
        slot=first_slot(session),
        channel=Channel.ONLINE,
        requested_by=patient.account,
    )
    client = _client_for(who, patient)
    other = factories.PatientFactory()
    before = snapshot()

    booked = book_phone(client, other, session.slots.order_by("starts_at").last())
    checked = client.post(CHECK_INS, {"code": booking.code}, content_type="application/json")

    assert (booked.status_code, booked.json()["code"]) == (status, code)
    assert (checked.status_code, checked.json()["code"]) == (status, code)
    assert snapshot() == before
    assert not QueueTicket.objects.exists()


def test_a_session_verified_with_django_otp_may_book(patient):
    user = staff_in(roles.FRONT_DESK)
    client = Client()
    sign_in_verified(client, user)

    response = book_phone(client, patient, first_slot(session_on(TOMORROW, phone=1)))

    assert response.status_code == 201
    assert Booking.objects.get().requested_by == user


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_not_allowed(desk_api, method):
    for url in (BOOKINGS, CHECK_INS):
        response = getattr(desk_api, method)(url)
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"


# --- check-in --------------------------------------------------------------------------------


def todays_booking(patient, *, hour: int = 10):
    session = session_on(TODAY, hour=hour, online=3)
    return booking_services.booking_create(
        patient=patient,
        slot=first_slot(session),
        channel=Channel.ONLINE,
        requested_by=patient.account,
    )


def check_in(client, code, **extra):
    return client.post(CHECK_INS, {"code": code, **extra}, content_type="application/json")


def test_a_booking_code_checks_in_and_returns_the_ticket(desk, desk_api):
    patient = factories.PatientFactory(real_name="王秀英", birth_date=datetime.date(1980, 1, 1))
    booking = todays_booking(patient)

    response = check_in(desk_api, f" {booking.code.lower()}\n", disability=True)

    assert response.status_code == 200
    ticket = QueueTicket.objects.get()
    room = booking.session.room
    assert response.json() == {
        "id": ticket.pk,
        "booking": booking.pk,
        "booking_code": booking.code,
        "session": booking.session_id,
        "room": room.pk,
        "room_code": room.code,
        "room_name": room.name,
        "number": booking.queue_number,
        "position": 1,
        "state": "waiting",
        "priority": "disability",
        "late": False,
        "skips": 0,
        "calls": 0,
        "patient_name": "王秀英",
        "checked_in_at": "2026-11-23T09:00:00+08:00",
        "called_at": None,
        "done_at": None,
    }
    assert ticket.checked_in_by == desk
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CHECKED_IN


def test_checking_in_twice_returns_the_same_ticket(desk_api, patient):
    booking = todays_booking(patient)

    first = check_in(desk_api, booking.code)
    again = check_in(desk_api, booking.code)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert QueueTicket.objects.count() == 1


def test_an_unknown_code_is_not_found(desk_api):
    response = check_in(desk_api, "NOSUCH12")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "detail": "No booking has this code. Check the code.",
    }


def test_not_today_is_refused(desk_api, patient):
    session = session_on(TOMORROW, online=3)
    booking = booking_services.booking_create(
        patient=patient,
        slot=first_slot(session),
        channel=Channel.ONLINE,
        requested_by=patient.account,
    )
    before = snapshot()

    response = check_in(desk_api, booking.code)

    assert response.status_code == 409
    assert response.json() == {
        "code": "not_today",
        "detail": "This booking is for Nov. 24, 2026, not today.",
    }
    assert snapshot() == before
    assert not QueueTicket.objects.exists()


def test_a_cancelled_booking_is_refused(desk_api, patient):
    booking = todays_booking(patient, hour=14)  # online cancellation still open
    booking_services.booking_cancel(booking=booking, requested_by=patient.account)
    before = snapshot()

    response = check_in(desk_api, booking.code)

    assert response.status_code == 409
    assert response.json() == {
        "code": "booking_cancelled",
        "detail": "This booking was cancelled. Please book again.",
    }
    assert snapshot() == before


@pytest.mark.parametrize("status", [Booking.Status.COMPLETED, Booking.Status.NO_SHOW])
def test_a_visit_that_is_over_is_not_checkable(desk_api, patient, status):
    booking = todays_booking(patient)
    Booking.objects.filter(pk=booking.pk).update(status=status)
    before = snapshot()

    response = check_in(desk_api, booking.code)

    assert response.status_code == 409
    assert response.json()["code"] == "not_checkable"
    assert snapshot() == before


def test_a_hospital_cancellation_is_refused_with_the_alternatives(desk_api, patient):
    booking = todays_booking(patient, hour=10)
    stopped = booking.session
    # The same doctor's next session, with online places: where the patient can go.
    later = session_on(TOMORROW, hour=8, doctor=stopped.doctor, online=2)
    session_stop(session=stopped, reason="Doctor ill", stopped_by=factories.StaffFactory())
    before = snapshot()

    response = check_in(desk_api, booking.code)

    assert response.status_code == 409
    assert response.json() == {
        "code": "booking_cancelled_by_hospital",
        "detail": "The hospital cancelled this booking (Doctor ill). "
        "Please choose another session; the desk can suggest one.",
        "alternatives": [
            {
                "id": later.pk,
                "date": "2026-11-24",
                "starts_at": "2026-11-24T08:00:00+08:00",
                "ends_at": "2026-11-24T10:00:00+08:00",
                "department": later.department_id,
                "department_name": later.department.name_en,
                "doctor": later.doctor_id,
                "doctor_name": later.doctor.name_en,
                "level": "expert",
            }
        ],
    }
    assert snapshot() == before
    assert not QueueTicket.objects.exists()


# --- the queue -------------------------------------------------------------------------------


def queue_url(session) -> str:
    return f"/api/v1/staff/sessions/{session.pk}/queue"


@pytest.fixture
def running_queue(desk):
    """A session today with three checked-in patients: one seen, one called, one waiting."""
    session = session_on(TODAY, hour=10, online=3)
    slot = first_slot(session)
    names = ["张三明", "李四", "王五"]
    tickets = []
    for name in names:
        patient = factories.PatientFactory(real_name=name)
        booking = booking_services.booking_create(
            patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
        )
        tickets.append(desk_services.queue_check_in(booking=booking, checked_in_by=desk))
    desk_services.queue_call_next(session=session, called_by=desk)
    desk_services.queue_call_next(session=session, called_by=desk)
    return session


def test_the_front_desk_reads_a_session_queue(desk_api, running_queue):
    session = running_queue

    response = desk_api.get(queue_url(session))

    assert response.status_code == 200
    body = response.json()
    assert body["session"] == {
        "id": session.pk,
        "date": "2026-11-23",
        "starts_at": "2026-11-23T10:00:00+08:00",
        "ends_at": "2026-11-23T12:00:00+08:00",
        "status": "open",
        "room": session.room.code,
        "doctor_name": session.doctor.name_en,
        "department_name": session.department.name_en,
    }
    assert body["called"]["patient_name"] == "李四"
    assert body["called"]["state"] == "called"
    assert [t["patient_name"] for t in body["waiting"]] == ["王五"]
    assert [t["patient_name"] for t in body["done"]] == ["张三明"]
    assert body["done"][0]["state"] == "done"


def test_the_queue_read_costs_a_fixed_number_of_queries(
    desk_api, running_queue, django_assert_num_queries
):
    desk_api.get(queue_url(running_queue))  # warm the token's last-used write

    # the token, the permissions, the doctor check, the session, its tickets with patients
    with django_assert_num_queries(5):
        response = desk_api.get(queue_url(running_queue))

    assert response.status_code == 200


def test_a_doctor_reads_only_their_own_sessions(running_queue):
    session = running_queue
    own = staff_in(roles.DOCTOR)
    session.doctor.account = own
    session.doctor.save()
    stranger = staff_in(roles.DOCTOR)
    factories.DoctorFactory(account=stranger)

    assert token_client(own).get(queue_url(session)).status_code == 200
    refused = token_client(stranger).get(queue_url(session))
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("patient token", 403),
        ("front desk, password only", 403),
        ("front desk token without second factor", 403),
        ("ops", 403),
    ],
)
def test_the_queue_is_for_desk_and_doctors_only(running_queue, patient, who, status):
    response = _client_for(who, patient).get(queue_url(running_queue))

    assert response.status_code == status
    assert "王五" not in response.content.decode()


def test_an_unknown_session_queue_is_not_found(desk_api):
    response = desk_api.get("/api/v1/staff/sessions/999999/queue")

    assert response.status_code == 404


def test_phone_bookings_are_throttled_per_account(desk_api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "booking_write": "2/min",
        },
    }
    session = session_on(TOMORROW, phone=5)
    slot = first_slot(session)
    patients = [factories.PatientFactory() for _ in range(3)]

    statuses = [
        book_phone(desk_api, p, slot, key=f"k{i}").status_code for i, p in enumerate(patients)
    ]

    assert statuses == [201, 201, 429]
    assert Booking.objects.count() == 2
