"""My patients: list, add, edit and remove the account's own patients (self and family),
with the identity refusals shown on their fields, the limit of 5, a child without an ID
number, another account's ids (404) and double submits."""

import datetime
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from patients import services
from patients.exceptions import GuardianRequired, NotYourPatient, PatientIsGuardian
from patients.models import Patient
from patients.selectors import patient_get_for_account, patient_list_for_account
from tests.factories import AccountFactory, PatientFactory, resident_id
from tests.patients.factories import with_check_digit

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
GB_EXAMPLE = "11010519491231002X"  # a woman born 1949-12-31
LIST = reverse("patients:patient-list")
ADD = reverse("patients:patient-add")
# Every signed-in page: the session and the account, the notices banner (notices,
# closures), and the session saved again (savepoint, update, release: idle expiry).
PAGE_QUERIES = 7
RESIDENT_ID = Patient.DocumentType.RESIDENT_ID
PASSPORT = Patient.DocumentType.PASSPORT
NONE = Patient.DocumentType.NONE


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def signed_in(client, account):
    client.force_login(account)
    return client


def edit_url(patient) -> str:
    return reverse("patients:patient-edit", args=[patient.pk])


def remove_url(patient) -> str:
    return reverse("patients:patient-remove", args=[patient.pk])


def add_form(**overrides) -> dict:
    return {
        "real_name": "王秀英",
        "relationship": "parent",
        "document_type": RESIDENT_ID,
        "document_number": GB_EXAMPLE,
        "birth_date": "",
        "sex": "",
        "phone": "",
        "add_key": str(uuid.uuid4()),
    } | overrides


def snapshot() -> list[tuple]:
    return list(Patient.objects.order_by("pk").values_list())


def field_error(html: str, field: str) -> str:
    """The error shown next to a field, whitespace collapsed ("" when there is none)."""
    match = re.search(
        rf'<p class="family-field__error" id="id_{field}_error">(.*?)</p>', html, re.S
    )
    if match is None:
        return ""
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def described_by(html: str, field: str) -> str:
    """The aria-describedby of the field's input (the first one for a group of radios)."""
    match = re.search(rf'<input[^>]*name="{field}"[^>]*>', html)
    assert match is not None, field
    described = re.search(r'aria-describedby="([^"]*)"', match.group(0))
    return described.group(1) if described else ""


def summary(html: str) -> list[str]:
    match = re.search(r'<div class="family-error-summary"[^>]*>(.*?)</div>', html, re.S)
    if match is None:
        return []
    items = re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


# --- list -------------------------------------------------------------------


def test_list_shows_the_accounts_current_patients_masked_with_edit_and_remove(
    signed_in, account, django_assert_num_queries
):
    me = PatientFactory(account=account, real_name="李明", relationship="self")
    mother = PatientFactory(account=account, real_name="王秀英", relationship="parent")
    PatientFactory(account=account, real_name="已删除", removed_at=NOW)
    PatientFactory(real_name="别人家")

    with django_assert_num_queries(PAGE_QUERIES + 1):  # + the patients
        response = signed_in.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    cards = re.findall(r'<li class="family-card" data-patient="(\d+)">', html)
    assert cards == [str(me.pk), str(mother.pk)]
    assert "已删除" not in html and "别人家" not in html
    assert me.document_number not in html and mother.document_number not in html
    assert me.masked_document_number in html
    assert mother.masked_document_number == "*" * 14 + mother.document_number[-4:]
    assert edit_url(mother) in html and remove_url(mother) in html
    assert f'href="{ADD}"' in html


def test_list_query_count_does_not_grow_with_patients(
    signed_in, account, django_assert_num_queries
):
    me = PatientFactory(account=account, relationship="self")
    for n in range(3):
        PatientFactory(
            account=account,
            real_name=f"孩子{n}",
            document_type=NONE,
            document_number="",
            birth_date=datetime.date(2020, 1, n + 1),
            guardian=me,
        )

    with django_assert_num_queries(PAGE_QUERIES + 1):
        html = signed_in.get(LIST).content.decode()

    assert html.count('class="family-card"') == 4
    assert html.count(f"<dd>{me.real_name}</dd>") == 3  # each child's guardian


def test_list_at_the_limit_says_so_instead_of_offering_add(signed_in, account):
    PatientFactory.create_batch(5, account=account)

    html = signed_in.get(LIST).content.decode()

    assert f'href="{ADD}"' not in html
    assert "You have 5 patients, the most one account can hold." in html


def test_list_needs_sign_in(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert "next=/account/patients/" in response["Location"]


def test_list_in_chinese(signed_in, account):
    PatientFactory(account=account, relationship="parent")

    html = signed_in.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert '<html lang="zh-hans"' in html
    assert "<dd>父母</dd>" in html
    assert "居民身份证" in html


# --- add --------------------------------------------------------------------


def test_add_form_ties_help_to_fields(signed_in, django_assert_num_queries):
    with django_assert_num_queries(PAGE_QUERIES):
        response = signed_in.get(ADD)

    html = response.content.decode()
    assert response.status_code == 200
    assert described_by(html, "document_number") == "id_document_number_help"
    assert described_by(html, "real_name") == "id_real_name_help"
    assert re.search(r'<input type="hidden" name="add_key" value="[0-9a-f-]{36}"', html)
    assert summary(html) == []


def test_add_a_parent_with_a_resident_id(signed_in, account):
    response = signed_in.post(ADD, add_form(document_number="110105 19491231 002x"))

    assert response.status_code == 302
    assert response["Location"] == LIST
    patient = Patient.objects.get()
    assert (patient.account, patient.real_name, patient.relationship) == (
        account,
        "王秀英",
        "parent",
    )
    assert (patient.document_number, patient.birth_date, patient.sex) == (
        GB_EXAMPLE,
        datetime.date(1949, 12, 31),
        "F",
    )
    assert patient.medical_record_number.startswith("Y")
    html = signed_in.get(LIST).content.decode()
    assert "王秀英 was added to your patients." in html
    assert GB_EXAMPLE not in html
    assert "**************002X" in html


def test_add_a_passport_holder_with_birth_date_and_sex(signed_in):
    form = add_form(
        real_name="John Smith",
        document_type=PASSPORT,
        document_number=" e12345678 ",
        birth_date="1980-02-29",
        sex="M",
    )

    assert signed_in.post(ADD, form).status_code == 302

    patient = Patient.objects.get()
    assert (patient.document_number, patient.birth_date, patient.sex) == (
        "E12345678",
        datetime.date(1980, 2, 29),
        "M",
    )


WRONG_CHECKSUM = GB_EXAMPLE[:-1] + "3"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"document_number": WRONG_CHECKSUM},
            "document_number",
            "The ID number is not valid. Please check it against the card.",
        ),
        (
            # A valid checksum but no 13th month.
            {"document_number": with_check_digit("11010519491331002")},
            "document_number",
            "The ID number is not valid. Please check it against the card.",
        ),
        (
            {"document_number": resident_id(birth_date=datetime.date(2027, 1, 1))},
            "document_number",
            "The ID number is not valid. Please check it against the card.",
        ),
        (
            {"birth_date": "1950-01-01"},
            "document_number",
            "The birth date or sex does not match the resident ID number.",
        ),
        (
            {"sex": "M"},
            "document_number",
            "The birth date or sex does not match the resident ID number.",
        ),
        (
            {"document_type": PASSPORT, "document_number": "E12345678", "sex": "M"},
            "birth_date",
            "Please give the birth date and sex shown on the document.",
        ),
        (
            {"document_type": PASSPORT, "document_number": "E12345678", "birth_date": "1980-01-01"},
            "sex",
            "Please give the birth date and sex shown on the document.",
        ),
        (
            {
                "document_type": PASSPORT,
                "document_number": "E12345678",
                "birth_date": "2026-11-24",
                "sex": "M",
            },
            "birth_date",
            "The birth date cannot be in the future.",
        ),
        (
            {"document_type": PASSPORT, "document_number": "E1", "birth_date": "1980-01-01"},
            "document_number",
            "The ID number is not valid. Please check it against the card.",
        ),
        (
            {"phone": "12345"},
            "phone",
            "Please enter a valid phone number.",
        ),
        (
            {"document_type": NONE, "document_number": "", "birth_date": "2012-11-23", "sex": "F"},
            "document_type",
            "Only a child under 14 may be added without an ID number. Please enter the "
            "resident ID or another document.",
        ),
    ],
)
def test_add_refusals_are_shown_on_their_field_and_write_nothing(
    signed_in, account, overrides, field, message
):
    PatientFactory(account=account, relationship="self")
    before = snapshot()

    response = signed_in.post(ADD, add_form(**overrides))

    html = response.content.decode()
    assert response.status_code == 400
    assert snapshot() == before
    assert field_error(html, field) == f"Error: {message}"
    assert f"id_{field}_error" in described_by(html, field).split()
    assert 'aria-invalid="true"' in re.search(rf'<input[^>]*name="{field}"[^>]*>', html).group(0)
    assert len(summary(html)) == 1
    assert summary(html)[0].endswith(message)
    assert f'href="#id_{field}_field"' in html
    assert "<title>Error: Add a family member" in html


def test_add_refusal_in_chinese(signed_in):
    response = signed_in.post(
        ADD, add_form(document_number=WRONG_CHECKSUM), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "证件号码有误，请对照证件核对。" in field_error(html, "document_number")
    assert Patient.objects.count() == 0


def test_add_the_same_person_twice_is_refused_on_the_number(signed_in, account):
    PatientFactory(account=account, document_number=GB_EXAMPLE)
    before = snapshot()

    response = signed_in.post(ADD, add_form())

    assert response.status_code == 400
    assert field_error(response.content.decode(), "document_number") == (
        "Error: This person is already registered in your account."
    )
    assert snapshot() == before


def test_a_sixth_patient_is_refused_in_the_summary(signed_in, account):
    PatientFactory.create_batch(5, account=account)
    before = snapshot()

    response = signed_in.post(ADD, add_form())

    html = response.content.decode()
    assert response.status_code == 400
    assert summary(html) == ["One account can hold at most 5 patients."]
    assert snapshot() == before


def test_removed_patients_do_not_count_towards_the_limit(signed_in, account):
    PatientFactory.create_batch(4, account=account)
    PatientFactory(account=account, removed_at=NOW)

    assert signed_in.post(ADD, add_form()).status_code == 302

    assert patient_list_for_account(account=account).count() == 5


def test_a_double_submitted_add_makes_one_patient(signed_in, account):
    form = add_form()

    first = signed_in.post(ADD, form)
    second = signed_in.post(ADD, form)

    assert (first.status_code, second.status_code) == (302, 302)
    assert Patient.objects.filter(account=account).count() == 1


def test_the_same_add_key_in_another_account_is_its_own(signed_in, account):
    key = uuid.uuid4()
    other = services.patient_create(
        account=AccountFactory(),
        real_name="别人",
        document_type=RESIDENT_ID,
        document_number=GB_EXAMPLE,
        idempotency_key=key,
    )

    assert signed_in.post(ADD, add_form(add_key=str(key))).status_code == 302

    mine = Patient.objects.get(account=account)
    assert mine.pk != other.pk


def test_a_tampered_add_key_is_a_form_error(signed_in):
    response = signed_in.post(ADD, add_form(add_key="not-a-key"))

    assert response.status_code == 400
    assert Patient.objects.count() == 0


# --- a child without an ID number -------------------------------------------


def test_add_a_child_without_an_id_number_with_the_holder_as_guardian(signed_in, account):
    me = PatientFactory(account=account, relationship="self")

    response = signed_in.post(
        ADD,
        add_form(
            real_name="小明",
            relationship="child",
            document_type=NONE,
            document_number="",
            birth_date="2024-05-01",
            sex="M",
        ),
    )

    assert response.status_code == 302
    child = Patient.objects.get(real_name="小明")
    assert (child.document_type, child.document_number, child.guardian) == (NONE, "", me)
    assert (child.birth_date, child.sex, child.relationship) == (
        datetime.date(2024, 5, 1),
        "M",
        "child",
    )
    html = signed_in.get(LIST).content.decode()
    assert "No ID number yet (child under 14)" in html
    assert f"<dd>{me.real_name}</dd>" in html


def test_a_number_typed_for_a_child_without_an_id_is_not_kept(account):
    PatientFactory(account=account, relationship="self")

    child = services.patient_create(
        account=account,
        real_name="小明",
        relationship="child",
        document_type=NONE,
        document_number="123",
        birth_date=datetime.date(2024, 5, 1),
        sex="M",
    )

    assert child.document_number == ""


def test_twins_without_id_numbers_are_two_patients_the_same_child_twice_is_refused(
    signed_in, account
):
    PatientFactory(account=account, relationship="self")
    child = {"document_type": NONE, "document_number": "", "birth_date": "2024-05-01"}

    assert signed_in.post(ADD, add_form(real_name="大宝", sex="M", **child)).status_code == 302
    assert signed_in.post(ADD, add_form(real_name="二宝", sex="F", **child)).status_code == 302
    again = signed_in.post(ADD, add_form(real_name="大宝", sex="M", **child))

    assert again.status_code == 400
    assert field_error(again.content.decode(), "document_number") == (
        "Error: This person is already registered in your account."
    )
    assert Patient.objects.filter(document_type=NONE).count() == 2


def test_a_child_without_an_id_needs_the_holder_registered_first(signed_in, account):
    PatientFactory(account=account, relationship="parent")
    before = snapshot()

    response = signed_in.post(
        ADD,
        add_form(document_type=NONE, document_number="", birth_date="2024-05-01", sex="M"),
    )

    assert response.status_code == 400
    assert summary(response.content.decode()) == [GuardianRequired().detail]
    assert snapshot() == before


def test_a_child_without_an_id_needs_birth_date_and_sex(signed_in, account):
    PatientFactory(account=account, relationship="self")
    before = snapshot()

    response = signed_in.post(
        ADD, add_form(document_type=NONE, document_number="", birth_date="2024-05-01")
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "sex") == (
        "Error: Please give the birth date and sex shown on the document."
    )
    assert snapshot() == before


# --- edit -------------------------------------------------------------------


def test_edit_form_shows_identity_masked_and_the_editable_fields(
    signed_in, account, django_assert_num_queries
):
    mother = PatientFactory(account=account, relationship="parent", phone="13900000000")

    with django_assert_num_queries(PAGE_QUERIES + 1):  # + the patient
        response = signed_in.get(edit_url(mother))

    html = response.content.decode()
    assert response.status_code == 200
    assert mother.document_number not in html
    assert mother.masked_document_number in html
    assert 'value="13900000000"' in html
    assert re.search(r'<input[^>]*name="relationship" value="parent"[^>]*checked', html)


def test_edit_saves_relationship_and_phone_and_keeps_the_rest(signed_in, account):
    mother = PatientFactory(
        account=account, relationship="other", suspended_until=datetime.date(2026, 12, 1)
    )

    response = signed_in.post(
        edit_url(mother), {"relationship": "parent", "phone": "+86 139-0000-1111"}
    )

    assert response.status_code == 302
    assert response["Location"] == LIST
    mother.refresh_from_db()
    assert (mother.relationship, mother.phone, mother.suspended_until) == (
        "parent",
        "13900001111",
        datetime.date(2026, 12, 1),
    )


def test_edit_refuses_an_invalid_phone_on_the_field(signed_in, account):
    mother = PatientFactory(account=account, relationship="parent")
    before = snapshot()

    response = signed_in.post(edit_url(mother), {"relationship": "child", "phone": "12"})

    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, "phone") == "Error: Please enter a valid phone number."
    assert described_by(html, "phone") == "id_phone_error"
    assert snapshot() == before


def test_edit_in_chinese(signed_in, account):
    mother = PatientFactory(account=account, relationship="parent")

    html = signed_in.get(edit_url(mother), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert '<html lang="zh-hans"' in html
    assert "居民身份证" in html


# --- another account's ids, removed patients ---------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("url", [edit_url, remove_url])
def test_another_accounts_patient_is_not_found(signed_in, method, url):
    theirs = PatientFactory(account=AccountFactory(), relationship="parent")
    before = snapshot()

    response = getattr(signed_in, method)(url(theirs), {"relationship": "self", "phone": ""})

    assert response.status_code == 404
    assert snapshot() == before


def test_a_removed_patient_cannot_be_edited(signed_in, account):
    gone = PatientFactory(account=account, removed_at=NOW)

    assert signed_in.get(edit_url(gone)).status_code == 404
    assert signed_in.get(remove_url(gone)).status_code == 404


def test_a_missing_patient_is_not_found(signed_in):
    assert signed_in.get("/account/patients/999999/edit").status_code == 404


# --- remove -----------------------------------------------------------------


def test_remove_asks_first(signed_in, account, django_assert_num_queries):
    mother = PatientFactory(account=account, real_name="王秀英")

    with django_assert_num_queries(PAGE_QUERIES + 1):  # + the patient
        response = signed_in.get(remove_url(mother))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Remove 王秀英?" in html
    assert f'<form method="post" action="{remove_url(mother)}">' in html
    assert Patient.objects.get(pk=mother.pk).removed_at is None


def test_remove_hides_the_patient_and_keeps_the_row(signed_in, account):
    mother = PatientFactory(account=account, real_name="王秀英")

    response = signed_in.post(remove_url(mother))

    assert response.status_code == 302
    assert response["Location"] == LIST
    mother.refresh_from_db()
    assert mother.removed_at == NOW
    html = signed_in.get(LIST).content.decode()
    assert "王秀英 was removed from your patients." in html
    assert f'data-patient="{mother.pk}"' not in html
    with pytest.raises(NotYourPatient):
        patient_get_for_account(account=account, patient_id=mother.pk)


def test_a_double_submitted_remove_is_one_removal(signed_in, account, clock):
    mother = PatientFactory(account=account)
    signed_in.post(remove_url(mother))
    clock.shift(datetime.timedelta(seconds=2))

    response = signed_in.post(remove_url(mother))

    assert response.status_code == 302
    mother.refresh_from_db()
    assert mother.removed_at == NOW


def test_the_guardian_of_a_child_without_an_id_cannot_be_removed(signed_in, account):
    me = PatientFactory(account=account, relationship="self")
    PatientFactory(
        account=account,
        document_type=NONE,
        document_number="",
        birth_date=datetime.date(2024, 1, 1),
        guardian=me,
    )
    before = snapshot()

    response = signed_in.post(remove_url(me))

    html = response.content.decode()
    assert response.status_code == 409
    assert 'data-code="patient_is_guardian"' in html
    assert PatientIsGuardian().detail in html
    assert snapshot() == before


def test_adding_a_removed_person_again_brings_back_the_same_record(signed_in, account):
    mother = PatientFactory(account=account, document_number=GB_EXAMPLE, real_name="王秀英")
    signed_in.post(remove_url(mother))

    response = signed_in.post(ADD, add_form(real_name="王秀英", relationship="parent"))

    assert response.status_code == 302
    back = Patient.objects.get(account=account)
    assert (back.pk, back.medical_record_number, back.removed_at, back.relationship) == (
        mother.pk,
        mother.medical_record_number,
        None,
        "parent",
    )


def test_patient_remove_refuses_another_accounts_patient(patient):
    with pytest.raises(NotYourPatient):
        services.patient_remove(patient=patient, requested_by=AccountFactory())

    patient.refresh_from_db()
    assert patient.removed_at is None


def test_remove_page_in_chinese(signed_in, account):
    mother = PatientFactory(account=account)

    with translation.override("zh-hans"):
        response = signed_in.get(remove_url(mother), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert '<html lang="zh-hans"' in response.content.decode()


def test_adding_mid_booking_goes_back_to_the_step_with_the_new_patient(signed_in):
    step = "/book/confirm/?slot=12"

    form = signed_in.get(ADD, {"next": step})
    response = signed_in.post(ADD, add_form(next=step))

    assert f'name="next" value="{step}"' in form.content.decode()
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/book/confirm/?slot=12&patient={patient.pk}"


def test_an_off_site_next_is_ignored_after_adding(signed_in):
    response = signed_in.post(ADD, add_form(next="https://evil.example/book/"))

    assert response["Location"] == LIST


def test_adding_needs_a_signed_in_patient(client):
    page = client.get(ADD)
    posted = client.post(ADD, add_form())

    assert page.status_code == posted.status_code == 302
    assert page["Location"].startswith("/account/sign-in?next=")
    assert not Patient.objects.exists()
