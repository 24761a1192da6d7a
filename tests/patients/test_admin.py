import datetime

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from patients.models import Patient
from tests.factories import AccountFactory, PatientFactory
from tests.patients.factories import NoShowFactory

GB_EXAMPLE = "11010519491231002X"
CHANGELIST = reverse("admin:patients_patient_changelist")
ADD = reverse("admin:patients_patient_add")


@pytest.fixture(autouse=True)
def _staff_without_second_factor(monkeypatch):
    # These tests are about the patient pages; the OTP guard (on outside DEBUG) is
    # tested with the admin site itself.
    monkeypatch.setattr(
        admin.site,
        "has_permission",
        lambda request: request.user.is_active and request.user.is_staff,
    )


@pytest.fixture
def registered(db):
    return PatientFactory(
        real_name="王秀英",
        document_number=GB_EXAMPLE,
        birth_date=datetime.date(1949, 12, 31),
        sex="F",
        medical_record_number="Y123456789",
    )


def test_patient_list_shows_masked_document_numbers_only(admin_client, registered):
    response = admin_client.get(CHANGELIST)

    content = response.content.decode()
    assert response.status_code == 200
    assert "王秀英" in content
    assert "1101**********002X" in content
    assert GB_EXAMPLE not in content
    assert registered.account.phone in content
    assert "Y123456789" in content


def test_patient_search_by_exact_document_number_shows_it_masked(admin_client, registered):
    PatientFactory(real_name="李建国")

    response = admin_client.get(CHANGELIST, {"q": GB_EXAMPLE.lower()})

    content = response.content.decode()
    assert "王秀英" in content
    assert "李建国" not in content
    # Only the search box echoes what staff typed (in lower case here).
    assert GB_EXAMPLE not in content


def test_patient_search_by_part_of_a_document_number_finds_nothing(admin_client, registered):
    response = admin_client.get(CHANGELIST, {"q": "19491231"})

    assert "王秀英" not in response.content.decode()


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_patient_list_filters_suspended_patients(admin_client):
    PatientFactory(real_name="停约者", suspended_until=datetime.date(2025, 6, 1))
    PatientFactory(real_name="已恢复", suspended_until=datetime.date(2025, 5, 31))

    content = admin_client.get(CHANGELIST, {"suspended": "yes"}).content.decode()

    assert "停约者" in content
    assert "已恢复" not in content


def test_patient_add_goes_through_the_service(admin_client):
    account = AccountFactory()

    response = admin_client.post(
        ADD,
        {
            "account": account.pk,
            "relationship": "parent",
            "real_name": " 王秀英 ",
            "document_type": "resident_id",
            "document_number": "11010519491231002x",
            "birth_date": "",
            "sex": "",
            "phone": "",
        },
    )

    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.account == account
    assert patient.real_name == "王秀英"
    assert patient.document_number == GB_EXAMPLE
    assert (patient.birth_date, patient.sex) == (datetime.date(1949, 12, 31), "F")
    assert patient.medical_record_number.startswith("Y")


@pytest.mark.parametrize(
    ("document_number", "full", "message"),
    [
        ("110105194912310021", False, "The ID number is not valid."),
        (GB_EXAMPLE, True, "One account can hold at most 5 patients."),
    ],
)
def test_patient_add_shows_refusals_on_the_form(admin_client, document_number, full, message):
    account = AccountFactory()
    if full:
        PatientFactory.create_batch(5, account=account)

    response = admin_client.post(
        ADD,
        {
            "account": account.pk,
            "relationship": "self",
            "real_name": "王秀英",
            "document_type": "resident_id",
            "document_number": document_number,
            "phone": "",
        },
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Patient.objects.filter(account=account).count() == (5 if full else 0)


def test_patient_change_form_keeps_identity_read_only(admin_client, registered):
    url = reverse("admin:patients_patient_change", args=[registered.pk])

    response = admin_client.post(
        url,
        {
            "relationship": "parent",
            "phone": "13800138000",
            "suspended_until": "",
            "document_number": "110105194912310021",
            "real_name": "Someone else",
        },
    )

    assert response.status_code == 302
    registered.refresh_from_db()
    assert registered.relationship == "parent"
    assert registered.document_number == GB_EXAMPLE
    assert registered.real_name == "王秀英"
    assert registered.medical_record_number == "Y123456789"


def test_account_pages_show_phone_and_language(admin_client):
    account = AccountFactory(phone="13912345678")

    changelist = admin_client.get(reverse("admin:patients_account_changelist"))
    change = admin_client.get(reverse("admin:patients_account_change", args=[account.pk]))

    assert "13912345678" in changelist.content.decode()
    assert change.status_code == 200
    assert 'name="language"' in change.content.decode()


def test_no_show_list_shows_the_patient_masked(admin_client, registered):
    NoShowFactory(patient=registered, reference="booking-42")

    content = admin_client.get(reverse("admin:patients_noshow_changelist")).content.decode()

    assert "booking-42" in content
    assert GB_EXAMPLE not in content
