"""The catalogue and availability over the API (booking/apis/catalogue.py): departments,
doctors, sessions and slots, the places per channel each caller may see, filters and
their refusals, ETag/304, pinned query counts, and no read of the booking table."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from booking import services as booking_services
from booking.models import Closure
from clinics.models import Channel, ClinicLevel, Quota, Session
from tests import factories
from tests.api.conftest import issue_token
from tests.booking.conftest import NOW, SHANGHAI

pytestmark = pytest.mark.django_db

TODAY = NOW.date()  # Monday 23 November 2026, 09:00 in Shanghai
DAY = datetime.timedelta(days=1)
BOOKING_TABLE = re.compile(r"\bbooking_booking\b")

ROUTES = {
    "departments": "/api/v1/departments",
    "department": "/api/v1/departments/{code}",
    "doctors": "/api/v1/doctors",
    "doctor": "/api/v1/doctors/{doctor}",
    "sessions": "/api/v1/sessions",
    "slots": "/api/v1/sessions/{session}/slots",
}


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def otp_required(settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True


@pytest.fixture(autouse=True)
def uncached_responses(settings):
    """These tests write and read again within one frozen second: they measure the
    uncached path (the server-side cache and its coalescing second have their own tests
    in tests/api/test_availability_cache.py)."""
    settings.YUYUE_API_RESPONSE_CACHE = False


@pytest.fixture
def eye():
    return factories.DepartmentFactory(
        code="eye", name="眼科", name_en="Ophthalmology", location="门诊楼3层", sort_order=1
    )


@pytest.fixture
def cataract(eye):
    return factories.DepartmentFactory(
        code="cataract", name="白内障专科", name_en="Cataract clinic", parent=eye, sort_order=2
    )


def make_session(
    day: datetime.date,
    *,
    doctor=None,
    department=None,
    hour: int = 8,
    half_day: str = "morning",
    slots: int = 2,
    **places: int,
) -> Session:
    """A session on `day` from `hour` with `slots` 30-minute slots of `places` each
    (default 3 online, 1 phone, 2 walk-in)."""
    places = places or {"online": 3, "phone": 1, "walkin": 2}
    doctor = doctor or factories.DoctorFactory(department=department)
    start = at(day, hour)
    session = factories.SessionFactory(
        doctor=doctor,
        date=day,
        half_day=half_day,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30 * slots),
    )
    for n in range(slots):
        factories.slot_with_quotas(
            session=session, starts_at=start + datetime.timedelta(minutes=30 * n), **places
        )
    return session


def staff_client() -> Client:
    user = factories.StaffFactory()
    token = issue_token(user, second_factor=True, raw=f"staff-{user.pk}-token")
    return Client(headers={"Authorization": f"Bearer {token}"})


def staff_without_otp_client() -> Client:
    user = factories.StaffFactory()
    token = issue_token(user, second_factor=False, raw=f"staff-plain-{user.pk}-token")
    return Client(headers={"Authorization": f"Bearer {token}"})


def patient_client() -> Client:
    account = factories.AccountFactory()
    token = issue_token(account, second_factor=False, raw=f"patient-{account.pk}-token")
    return Client(headers={"Authorization": f"Bearer {token}"})


def results(response) -> dict[int, dict]:
    assert response.status_code == 200, response.content
    return {item["id"]: item for item in response.json()["results"]}


# --- departments and doctors ------------------------------------------------------------


def test_departments_in_the_requests_language(client, eye, cataract):
    factories.DepartmentFactory(code="closed-clinic", is_active=False)

    english = client.get("/api/v1/departments", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get("/api/v1/departments", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert english.status_code == 200
    assert english.json() == [
        {
            "code": "eye",
            "name": "Ophthalmology",
            "parent": None,
            "location": "门诊楼3层",  # no English location: the Chinese one
            "phone": "",
            "sub_clinics": ["cataract"],
        },
        {
            "code": "cataract",
            "name": "Cataract clinic",
            "parent": "eye",
            "location": "",
            "phone": "",
            "sub_clinics": [],
        },
    ]
    assert [d["name"] for d in chinese.json()] == ["眼科", "白内障专科"]
    assert english["ETag"] != chinese["ETag"]
    assert "Accept-Language" in english["Vary"]


def test_department_by_code(client, eye, cataract):
    response = client.get("/api/v1/departments/cataract")

    assert response.status_code == 200
    assert response.json()["parent"] == "eye"
    assert response.json()["name"] == "Cataract clinic"


@pytest.mark.parametrize("code", ["nope", "closed-clinic"])
def test_an_unknown_or_inactive_department_is_not_found(client, code):
    factories.DepartmentFactory(code="closed-clinic", is_active=False)

    response = client.get(f"/api/v1/departments/{code}")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_departments_query_count_is_fixed(client, eye, django_assert_num_queries):
    for n in range(5):
        factories.DepartmentFactory(code=f"sub-{n}", parent=eye)
    # Departments, then their sub-clinics.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/departments")
    assert len(response.json()) == 6


@pytest.fixture
def doctors(eye, cataract):
    return {
        "wang": factories.DoctorFactory(
            department=eye,
            name="王医生",
            name_en="Wang Li",
            level=ClinicLevel.EXPERT,
            title="chief",
            specialties="青光眼",
            specialties_en="Glaucoma",
        ),
        "li": factories.DoctorFactory(
            department=cataract, name="李医生", name_en="Li Na", level=ClinicLevel.GENERAL
        ),
        "zhao": factories.DoctorFactory(
            department=factories.DepartmentFactory(code="optometry"), level=ClinicLevel.GENERAL
        ),
        "gone": factories.DoctorFactory(department=eye, is_active=False),
    }


def test_doctors_filtered_by_department_and_level(client, doctors):
    everyone = client.get("/api/v1/doctors").json()
    eye = client.get("/api/v1/doctors", {"department": "eye"}).json()
    eye_general = client.get("/api/v1/doctors", {"department": "eye", "level": "general"}).json()
    general = client.get("/api/v1/doctors", {"level": "general"}).json()

    ids = {name: doctor.pk for name, doctor in doctors.items()}
    assert {d["id"] for d in everyone} == {ids["wang"], ids["li"], ids["zhao"]}
    # A department covers its sub-clinics.
    assert {d["id"] for d in eye} == {ids["wang"], ids["li"]}
    assert [d["id"] for d in eye_general] == [ids["li"]]
    assert {d["id"] for d in general} == {ids["li"], ids["zhao"]}


def test_a_doctor(client, doctors):
    wang = doctors["wang"]

    response = client.get(f"/api/v1/doctors/{wang.pk}", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.json() == {
        "id": wang.pk,
        "name": "Wang Li",
        "title": "chief",
        "level": "expert",
        "fee": "100.00",
        "specialties": "Glaucoma",
        "bio": "",
        "department": {"code": "eye", "name": "Ophthalmology"},
    }
    chinese = client.get(f"/api/v1/doctors/{wang.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert chinese["name"] == "王医生"


def test_an_inactive_or_unknown_doctor_is_not_found(client, doctors):
    assert client.get(f"/api/v1/doctors/{doctors['gone'].pk}").status_code == 404
    assert client.get("/api/v1/doctors/999999").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [({"department": "nope"}, "department"), ({"level": "vip"}, "level")],
)
def test_bad_doctor_filters_are_invalid(client, doctors, query, field):
    response = client.get("/api/v1/doctors", query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [field]


def test_doctors_query_count_is_fixed(client, doctors, django_assert_num_queries):
    for _ in range(5):
        factories.DoctorFactory(department=doctors["wang"].department)
    with django_assert_num_queries(1):
        assert len(client.get("/api/v1/doctors").json()) == 8
    # The department filter looks the department up first.
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/doctors", {"department": "eye"}).json()) == 7


# --- sessions ---------------------------------------------------------------------------


def test_a_session_as_anonymous_shows_online_and_walkin(client, eye):
    session = make_session(TODAY + DAY, department=eye)

    item = results(client.get("/api/v1/sessions"))[session.pk]

    assert item == {
        "id": session.pk,
        "doctor": {
            "id": session.doctor_id,
            "name": session.doctor.name_en,
            "title": "chief",
        },
        "department": {"code": "eye", "name": "Ophthalmology"},
        "date": "2026-11-24",
        "half_day": "morning",
        "starts_at": "2026-11-24T08:00:00+08:00",
        "ends_at": "2026-11-24T09:00:00+08:00",
        "level": "expert",
        "fee": "100.00",
        "status": "open",
        "places": {"online": 6, "walkin": 4},
        "availability": [
            {"channel": "online", "state": "open", "places": 6, "opens_at": None},
            {"channel": "walkin", "state": "open", "places": 4, "opens_at": None},
        ],
    }


@pytest.mark.parametrize(
    ("make_client", "channels"),
    [
        (patient_client, {"online", "walkin"}),
        (staff_without_otp_client, {"online", "walkin"}),
        (staff_client, {"online", "phone", "walkin"}),
    ],
)
def test_places_per_channel_by_caller(eye, make_client, channels):
    session = make_session(TODAY + DAY, department=eye)

    item = results(make_client().get("/api/v1/sessions"))[session.pk]

    assert set(item["places"]) == channels
    assert {a["channel"] for a in item["availability"]} == channels
    expected = {"online": 6, "phone": 2, "walkin": 4}
    assert item["places"] == {c: expected[c] for c in channels}


def test_the_reserved_quota_is_never_shown(eye):
    session = make_session(TODAY + DAY, department=eye, online=1, reserved=5)

    item = results(staff_client().get("/api/v1/sessions"))[session.pk]

    assert item["places"] == {"online": 2, "phone": 0, "walkin": 0}


def test_sessions_filters(client, eye, cataract, doctors):
    wang, li, zhao = doctors["wang"], doctors["li"], doctors["zhao"]
    s_wang = make_session(TODAY + DAY, doctor=wang)
    s_li = make_session(TODAY + DAY, doctor=li)
    s_zhao = make_session(TODAY + 2 * DAY, doctor=zhao)
    s_wang_later = make_session(TODAY + 3 * DAY, doctor=wang)

    def ids(**query) -> list[int]:
        return list(results(client.get("/api/v1/sessions", query)))

    assert set(ids()) == {s_wang.pk, s_li.pk, s_zhao.pk, s_wang_later.pk}
    assert set(ids(department="eye")) == {s_wang.pk, s_li.pk, s_wang_later.pk}
    assert set(ids(department="cataract")) == {s_li.pk}
    assert set(ids(doctor=wang.pk)) == {s_wang.pk, s_wang_later.pk}
    assert set(ids(level="general")) == {s_li.pk, s_zhao.pk}
    assert set(ids(date_from=str(TODAY + 2 * DAY))) == {s_zhao.pk, s_wang_later.pk}
    assert set(ids(date_from=str(TODAY + DAY), date_to=str(TODAY + 2 * DAY))) == {
        s_wang.pk,
        s_li.pk,
        s_zhao.pk,
    }
    assert ids(doctor=999999) == []


def test_sessions_in_time_order(client, eye):
    late = make_session(TODAY + 2 * DAY, department=eye)
    early = make_session(TODAY + DAY, department=eye, hour=13, half_day="afternoon")
    first = make_session(TODAY + DAY, department=eye)

    assert list(results(client.get("/api/v1/sessions"))) == [first.pk, early.pk, late.pk]


def test_default_range_is_the_booking_window(client, eye):
    # Window 7 days: today..+7 open, +8 listed as not released (it opens tomorrow), +9 not.
    factories.BookingPolicyFactory(department=eye, window_days=7)
    last = make_session(TODAY + 7 * DAY, department=eye)
    tomorrows = make_session(TODAY + 8 * DAY, department=eye)
    beyond = make_session(TODAY + 9 * DAY, department=eye)

    listed = results(client.get("/api/v1/sessions"))

    assert set(listed) == {last.pk, tomorrows.pk}
    assert listed[last.pk]["availability"][0]["state"] == "open"
    online = listed[tomorrows.pk]["availability"][0]
    assert online["state"] == "not_released"
    assert online["opens_at"] == "2026-11-24T07:00:00+08:00"
    # Asked for by date, a later day is listed, as not released.
    asked = results(client.get("/api/v1/sessions", {"date_to": str(TODAY + 9 * DAY)}))
    assert beyond.pk in asked


def test_has_places_judges_the_channels_the_caller_may_book(client, eye):
    open_online = make_session(TODAY + DAY, department=eye)
    only_phone = make_session(TODAY + DAY, department=eye, hour=13, half_day="afternoon", phone=2)
    stopped = make_session(TODAY + 2 * DAY, department=eye)
    Session.objects.filter(pk=stopped.pk).update(status=Session.Status.STOPPED)

    with_places = results(client.get("/api/v1/sessions", {"has_places": "true"}))
    without = results(client.get("/api/v1/sessions", {"has_places": "false"}))
    staff_with_places = results(staff_client().get("/api/v1/sessions", {"has_places": "true"}))

    assert set(with_places) == {open_online.pk}
    assert set(without) == {only_phone.pk, stopped.pk}
    assert without[stopped.pk]["status"] == "stopped"
    assert without[stopped.pk]["availability"][0]["state"] == "stopped"
    # Staff book by phone too: the phone-only session has places for them.
    assert set(staff_with_places) == {open_online.pk, only_phone.pk}


def test_paused_and_full_states(client, eye):
    paused = make_session(TODAY + DAY, department=eye)
    full = make_session(TODAY + 2 * DAY, department=eye, online=1, walkin=1)
    Quota.objects.filter(slot__session=full, channel=Channel.ONLINE).update(booked=1)
    Closure.objects.create(
        scope=Closure.Scope.SESSION,
        session=paused,
        online=True,
        phone=False,
        walkin=False,
        starts_at=NOW - DAY,
        reason=Closure.Reason.CAPACITY,
        notice="暂停",
        notice_en="Paused",
        created_by=factories.StaffFactory(),
    )

    listed = results(client.get("/api/v1/sessions"))

    assert [a["state"] for a in listed[paused.pk]["availability"]] == ["paused", "open"]
    assert listed[full.pk]["places"] == {"online": 0, "walkin": 2}
    assert [a["state"] for a in listed[full.pk]["availability"]] == ["full", "open"]


def test_pagination_with_limit_and_offset(client, eye):
    sessions = [make_session(TODAY + n * DAY, department=eye, hour=13) for n in range(5)]

    first = client.get("/api/v1/sessions", {"limit": 2}).json()
    second = client.get(first["next"]).json()
    last = client.get(second["next"]).json()

    assert first["count"] == 5
    assert [s["id"] for s in first["results"]] == [s.pk for s in sessions[:2]]
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/sessions?limit=2&offset=2"
    assert [s["id"] for s in second["results"]] == [s.pk for s in sessions[2:4]]
    assert second["previous"] == "http://testserver/api/v1/sessions?limit=2"
    assert [s["id"] for s in last["results"]] == [sessions[4].pk]
    assert last["next"] is None
    assert (last["limit"], last["offset"]) == (2, 4)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"department": "nope"}, "department"),
        ({"level": "vip"}, "level"),
        ({"doctor": "abc"}, "doctor"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "2026-11-25", "date_to": "2026-11-24"}, "date_to"),
        ({"date_to": "2027-01-30"}, "date_to"),
        ({"date_from": "2026-10-01"}, "date_from"),
        ({"date_from": "9999-12-31", "date_to": "9999-12-31"}, "date_from"),
        ({"date_from": "1900-01-01", "date_to": "1900-01-02"}, "date_from"),
        ({"has_places": "maybe"}, "has_places"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
def test_bad_session_filters_are_invalid(client, eye, query, field):
    response = client.get("/api/v1/sessions", query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [field]


def test_a_date_range_message_is_in_english(client):
    response = client.get("/api/v1/sessions", {"date_to": "2027-01-30"})

    assert response.json()["detail"] == "Ask for at most 31 days at a time."


def test_a_month_back_is_allowed(client, eye):
    past = make_session(TODAY - 30 * DAY, department=eye)

    listed = results(client.get("/api/v1/sessions", {"date_from": str(TODAY - 30 * DAY)}))

    assert listed[past.pk]["availability"][0]["state"] == "ended"


@pytest.mark.parametrize("count", [1, 12])
def test_sessions_query_count_is_fixed(client, eye, count, django_assert_num_queries):
    for n in range(count):
        make_session(TODAY + (n % 7) * DAY, department=eye, hour=8 + n // 7 * 5)
    # A cold cache: the policies, then the sessions, their quota totals, the closures in force.
    with django_assert_num_queries(4):
        client.get("/api/v1/sessions", {"limit": 10})
    # The policies stay cached until the availability generation moves.
    with django_assert_num_queries(3):
        response = client.get("/api/v1/sessions")
    assert response.json()["count"] == count
    # A department filter adds its lookup.
    with django_assert_num_queries(4):
        client.get("/api/v1/sessions", {"department": "eye", "level": "expert"})


# --- slots ------------------------------------------------------------------------------


def test_slots_with_places_and_bookable_now(client, eye):
    session = make_session(TODAY + DAY, department=eye, online=2, phone=1, walkin=1)
    first, second = session.slots.order_by("starts_at")
    Quota.objects.filter(slot=first, channel=Channel.ONLINE).update(booked=1, held=1)

    response = client.get(f"/api/v1/sessions/{session.pk}/slots")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": first.pk,
            "starts_at": "2026-11-24T08:00:00+08:00",
            "ends_at": "2026-11-24T08:30:00+08:00",
            "places": {"online": 0, "walkin": 1},
            "bookable_now": False,
            "refusal": {
                "code": "slot_full",
                "detail": "This time slot is fully booked. Please choose another time or "
                "join the waitlist.",
            },
        },
        {
            "id": second.pk,
            "starts_at": "2026-11-24T08:30:00+08:00",
            "ends_at": "2026-11-24T09:00:00+08:00",
            "places": {"online": 2, "walkin": 1},
            "bookable_now": True,
            "refusal": None,
        },
    ]
    staff = staff_client().get(f"/api/v1/sessions/{session.pk}/slots").json()
    assert staff[1]["places"] == {"online": 2, "phone": 1, "walkin": 1}


def refusal_codes(client, session) -> list[str | None]:
    response = client.get(f"/api/v1/sessions/{session.pk}/slots")
    assert response.status_code == 200
    return [(slot["refusal"] or {}).get("code") for slot in response.json()]


def close_online(*, starts_at: datetime.datetime, **scope) -> Closure:
    return Closure.objects.create(
        online=True,
        phone=False,
        walkin=False,
        starts_at=starts_at,
        reason=Closure.Reason.MAINTENANCE,
        notice="维护",
        notice_en="Maintenance",
        created_by=factories.StaffFactory(),
        **scope,
    )


def test_slot_refusals_a_patient_would_get(client, eye):
    started = make_session(TODAY, department=eye, hour=8, slots=3)  # 08:00, 08:30, 09:00
    stopped = make_session(TODAY + DAY, department=eye)
    Session.objects.filter(pk=stopped.pk).update(status=Session.Status.STOPPED)
    outside = make_session(TODAY + 8 * DAY, department=eye)
    closed = make_session(TODAY + 2 * DAY, department=eye)
    close_online(scope=Closure.Scope.SESSION, session=closed, starts_at=NOW)
    planned = make_session(TODAY + 3 * DAY, department=eye)
    close_online(scope=Closure.Scope.SESSION, session=planned, starts_at=NOW + DAY)

    # 09:00 has started too: a slot starting now is refused (Slot.has_started).
    assert refusal_codes(client, started) == ["slot_started", "slot_started", "slot_started"]
    assert refusal_codes(client, stopped) == ["session_stopped", "session_stopped"]
    assert refusal_codes(client, outside) == ["outside_window", "outside_window"]
    assert refusal_codes(client, closed) == ["channel_closed", "channel_closed"]
    assert refusal_codes(client, planned) == [None, None]  # planned, not in force yet
    detail = client.get(f"/api/v1/sessions/{closed.pk}/slots").json()[0]["refusal"]["detail"]
    assert detail == "Booking through this channel is closed for now. Maintenance"


def test_a_day_not_yet_released(client, eye, clock):
    clock.move_to(at(TODAY, 6))  # before the 07:00 release
    session = make_session(TODAY + 7 * DAY, department=eye)

    assert refusal_codes(client, session) == ["not_yet_released", "not_yet_released"]


def test_slots_of_an_unknown_session_are_not_found(client):
    response = client.get("/api/v1/sessions/999999/slots")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_slots_query_count_is_fixed(client, eye, django_assert_num_queries):
    few = make_session(TODAY + DAY, department=eye, slots=1)
    many = make_session(TODAY + 2 * DAY, department=eye, slots=8)
    # A cold cache: the session, the policies, its slots with their places per channel
    # (one grouped query), the closures covering it.
    with django_assert_num_queries(4):
        client.get(f"/api/v1/sessions/{few.pk}/slots")
    # The policies stay cached until the availability generation moves.
    for session in (few, many):
        with django_assert_num_queries(3):
            response = client.get(f"/api/v1/sessions/{session.pk}/slots")
        assert len(response.json()) == session.slots.count()


# --- a sold-out session never reads the booking table -----------------------------------


def test_a_sold_out_session_answers_from_the_quotas_alone(client, eye):
    session = make_session(TODAY + DAY, department=eye, slots=1, online=1, walkin=0)
    patient = factories.PatientFactory()
    booking_services.booking_create(
        patient=patient,
        slot=session.slots.get(),
        channel=Channel.ONLINE,
        requested_by=patient.account,
        idempotency_key="sold-out",
    )

    with CaptureQueriesContext(connection) as listing:
        listed = results(client.get("/api/v1/sessions"))
    with CaptureQueriesContext(connection) as slots:
        slot = client.get(f"/api/v1/sessions/{session.pk}/slots").json()[0]

    assert listed[session.pk]["availability"][0] == {
        "channel": "online",
        "state": "full",
        "places": 0,
        "opens_at": None,
    }
    assert slot["refusal"]["code"] == "slot_full"
    queries = [q["sql"] for q in listing.captured_queries + slots.captured_queries]
    assert queries, "the capture saw the queries"
    assert [q for q in queries if BOOKING_TABLE.search(q)] == []
    # The policy table shares the prefix: the pattern must tell them apart.
    assert BOOKING_TABLE.search('FROM "booking_booking" WHERE')
    assert not BOOKING_TABLE.search('FROM "booking_bookingpolicy"')


# --- HTTP caching -----------------------------------------------------------------------


def test_etag_and_304(client, eye):
    session = make_session(TODAY + DAY, department=eye)
    url = f"/api/v1/sessions/{session.pk}/slots"

    first = client.get(url)
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    weak = client.get(url, HTTP_IF_NONE_MATCH=f'W/{first["ETag"]}, "other"')
    Quota.objects.filter(slot__session=session, channel=Channel.ONLINE).update(booked=1)
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert re.fullmatch(r'"[0-9a-f]{32}"', first["ETag"])
    assert first["Cache-Control"] == "public, max-age=5"
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert weak.status_code == 304
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]
    assert changed.json()[0]["places"]["online"] == 2


@pytest.mark.parametrize("route", ["departments", "doctors", "sessions"])
def test_every_read_has_an_etag(client, eye, route):
    make_session(TODAY + DAY, department=eye)

    first = client.get(ROUTES[route])
    again = client.get(ROUTES[route], HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert again.status_code == 304
    max_age = 5 if route == "sessions" else 60
    assert first["Cache-Control"] == f"public, max-age={max_age}"


def test_a_signed_in_callers_answer_is_private(eye):
    make_session(TODAY + DAY, department=eye)

    response = staff_client().get("/api/v1/sessions")

    assert response["Cache-Control"] == "private, max-age=5"
    assert {"Accept-Language", "Authorization", "Cookie"} <= {
        v.strip() for v in response["Vary"].split(",")
    }


def test_staff_and_public_answers_differ_in_etag(client, eye):
    make_session(TODAY + DAY, department=eye)

    public = client.get("/api/v1/sessions")
    staff = staff_client().get("/api/v1/sessions", HTTP_IF_NONE_MATCH=public["ETag"])

    assert staff.status_code == 200
    assert staff["ETag"] != public["ETag"]


# --- read-only --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_catalogue_is_read_only(client, eye, method, route):
    session = make_session(TODAY + DAY, department=eye)
    path = ROUTES[route].format(code="eye", doctor=session.doctor_id, session=session.pk)
    for caller in (client, staff_client()):
        response = getattr(caller, method)(path, data="{}", content_type="application/json")
        assert response.status_code == 405, (caller, response.content)
        assert response.json()["code"] == "method_not_allowed"


def test_head_answers_like_get(client, eye):
    make_session(TODAY + DAY, department=eye)

    response = client.head("/api/v1/sessions")

    assert response.status_code == 200
    assert response["ETag"] == client.get("/api/v1/sessions")["ETag"]
