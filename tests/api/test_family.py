"""The account's patients over the API (patients/apis/family.py): list, add, read, change,
remove; the document number only ever masked; another account's patient is 404."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from patients.services import PATIENTS_PER_ACCOUNT
from tests import factories
from tests.api.test_mine_bookings import api_client, assert_holds_nothing_of, post

pytestmark = pytest.mark.django_db

PATIENTS = reverse("api-patients")
# A valid resident ID: 1950-06-01, a man (the factories' patients are born in 1956).
FATHER_ID = factories.resident_id(birth_date=datetime.date(1950, 6, 1), sequence=11)


def snapshot() -> list:
    return list(
        Patient.objects.order_by("pk").values_list(
            "pk", "account_id", "real_name", "relationship", "phone", "removed_at"
        )
    )


def expected(patient: Patient) -> dict:
    patient.refresh_from_db()
    return {
        "id": patient.pk,
        "real_name": patient.real_name,
        "relationship": patient.relationship,
        "document_type": patient.document_type,
        "document_number": "*" * (len(patient.document_number) - 4) + patient.document_number[-4:],
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "phone": patient.phone,
        "medical_record_number": patient.medical_record_number,
        "guardian": patient.guardian_id,
        "suspended_until": None,
        "created_at": timezone.localtime(patient.created_at).isoformat(),
    }


@pytest.fixture
def me(db):
    return factories.PatientFactory(real_name="张自己")


@pytest.fixture
def stranger(db):
    return factories.PatientFactory(real_name="李别人", phone="13977776666")


@pytest.fixture
def client(me):
    return api_client(me.account)


def test_the_list_holds_my_patients_only_with_masked_numbers(client, me, stranger):
    spouse = factories.PatientFactory(account=me.account, relationship="spouse")

    response = client.get(PATIENTS)

    assert response.status_code == 200
    assert response.json() == [expected(me), expected(spouse)]
    assert me.document_number not in response.content.decode()
    assert response.json()[0]["document_number"] == "**************" + me.document_number[-4:]
    assert_holds_nothing_of(response, stranger.real_name, stranger.phone)


def test_adding_a_family_member(client, me):
    response = post(
        client,
        PATIENTS,
        {
            "real_name": " 张父亲 ",
            "relationship": "parent",
            "document_type": "resident_id",
            "document_number": FATHER_ID,
            "phone": "139 1234 5678",
        },
    )

    assert response.status_code == 201, response.json()
    father = Patient.objects.get(real_name="张父亲")
    assert father.account == me.account
    assert father.document_number == FATHER_ID
    assert father.birth_date == datetime.date(1950, 6, 1)
    assert father.sex == "M"
    assert father.phone == "13912345678"
    assert response.json() == expected(father)
    assert FATHER_ID not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"document_number": "110105195603140000"}, "invalid_document_number"),
        ({"real_name": "   "}, "invalid_name"),
        ({"birth_date": "1960-01-01"}, "document_details_mismatch"),
        ({"phone": "12"}, "invalid_phone"),
        ({"document_type": "passport", "document_number": "E1234567"}, "missing_personal_details"),
    ],
)
def test_refused_additions_write_nothing(client, me, body, code):
    before = snapshot()
    data = {
        "real_name": "张父亲",
        "relationship": "parent",
        "document_type": "resident_id",
        "document_number": FATHER_ID,
        **body,
    }

    response = post(client, PATIENTS, data)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert snapshot() == before


def test_the_same_person_twice_and_a_sixth_patient_are_refused(client, me):
    before = snapshot()
    twice = post(
        client,
        PATIENTS,
        {
            "real_name": me.real_name,
            "document_type": "resident_id",
            "document_number": me.document_number,
        },
    )
    assert (twice.status_code, twice.json()["code"]) == (400, "patient_already_registered")
    for _ in range(PATIENTS_PER_ACCOUNT - 1):
        factories.PatientFactory(account=me.account)
    before = snapshot()

    sixth = post(
        client,
        PATIENTS,
        {"real_name": "张父亲", "document_type": "resident_id", "document_number": FATHER_ID},
    )

    assert sixth.status_code == 400
    assert sixth.json() == {
        "code": "too_many_patients",
        "detail": f"One account can hold at most {PATIENTS_PER_ACCOUNT} patients.",
    }
    assert snapshot() == before


def test_detail_of_my_patient_and_not_of_anothers(client, me, stranger):
    mine = client.get(reverse("api-patient", args=[me.pk]))
    theirs = client.get(reverse("api-patient", args=[stranger.pk]))

    assert (mine.status_code, mine.json()) == (200, expected(me))
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "not_your_patient"
    assert_holds_nothing_of(theirs, stranger.real_name, stranger.phone)


def test_changing_the_relationship_and_phone(client, me):
    response = client.patch(
        reverse("api-patient", args=[me.pk]),
        {"phone": "+86 139-0000-1111"},
        content_type="application/json",
    )

    assert response.status_code == 200
    me.refresh_from_db()
    assert me.phone == "13900001111"
    assert me.relationship == "self"  # not sent: kept
    assert response.json() == expected(me)


def test_refused_changes_change_nothing(client, me, stranger):
    before = snapshot()

    bad_phone = client.patch(
        reverse("api-patient", args=[me.pk]), {"phone": "12"}, content_type="application/json"
    )
    theirs = client.patch(
        reverse("api-patient", args=[stranger.pk]),
        {"relationship": "child"},
        content_type="application/json",
    )

    assert (bad_phone.status_code, bad_phone.json()["code"]) == (400, "invalid_phone")
    assert theirs.status_code == 404
    assert_holds_nothing_of(theirs, stranger.real_name, stranger.phone)
    assert snapshot() == before


def test_removing_my_patient_twice_answers_204_both_times(client, me):
    spouse = factories.PatientFactory(account=me.account, relationship="spouse")
    path = reverse("api-patient", args=[spouse.pk])

    first = client.delete(path)
    second = client.delete(path)

    assert (first.status_code, second.status_code) == (204, 204)
    spouse.refresh_from_db()
    assert spouse.removed_at is not None
    assert client.get(path).status_code == 404
    assert [p["id"] for p in client.get(PATIENTS).json()] == [me.pk]


def test_removing_anothers_patient_or_a_guardian_is_refused(client, me, stranger):
    child = Patient.objects.create(
        account=me.account,
        relationship="child",
        real_name="张小孩",
        document_type="none",
        document_number="",
        birth_date=datetime.date(2022, 5, 1),
        sex="F",
        guardian=me,
        medical_record_number="T999999999",
    )
    before = snapshot()

    theirs = client.delete(reverse("api-patient", args=[stranger.pk]))
    guardian = client.delete(reverse("api-patient", args=[me.pk]))

    assert theirs.status_code == 404
    assert_holds_nothing_of(theirs, stranger.real_name, stranger.phone)
    assert (guardian.status_code, guardian.json()["code"]) == (400, "patient_is_guardian")
    assert snapshot() == before
    assert child.guardian_id == me.pk


def test_patient_writes_are_throttled_per_account(client, me, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "booking_write": "2/min",
        },
    }
    for _ in range(2):
        post(client, PATIENTS, {"real_name": "", "document_type": "resident_id"})
    before = snapshot()

    response = post(
        client,
        PATIENTS,
        {"real_name": "张父亲", "document_type": "resident_id", "document_number": FATHER_ID},
    )

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert snapshot() == before
    assert client.get(PATIENTS).status_code == 200
