"""FHIR R4 read API: Schedule and Slot (public), Appointment (the caller's own); every
resource validated with fhir.resources' R4B models."""

import pytest
from django.test import Client
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from booking import services as booking_services
from interop import fhir
from tests import factories
from tests.interop.conftest import book_online, day, session_with_slots, token_client

pytestmark = pytest.mark.django_db

BASE = "http://testserver/api/v1/fhir"
MODELS = {"Schedule": Schedule, "Slot": Slot, "Appointment": Appointment}


def search(client, url, **params):
    response = client.get(url, params, headers={"Accept-Language": "en"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fhir+json"
    body = response.json()
    Bundle.model_validate(body)
    for entry in body["entry"]:
        MODELS[entry["resource"]["resourceType"]].model_validate(entry["resource"])
    return body


def resources(bundle) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"]]


def ids(bundle) -> list[str]:
    return [resource["id"] for resource in resources(bundle)]


# --- Schedule --------------------------------------------------------------------------------


def test_schedule_search_lists_departments_then_doctors(clinic, client):
    bundle = search(client, "/api/v1/fhir/Schedule")

    departments = f"department-{clinic['glaucoma'].pk}", f"department-{clinic['paediatric'].pk}"
    doctors = f"doctor-{clinic['li'].pk}", f"doctor-{clinic['wang'].pk}"
    assert ids(bundle) == [*departments, *doctors]
    assert bundle["total"] == 4
    assert bundle["type"] == "searchset"
    assert bundle["link"] == [{"relation": "self", "url": f"{BASE}/Schedule"}]
    assert bundle["entry"][0]["fullUrl"] == f"{BASE}/Schedule/{departments[0]}"


def test_a_doctor_schedule_names_the_location_then_the_practitioner(clinic, client):
    li, glaucoma = clinic["li"], clinic["glaucoma"]

    response = client.get(
        f"/api/v1/fhir/Schedule/doctor-{li.pk}", headers={"Accept-Language": "en"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert response["Cache-Control"] == "public, max-age=60"
    body = response.json()
    Schedule.model_validate(body)
    assert body == {
        "resourceType": "Schedule",
        "id": f"doctor-{li.pk}",
        "active": True,
        "serviceType": [
            {
                "coding": [
                    {"system": "urn:yuyue:clinic-level", "code": "expert", "display": "Expert"}
                ]
            }
        ],
        "specialty": [{"coding": [fhir.OPHTHALMOLOGY]}],
        "actor": [
            {"reference": f"Location/department-{glaucoma.pk}", "display": "Glaucoma clinic"},
            {"reference": f"Practitioner/doctor-{li.pk}", "display": "Li Xiuying"},
        ],
        "comment": "Li Xiuying (Chief physician)",
    }


def test_a_department_schedule(clinic, client):
    glaucoma = clinic["glaucoma"]

    body = client.get(f"/api/v1/fhir/Schedule/department-{glaucoma.pk}").json()

    Schedule.model_validate(body)
    assert body["actor"] == [
        {"reference": f"Location/department-{glaucoma.pk}", "display": glaucoma.name}
    ]


@pytest.mark.parametrize("schedule_id", ["doctor-999999", "department-0", "nurse-1", "doctor-x"])
def test_an_unknown_schedule_is_not_found(clinic, client, schedule_id):
    response = client.get(f"/api/v1/fhir/Schedule/{schedule_id}")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


# --- Slot ------------------------------------------------------------------------------------


def test_slot_search_free_and_busy_from_the_online_quota(clinic, client):
    bundle = search(client, "/api/v1/fhir/Slot")

    statuses = {r["id"]: r["status"] for r in resources(bundle)}
    assert statuses == {
        f"slot-{clinic['free'].pk}": "free",
        f"slot-{clinic['full'].pk}": "busy",  # no online place left
        f"slot-{clinic['stopped'].pk}": "busy",  # the session is stopped
        f"slot-{clinic['unreleased'].pk}": "busy",  # its day opens tomorrow at 07:00
    }
    # Not published: started slots, slots without online places, days past the window.
    assert ids(bundle)[0] == f"slot-{clinic['free'].pk}"  # time order


def test_a_free_slot_carries_its_booking_deep_link(clinic, client):
    free, session = clinic["free"], clinic["tomorrow"]

    bundle = search(client, "/api/v1/fhir/Slot", status="free")

    link = (
        f"http://testserver/book/confirm/?department={session.department_id}"
        f"&doctor={session.doctor_id}&session={session.pk}&slot={free.pk}"
    )
    assert resources(bundle) == [
        {
            "resourceType": "Slot",
            "id": f"slot-{free.pk}",
            "schedule": {"reference": f"Schedule/doctor-{clinic['li'].pk}"},
            "status": "free",
            "start": "2026-11-24T08:00:00+08:00",
            "end": "2026-11-24T08:30:00+08:00",
            "serviceType": [
                {
                    "coding": [
                        {"system": "urn:yuyue:clinic-level", "code": "expert", "display": "Expert"}
                    ]
                }
            ],
            "specialty": [{"coding": [fhir.OPHTHALMOLOGY]}],
            "comment": link,
            "extension": [
                {"url": fhir.BOOKING_DEEP_LINK, "valueUrl": link},
                {"url": fhir.BOOKING_PHONE, "valueString": "010-1111-2222"},
                {"url": fhir.SLOT_CAPACITY, "valueInteger": 2},
            ],
        }
    ]


def test_a_busy_slot_links_to_its_session_and_has_no_capacity(clinic, client, settings):
    settings.YUYUE_PUBLIC_URL = "https://yuyue.example.org/"
    full, session = clinic["full"], clinic["tomorrow"]

    bundle = search(
        client, "/api/v1/fhir/Slot", schedule=f"doctor-{clinic['li'].pk}", status="busy"
    )

    slot = next(r for r in resources(bundle) if r["id"] == f"slot-{full.pk}")
    link = (
        f"https://yuyue.example.org/book/slot/?department={session.department_id}"
        f"&doctor={session.doctor_id}&session={session.pk}"
    )
    assert slot["extension"] == [
        {"url": fhir.BOOKING_DEEP_LINK, "valueUrl": link},
        {"url": fhir.BOOKING_PHONE, "valueString": "010-1111-2222"},
    ]
    assert bundle["link"][0]["url"].startswith("https://yuyue.example.org/api/v1/fhir/Slot?")


def test_a_booking_turns_the_last_online_place_busy(clinic, client):
    free = clinic["free"]
    for _ in range(2):
        book_online(factories.PatientFactory(), free)

    bundle = search(client, "/api/v1/fhir/Slot", status="free")

    assert ids(bundle) == []


def test_slot_search_by_schedule(clinic, client):
    wang, paediatric = clinic["wang"], clinic["paediatric"]
    stopped = f"slot-{clinic['stopped'].pk}"

    by_doctor = search(client, "/api/v1/fhir/Slot", schedule=f"doctor-{wang.pk}")
    by_department = search(
        client, "/api/v1/fhir/Slot", schedule=f"Schedule/department-{paediatric.pk}"
    )
    by_parent = search(client, "/api/v1/fhir/Slot", schedule=f"department-{clinic['glaucoma'].pk}")
    unknown = search(client, "/api/v1/fhir/Slot", schedule="doctor-999999")

    assert ids(by_doctor) == ids(by_department) == [stopped]
    assert stopped not in ids(by_parent)  # a department's own sessions, not its sub-clinics'
    assert len(ids(by_parent)) == 3
    assert ids(unknown) == []


@pytest.mark.parametrize(
    ("starts", "expected"),
    [
        (["2026-11-24"], ["free", "full"]),
        (["ge2026-11-25"], ["stopped", "unreleased"]),
        (["gt2026-11-24", "lt2026-12-01"], ["stopped"]),
        (["le2026-11-24"], ["free", "full"]),
        (["ge2026-11-24T08:30:00+08:00", "lt2026-11-25"], ["full"]),
        (["eq2026-11-24T08:00:00"], ["free"]),  # a time without zone is Beijing's
    ],
)
def test_slot_search_by_start(clinic, client, starts, expected):
    bundle = client.get("/api/v1/fhir/Slot", {"start": starts}).json()

    assert ids(bundle) == [f"slot-{clinic[name].pk}" for name in expected]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"start": "ge2026-13-01"}, "start"),
        ({"schedule": "room-1"}, "schedule"),
        ({"status": "tentative"}, "status"),
    ],
)
def test_unreadable_searches_are_refused(clinic, client, params, field):
    response = client.get("/api/v1/fhir/Slot", params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/fhir+json"
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]


def test_fhir_json_whatever_the_accept_header(clinic, client):
    response = client.get("/api/v1/fhir/Slot", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"


def test_public_reads_ignore_a_bad_token(clinic):
    client = Client(headers={"Authorization": "Bearer not-a-token"})

    assert client.get("/api/v1/fhir/Slot").status_code == 200
    assert client.get("/api/v1/fhir/Schedule").status_code == 200


def test_slot_search_costs_a_fixed_number_of_queries(clinic, client, django_assert_num_queries):
    book_online(factories.PatientFactory(), clinic["free"])

    # policies, sessions, quota totals, closures, published quotas
    with django_assert_num_queries(5):
        client.get("/api/v1/fhir/Slot")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_fhir_is_read_only(clinic, client, method):
    for url in ("/api/v1/fhir/Slot", "/api/v1/fhir/Schedule", "/api/v1/fhir/Appointment"):
        assert getattr(client, method)(url).status_code == 405


# --- Appointment -----------------------------------------------------------------------------


@pytest.fixture
def bookings(clinic):
    """Patient A's account: two patients, one booking each (one cancelled by the patient);
    patient B (another account): one booking."""
    a = factories.PatientFactory(real_name="王秀英")
    a_family = factories.PatientFactory(account=a.account, real_name="王小明")
    b = factories.PatientFactory(real_name="李四")
    doctor = factories.DoctorFactory(department=clinic["glaucoma"])
    _session, slots = session_with_slots(doctor, day(1), hour=14, first={"online": 5})
    mine = book_online(a, clinic["free"])
    family = book_online(a_family, slots["first"])
    booking_services.booking_cancel(booking=family, requested_by=a.account, reason="better")
    theirs = book_online(b, slots["first"])
    return {"a": a, "b": b, "mine": mine, "family": family, "theirs": theirs}


def test_appointments_are_the_caller_accounts_own(bookings, clinic):
    client = token_client(bookings["a"].account)

    bundle = search(client, "/api/v1/fhir/Appointment")

    assert sorted(ids(bundle)) == sorted(
        [f"booking-{bookings['mine'].pk}", f"booking-{bookings['family'].pk}"]
    )
    text = str(bundle)
    assert "李四" not in text
    assert bookings["theirs"].code not in text


def test_an_appointment_maps_a_booking(bookings, clinic):
    mine = bookings["mine"]
    client = token_client(bookings["a"].account)

    response = client.get(f"/api/v1/fhir/Appointment/booking-{mine.pk}")

    assert response.status_code == 200
    body = response.json()
    Appointment.model_validate(body)
    li, glaucoma = clinic["li"], clinic["glaucoma"]
    assert body == {
        "resourceType": "Appointment",
        "id": f"booking-{mine.pk}",
        "meta": {"lastUpdated": "2026-11-23T09:00:00+08:00"},
        "identifier": [{"system": "urn:yuyue:booking-code", "value": mine.code}],
        "status": "booked",
        "serviceType": [
            {
                "coding": [
                    {"system": "urn:yuyue:clinic-level", "code": "expert", "display": "Expert"}
                ]
            }
        ],
        "specialty": [{"coding": [fhir.OPHTHALMOLOGY]}],
        "description": f"Glaucoma clinic Li Xiuying #{mine.queue_number}",
        "start": "2026-11-24T08:00:00+08:00",
        "end": "2026-11-24T08:30:00+08:00",
        "created": "2026-11-23T09:00:00+08:00",
        "slot": [{"reference": f"Slot/slot-{clinic['free'].pk}"}],
        "participant": [
            {
                "actor": {"reference": f"Patient/patient-{bookings['a'].pk}", "display": "王秀英"},
                "status": "accepted",
            },
            {
                "actor": {"reference": f"Practitioner/doctor-{li.pk}", "display": "Li Xiuying"},
                "status": "accepted",
            },
            {
                "actor": {
                    "reference": f"Location/department-{glaucoma.pk}",
                    "display": "Glaucoma clinic",
                },
                "status": "accepted",
            },
        ],
    }


def test_a_cancelled_appointment_says_who_cancelled(bookings):
    client = token_client(bookings["a"].account)

    body = client.get(f"/api/v1/fhir/Appointment/booking-{bookings['family'].pk}").json()

    Appointment.model_validate(body)
    assert body["status"] == "cancelled"
    assert body["cancelationReason"] == {
        "coding": [
            {"system": fhir.CANCELLATION_REASON_SYSTEM, "code": "pat", "display": "Patient"}
        ],
        "text": "better",
    }


@pytest.mark.parametrize("appointment_id", ["theirs", "booking-999999", "slot-1", "booking-x"])
def test_another_accounts_appointment_is_not_found(bookings, appointment_id):
    client = token_client(bookings["a"].account)
    if appointment_id == "theirs":
        appointment_id = f"booking-{bookings['theirs'].pk}"

    response = client.get(f"/api/v1/fhir/Appointment/{appointment_id}")

    assert response.status_code == 404
    assert "李四" not in response.content.decode()


def test_appointments_need_a_patient_sign_in(bookings):
    anonymous = Client().get("/api/v1/fhir/Appointment")
    staff = token_client(factories.StaffFactory(), second_factor=True).get(
        "/api/v1/fhir/Appointment"
    )

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert staff.status_code == 403
    assert staff.json()["code"] == "permission_denied"


def test_a_signed_in_browser_session_sees_its_appointments(bookings):
    client = Client()
    client.force_login(bookings["b"].account)

    bundle = search(client, "/api/v1/fhir/Appointment")

    assert ids(bundle) == [f"booking-{bookings['theirs'].pk}"]
