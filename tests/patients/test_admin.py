import datetime

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from patients.exceptions import TooManyPatients
from patients.models import NoShow, Patient
from patients.services import patient_create, patient_update
from tests.factories import AccountFactory, PatientFactory, StaffFactory
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


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_patient_list_shows_the_last_4_the_age_and_masked_phones_only(admin_client, registered):
    registered.account.phone = "13912345678"
    registered.account.save()

    response = admin_client.get(CHANGELIST)

    content = response.content.decode()
    assert response.status_code == 200
    assert "王秀英" in content
    assert "**************002X" in content
    assert GB_EXAMPLE not in content and "1101" not in content
    # the age, never the birth date that the last 4 would complete
    assert '<td class="field-age">75</td>' in content
    assert "1949" not in content and "Dec. 31" not in content
    assert "139****5678" in content
    assert "13912345678" not in content
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


def test_patient_search_by_the_last_4_of_the_document_number(admin_client, registered):
    PatientFactory(real_name="李建国", document_number="110105194912310037")

    content = admin_client.get(CHANGELIST, {"q": "002x"}).content.decode()

    assert "王秀英" in content
    assert "李建国" not in content


def test_patient_search_by_phone_needs_the_whole_number(admin_client, registered):
    registered.phone = "13912345678"
    registered.save()

    whole = admin_client.get(CHANGELIST, {"q": "13912345678"}).content.decode()
    part = admin_client.get(CHANGELIST, {"q": "1391234"}).content.decode()

    assert "王秀英" in whole
    assert "王秀英" not in part


def test_the_change_page_shows_the_full_number_only_with_the_permission(client, registered):
    from django.contrib.auth.models import Permission

    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_patient"))
    client.force_login(staff)
    url = reverse("admin:patients_patient_change", args=[registered.pk])

    masked = client.get(url).content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="view_document_number"))
    staff = type(staff).objects.get(pk=staff.pk)  # a fresh permission cache
    client.force_login(staff)
    full = client.get(url).content.decode()

    assert GB_EXAMPLE not in masked and "1949" not in masked
    assert "**************002X" in masked
    assert GB_EXAMPLE in full and "Dec. 31, 1949" in full


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


def test_account_pages_show_the_phone_masked_in_the_list_and_language(admin_client):
    account = AccountFactory(username="13912345678", phone="13912345678")

    changelist = admin_client.get(reverse("admin:patients_account_changelist"))
    found = admin_client.get(reverse("admin:patients_account_changelist"), {"q": "13912345678"})
    change = admin_client.get(reverse("admin:patients_account_change", args=[account.pk]))

    assert "139****5678" in changelist.content.decode()
    assert "13912345678" not in changelist.content.decode()
    assert "139****5678" in found.content.decode()
    assert change.status_code == 200
    assert 'name="language"' in change.content.decode()


def test_no_show_list_shows_the_patient_masked(admin_client, registered):
    NoShowFactory(patient=registered, reference="booking-42")

    content = admin_client.get(reverse("admin:patients_noshow_changelist")).content.decode()

    assert "booking-42" in content
    assert GB_EXAMPLE not in content


def test_patient_add_calls_patient_create_and_goes_on_with_its_row(admin_client, monkeypatch):
    from django.contrib.admin.models import ADDITION, LogEntry

    from patients import admin as patients_admin

    account = AccountFactory()
    calls = []

    def spy(**kwargs):
        calls.append(kwargs)
        return patient_create(**kwargs)

    monkeypatch.setattr(patients_admin, "patient_create", spy)

    response = admin_client.post(
        ADD,
        {
            "account": account.pk,
            "relationship": "self",
            "real_name": "王秀英",
            "document_type": "resident_id",
            "document_number": GB_EXAMPLE,
            "phone": "",
        },
    )

    assert len(calls) == 1
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.action_flag) == (str(patient.pk), ADDITION)


def test_a_refusal_only_the_service_sees_writes_nothing_and_says_why(admin_client, monkeypatch):
    from patients import admin as patients_admin

    # given the account filled up between the form's early check and the locked insert
    def refuse(**kwargs):
        raise TooManyPatients(limit=5)

    monkeypatch.setattr(patients_admin, "patient_create", refuse)

    response = admin_client.post(
        ADD,
        {
            "account": AccountFactory().pk,
            "relationship": "self",
            "real_name": "王秀英",
            "document_type": "resident_id",
            "document_number": GB_EXAMPLE,
            "phone": "",
        },
        follow=True,
    )

    assert response.redirect_chain == [(ADD, 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "One account can hold at most 5 patients."
    ]
    assert not Patient.objects.exists()


def test_patient_change_goes_through_patient_update(admin_client, registered, monkeypatch):
    from patients import admin as patients_admin

    calls = []

    def spy(**kwargs):
        calls.append(kwargs)
        return patient_update(**kwargs)

    monkeypatch.setattr(patients_admin, "patient_update", spy)
    url = reverse("admin:patients_patient_change", args=[registered.pk])

    response = admin_client.post(
        url, {"relationship": "child", "phone": "+86 139-1234-5678", "suspended_until": ""}
    )

    assert response.status_code == 302
    assert [(c["patient"].pk, c["relationship"]) for c in calls] == [(registered.pk, "child")]
    registered.refresh_from_db()
    assert (registered.relationship, registered.phone) == ("child", "13912345678")


def test_patient_change_shows_an_invalid_phone_and_keeps_the_old_one(admin_client, registered):
    url = reverse("admin:patients_patient_change", args=[registered.pk])
    phone = registered.phone

    response = admin_client.post(
        url, {"relationship": "self", "phone": "call me", "suspended_until": ""}
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["phone"]
    registered.refresh_from_db()
    assert registered.phone == phone


def test_no_shows_are_read_only_in_the_admin(admin_client, registered):
    no_show = NoShowFactory(patient=registered, reference="booking-42")
    before = list(NoShow.objects.values_list("pk", "patient_id", "visit_date", "reference"))

    responses = [
        admin_client.get(reverse("admin:patients_noshow_add")),
        admin_client.post(
            reverse("admin:patients_noshow_add"),
            {"patient": registered.pk, "visit_date": "2025-06-01", "reference": "made-up"},
        ),
        admin_client.post(
            reverse("admin:patients_noshow_change", args=[no_show.pk]),
            {"patient": registered.pk, "visit_date": "2025-06-01", "reference": "changed"},
        ),
        admin_client.post(
            reverse("admin:patients_noshow_delete", args=[no_show.pk]), {"post": "yes"}
        ),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert list(NoShow.objects.values_list("pk", "patient_id", "visit_date", "reference")) == (
        before
    )
    page = admin_client.get(reverse("admin:patients_noshow_change", args=[no_show.pk]))
    assert page.status_code == 200  # staff still read it
