"""SMART Scheduling Links bulk publication: the `$bulk-publish` manifest and its NDJSON
files, every line validated with fhir.resources' R4B models."""

import json

import pytest
from django.test import Client
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from interop import fhir
from tests import factories
from tests.interop.conftest import book_online

pytestmark = pytest.mark.django_db

MANIFEST = "/api/v1/fhir/$bulk-publish"
BASE = "http://testserver/api/v1/fhir"
MODELS = {"Location": Location, "Schedule": Schedule, "Slot": Slot}


def ndjson_lines(client, kind: str) -> list[dict]:
    response = client.get(f"/api/v1/fhir/bulk/{kind}.ndjson", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson; charset=utf-8"
    text = response.content.decode()
    assert text.endswith("\n")
    lines = text.splitlines()
    resources = []
    for line in lines:
        assert line == line.strip() and ": " not in line.split('"')[0]  # minified
        resource = json.loads(line)
        assert resource["resourceType"] == kind
        MODELS[kind].model_validate(resource)
        resources.append(resource)
    return resources


def test_the_manifest_links_the_three_files(clinic, client):
    response = client.get(MANIFEST)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=60"
    assert response.json() == {
        "transactionTime": "2026-11-23T09:00:00+08:00",
        "request": f"{BASE}/$bulk-publish",
        "output": [
            {"type": "Location", "url": f"{BASE}/bulk/Location.ndjson"},
            {"type": "Schedule", "url": f"{BASE}/bulk/Schedule.ndjson"},
            {"type": "Slot", "url": f"{BASE}/bulk/Slot.ndjson"},
        ],
        "error": [],
    }


def test_the_manifest_uses_the_public_address(clinic, client, settings):
    settings.YUYUE_PUBLIC_URL = "https://yuyue.example.org"

    body = client.get(MANIFEST).json()

    assert body["request"] == "https://yuyue.example.org/api/v1/fhir/$bulk-publish"
    assert body["output"][2]["url"] == "https://yuyue.example.org/api/v1/fhir/bulk/Slot.ndjson"


def test_every_file_it_links_is_served(clinic, client):
    for output in client.get(MANIFEST).json()["output"]:
        path = output["url"].removeprefix("http://testserver")
        assert client.get(path).status_code == 200


def test_the_location_file_has_one_location_per_department(clinic, client):
    glaucoma, paediatric = clinic["glaucoma"], clinic["paediatric"]

    locations = ndjson_lines(client, "Location")

    assert [loc["id"] for loc in locations] == [
        f"department-{glaucoma.pk}",
        f"department-{paediatric.pk}",
    ]
    assert locations[0] == {
        "resourceType": "Location",
        "id": f"department-{glaucoma.pk}",
        "status": "active",
        "name": "Demo Hospital Eye Centre Glaucoma clinic",
        "telecom": [{"system": "phone", "value": "010-1111-2222"}],
        "address": {
            "text": "Emergency building, ground floor, 1 Demo Road Outpatient building, 3rd floor",
            "line": [
                "Outpatient building, 3rd floor",
                "Emergency building, ground floor, 1 Demo Road",
            ],
        },
        "description": "Outpatient building, 3rd floor",
    }
    # A sub-clinic is part of its parent, and books through its parent's phone.
    assert locations[1]["partOf"] == {"reference": f"Location/department-{glaucoma.pk}"}
    assert locations[1]["telecom"] == [{"system": "phone", "value": "010-1111-2222"}]


def test_the_schedule_file_has_one_schedule_per_doctor(clinic, client):
    li, wang, glaucoma = clinic["li"], clinic["wang"], clinic["glaucoma"]

    schedules = ndjson_lines(client, "Schedule")

    assert [s["id"] for s in schedules] == [f"doctor-{li.pk}", f"doctor-{wang.pk}"]
    # SMART's actor: the Location first.
    assert schedules[0]["actor"][0]["reference"] == f"Location/department-{glaucoma.pk}"


def test_the_slot_file_lists_the_window_free_and_busy_with_deep_links(clinic, client):
    slots = ndjson_lines(client, "Slot")

    assert {s["id"]: s["status"] for s in slots} == {
        f"slot-{clinic['free'].pk}": "free",
        f"slot-{clinic['full'].pk}": "busy",
        f"slot-{clinic['stopped'].pk}": "busy",
        f"slot-{clinic['unreleased'].pk}": "busy",
    }
    schedules = {s["id"] for s in ndjson_lines(client, "Schedule")}
    for slot in slots:
        assert slot["schedule"]["reference"].removeprefix("Schedule/") in schedules
        links = [e["valueUrl"] for e in slot["extension"] if e["url"] == fhir.BOOKING_DEEP_LINK]
        assert len(links) == 1 and links[0].startswith("http://testserver/book/")
    free = next(s for s in slots if s["status"] == "free")
    assert {"url": fhir.SLOT_CAPACITY, "valueInteger": 2} in free["extension"]


def test_the_files_are_cached_briefly(clinic, client):
    for kind, age in (("Location", 300), ("Schedule", 300), ("Slot", 60)):
        response = client.get(f"/api/v1/fhir/bulk/{kind}.ndjson")
        assert response["Cache-Control"] == f"public, max-age={age}"


def test_the_slot_file_costs_a_fixed_number_of_queries(clinic, client, django_assert_num_queries):
    for _ in range(2):
        book_online(factories.PatientFactory(), clinic["free"])

    # policies, sessions, quota totals, closures, published quotas
    with django_assert_num_queries(5):
        response = client.get("/api/v1/fhir/bulk/Slot.ndjson")

    assert response.status_code == 200


def test_an_empty_clinic_publishes_empty_files(db, client):
    for kind in ("Location", "Schedule", "Slot"):
        response = client.get(f"/api/v1/fhir/bulk/{kind}.ndjson")
        assert response.status_code == 200
        assert response.content == b""


def test_bulk_publication_is_public_and_read_only(clinic):
    client = Client(headers={"Authorization": "Bearer not-a-token"})

    assert client.get(MANIFEST).status_code == 200
    assert client.post(MANIFEST).status_code == 405
    refused = client.delete("/api/v1/fhir/bulk/Slot.ndjson")
    assert refused.status_code == 405
    assert json.loads(refused.content) == {
        "code": "method_not_allowed",
        "detail": 'Method "DELETE" not allowed.',
    }
