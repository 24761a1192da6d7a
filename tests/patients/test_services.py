import datetime
import re

import pytest
import time_machine
from django.contrib.auth.hashers import is_password_usable

from patients import services
from patients.exceptions import (
    DocumentDetailsMismatch,
    InvalidBirthDate,
    InvalidDocumentNumber,
    InvalidName,
    InvalidPhone,
    MissingPersonalDetails,
    PatientAlreadyRegistered,
    PhoneAlreadyRegistered,
    TooManyPatients,
)
from patients.models import Account, NoShow, Patient
from patients.services import account_create, patient_create, patient_record_no_show
from tests.factories import AccountFactory, PatientFactory, resident_id
from tests.patients.factories import NoShowFactory, with_check_digit

GB_EXAMPLE = "11010519491231002X"
RESIDENT_ID = Patient.DocumentType.RESIDENT_ID
PASSPORT = Patient.DocumentType.PASSPORT


def register(account, **overrides) -> Patient:
    fields = {"real_name": "王秀英", "document_type": RESIDENT_ID, "document_number": GB_EXAMPLE}
    return patient_create(account=account, **(fields | overrides))


# --- accounts ---------------------------------------------------------------


def test_account_create_uses_the_phone_as_username_without_a_password(db):
    account = account_create(phone="13912345678")

    account.refresh_from_db()
    assert account.username == "13912345678"
    assert account.phone == "13912345678"
    assert account.language == Account.Language.ZH_HANS
    assert not is_password_usable(account.password)


def test_account_create_keeps_the_language(db):
    assert account_create(phone="13912345678", language="en").language == "en"


def test_account_create_normalises_a_mainland_number_with_country_code(db):
    assert account_create(phone="+86 139-1234-5678").phone == "13912345678"


def test_account_create_refuses_a_phone_already_registered(db):
    account_create(phone="13912345678")

    with pytest.raises(PhoneAlreadyRegistered):
        account_create(phone="+8613912345678")
    assert Account.objects.count() == 1


@pytest.mark.parametrize("phone", ["", "   ", "12345", "139 1234 567a", "+" + "1" * 16])
def test_account_create_refuses_an_invalid_phone(db, phone):
    with pytest.raises(InvalidPhone):
        account_create(phone=phone)
    assert Account.objects.count() == 0


# --- patients: resident IDs -------------------------------------------------


def test_patient_create_derives_birth_date_and_sex_from_the_gb_example(account):
    patient = register(account, relationship=Patient.Relationship.PARENT)

    patient.refresh_from_db()
    assert patient.account == account
    assert patient.real_name == "王秀英"
    assert patient.document_type == RESIDENT_ID
    assert patient.document_number == GB_EXAMPLE
    assert patient.birth_date == datetime.date(1949, 12, 31)
    assert patient.sex == Patient.Sex.FEMALE
    assert patient.relationship == Patient.Relationship.PARENT
    assert patient.suspended_until is None


def test_patient_create_derives_male_from_an_odd_sequence(account):
    number = resident_id(birth_date=datetime.date(1988, 2, 29), sequence=37, area="320311")

    patient = register(account, document_number=number)

    assert (patient.birth_date, patient.sex) == (datetime.date(1988, 2, 29), Patient.Sex.MALE)


def test_patient_create_normalises_lower_case_x_and_spaces(account):
    patient = register(account, document_number=" 110105 19491231 002x ")

    patient.refresh_from_db()
    assert patient.document_number == GB_EXAMPLE


def test_patient_create_accepts_full_width_digits(account):
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in GB_EXAMPLE)

    assert register(account, document_number=full_width).document_number == GB_EXAMPLE


def test_patient_create_accepts_birth_date_and_sex_that_agree(account):
    patient = register(account, birth_date=datetime.date(1949, 12, 31), sex="F")

    assert patient.pk is not None


@pytest.mark.parametrize(
    "given",
    [
        pytest.param({"birth_date": datetime.date(1949, 12, 30)}, id="birth-date"),
        pytest.param({"sex": "M"}, id="sex"),
        pytest.param({"birth_date": datetime.date(1949, 12, 31), "sex": "M"}, id="sex-only"),
    ],
)
def test_patient_create_refuses_details_that_contradict_the_resident_id(account, given):
    with pytest.raises(DocumentDetailsMismatch) as refused:
        register(account, **given)

    assert refused.value.code == "document_details_mismatch"
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("110105194912310021", id="bad-checksum"),
        pytest.param(with_check_digit("11010519990230001"), id="bad-birth-date"),
        pytest.param("11010519491231002", id="wrong-length"),
        pytest.param(with_check_digit("99999919800101001"), id="unknown-area"),
        pytest.param("", id="empty"),
    ],
)
def test_patient_create_refuses_an_invalid_resident_id(account, number):
    with pytest.raises(InvalidDocumentNumber) as refused:
        register(account, document_number=number)

    assert refused.value.detail == "The ID number is not valid. Please check it against the card."
    assert Patient.objects.count() == 0


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_patient_create_refuses_a_resident_id_born_tomorrow(account):
    tomorrow = resident_id(birth_date=datetime.date(2025, 6, 2))
    today = resident_id(birth_date=datetime.date(2025, 6, 1))

    with pytest.raises(InvalidDocumentNumber):
        register(account, document_number=tomorrow)
    assert register(account, document_number=today).birth_date == datetime.date(2025, 6, 1)


# --- patients: passports and other documents --------------------------------


def test_patient_create_with_a_passport_keeps_the_given_details(account):
    patient = register(
        account,
        real_name="  Anna Schmidt ",
        document_type=PASSPORT,
        document_number="  c01x00t47 ",
        birth_date=datetime.date(1990, 5, 17),
        sex="F",
    )

    patient.refresh_from_db()
    assert patient.real_name == "Anna Schmidt"
    assert patient.document_number == "C01X00T47"
    assert (patient.birth_date, patient.sex) == (datetime.date(1990, 5, 17), "F")


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param({"birth_date": None, "sex": "M"}, id="birth-date"),
        pytest.param({"birth_date": datetime.date(1990, 5, 17), "sex": None}, id="sex"),
        pytest.param({"birth_date": datetime.date(1990, 5, 17), "sex": "X"}, id="unknown-sex"),
    ],
)
def test_patient_create_with_a_passport_needs_birth_date_and_sex(account, missing):
    with pytest.raises(MissingPersonalDetails):
        register(account, document_type=PASSPORT, document_number="E12345678", **missing)
    assert Patient.objects.count() == 0


@pytest.mark.parametrize("number", ["E1", "E1234 5678", "E-12345678", "护照12345", "A" * 33, "   "])
def test_patient_create_refuses_a_malformed_other_document(account, number):
    with pytest.raises(InvalidDocumentNumber):
        register(
            account,
            document_type=Patient.DocumentType.OTHER,
            document_number=number,
            birth_date=datetime.date(1990, 5, 17),
            sex="M",
        )
    assert Patient.objects.count() == 0


def test_patient_create_accepts_other_documents_of_3_and_32_characters(account):
    for number in ("H12", "A" * 32):
        register(
            account,
            document_type=Patient.DocumentType.OTHER,
            document_number=number,
            birth_date=datetime.date(1990, 5, 17),
            sex="M",
        )

    assert Patient.objects.count() == 2


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_patient_create_refuses_a_passport_birth_date_in_the_future(account):
    with pytest.raises(InvalidBirthDate):
        register(
            account,
            document_type=PASSPORT,
            document_number="E12345678",
            birth_date=datetime.date(2025, 6, 2),
            sex="M",
        )
    assert Patient.objects.count() == 0


# --- patients: names and phones ---------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "张" * 51])
def test_patient_create_refuses_a_missing_or_overlong_name(account, name):
    with pytest.raises(InvalidName):
        register(account, real_name=name)
    assert Patient.objects.count() == 0


def test_patient_create_strips_the_name_and_takes_50_characters(account):
    assert register(account, real_name=" " + "张" * 50 + " ").real_name == "张" * 50


def test_patient_create_normalises_the_contact_phone(account):
    assert register(account, phone="+86 138 0013 8000").phone == "13800138000"


def test_patient_create_refuses_an_invalid_contact_phone(account):
    with pytest.raises(InvalidPhone):
        register(account, phone="call me")
    assert Patient.objects.count() == 0


# --- patients: per-account rules --------------------------------------------


def test_patient_create_refuses_a_sixth_patient(account):
    PatientFactory.create_batch(5, account=account)

    with pytest.raises(TooManyPatients) as refused:
        register(account)

    assert refused.value.code == "too_many_patients"
    assert refused.value.detail == "One account can hold at most 5 patients."
    assert Patient.objects.filter(account=account).count() == 5


def test_patient_create_allows_the_fifth_patient_and_counts_per_account(account):
    PatientFactory.create_batch(4, account=account)
    PatientFactory.create_batch(5)  # a full account elsewhere does not matter

    register(account)

    assert Patient.objects.filter(account=account).count() == 5


def test_patient_create_refuses_the_same_document_twice_in_one_account(account):
    register(account)

    with pytest.raises(PatientAlreadyRegistered):
        register(account, real_name="王秀英", document_number=GB_EXAMPLE.lower())
    assert Patient.objects.count() == 1


def test_patient_create_allows_the_same_person_in_another_account(account):
    # A mother may be registered by each of her children.
    register(account)

    register(AccountFactory())

    assert Patient.objects.filter(document_number=GB_EXAMPLE).count() == 2


def test_duplicate_document_caught_by_the_unique_constraint_is_a_clean_refusal(account):
    # The backstop behind the check: an insert that hits the constraint.
    existing = register(account)

    with pytest.raises(PatientAlreadyRegistered) as refused:
        services._patient_insert(
            account_id=account.pk,
            relationship="self",
            phone="",
            real_name="王秀英",
            document_type=RESIDENT_ID,
            document_number=GB_EXAMPLE,
            birth_date=existing.birth_date,
            sex=existing.sex,
        )
    # No database message (which quotes the number) chained into a traceback.
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
    assert Patient.objects.count() == 1


# --- medical record numbers -------------------------------------------------


def test_patient_create_assigns_a_medical_record_number(account):
    numbers = {
        register(
            account, document_number=resident_id(birth_date=datetime.date(1960, 1, n))
        ).medical_record_number
        for n in range(1, 6)
    }

    assert len(numbers) == 5
    assert all(re.fullmatch(r"Y[0-9]{9}", number) for number in numbers)


def test_patient_create_retries_a_taken_medical_record_number(account, monkeypatch):
    PatientFactory(medical_record_number="Y000000001")
    drawn = iter(["Y000000001", "Y000000002"])
    monkeypatch.setattr(services, "_new_medical_record_number", lambda: next(drawn))

    patient = register(account)

    patient.refresh_from_db()
    assert patient.medical_record_number == "Y000000002"
    assert Patient.objects.count() == 2


# --- no-shows ---------------------------------------------------------------

NO_SHOW_RULE = {"limit": 3, "window_days": 365, "suspension_days": 90}
VISIT = datetime.date(2025, 3, 10)


def record(patient, visit_date, reference) -> bool:
    return patient_record_no_show(
        patient=patient, visit_date=visit_date, reference=reference, **NO_SHOW_RULE
    )


def test_two_no_shows_do_not_suspend(patient):
    assert record(patient, VISIT - datetime.timedelta(days=30), "b1") is False
    assert record(patient, VISIT, "b2") is False

    patient.refresh_from_db()
    assert patient.suspended_until is None
    assert NoShow.objects.filter(patient=patient).count() == 2


def test_third_no_show_within_twelve_months_suspends_for_90_days(patient):
    NoShowFactory(patient=patient, visit_date=VISIT - datetime.timedelta(days=364))
    NoShowFactory(patient=patient, visit_date=VISIT - datetime.timedelta(days=100))

    suspended = record(patient, VISIT, "b3")

    assert suspended is True
    assert patient.suspended_until == datetime.date(2025, 6, 8)
    patient.refresh_from_db()
    assert patient.suspended_until == VISIT + datetime.timedelta(days=90)


def test_a_no_show_outside_the_window_does_not_count(patient):
    NoShowFactory(patient=patient, visit_date=VISIT - datetime.timedelta(days=365))
    NoShowFactory(patient=patient, visit_date=VISIT - datetime.timedelta(days=100))

    assert record(patient, VISIT, "b3") is False

    patient.refresh_from_db()
    assert patient.suspended_until is None


def test_a_later_no_show_does_not_count_towards_an_earlier_visit(patient):
    # A no-show marked late: the window ends at its own visit date.
    NoShowFactory(patient=patient, visit_date=VISIT + datetime.timedelta(days=1))
    NoShowFactory(patient=patient, visit_date=VISIT - datetime.timedelta(days=1))

    assert record(patient, VISIT, "late") is False


def test_the_same_reference_twice_records_once(patient):
    record(patient, VISIT - datetime.timedelta(days=10), "b1")
    record(patient, VISIT, "b2")

    assert record(patient, VISIT, "b2") is False

    patient.refresh_from_db()
    assert patient.suspended_until is None
    assert list(NoShow.objects.values_list("reference", flat=True).order_by("pk")) == [
        "b1",
        "b2",
    ]


def test_a_repeated_suspending_call_changes_nothing(patient):
    NoShowFactory.create_batch(2, patient=patient, visit_date=VISIT)
    assert record(patient, VISIT, "b3") is True

    assert record(patient, VISIT + datetime.timedelta(days=5), "b3") is False

    patient.refresh_from_db()
    assert patient.suspended_until == VISIT + datetime.timedelta(days=90)
    assert NoShow.objects.count() == 3


def test_a_longer_suspension_is_never_shortened(patient):
    longer = VISIT + datetime.timedelta(days=200)
    patient.suspended_until = longer
    patient.save()
    NoShowFactory.create_batch(2, patient=patient, visit_date=VISIT)

    assert record(patient, VISIT, "b3") is False

    patient.refresh_from_db()
    assert patient.suspended_until == longer


def test_a_shorter_suspension_is_extended(patient):
    patient.suspended_until = VISIT + datetime.timedelta(days=10)
    patient.save()
    NoShowFactory.create_batch(2, patient=patient, visit_date=VISIT)

    assert record(patient, VISIT, "b3") is True

    patient.refresh_from_db()
    assert patient.suspended_until == VISIT + datetime.timedelta(days=90)


def test_no_shows_of_another_patient_do_not_count(patient):
    NoShowFactory.create_batch(2, visit_date=VISIT)  # someone else's

    assert record(patient, VISIT, "b1") is False


def test_patient_update_changes_only_what_may_change(db):
    patient = PatientFactory(relationship="self", suspended_until=datetime.date(2026, 3, 1))
    identity = (patient.real_name, patient.document_number, patient.medical_record_number)

    updated = services.patient_update(
        patient=patient, relationship="parent", phone="+86 139 1234 5678", suspended_until=None
    )

    patient.refresh_from_db()
    assert (patient.relationship, patient.phone, patient.suspended_until) == (
        "parent",
        "13912345678",
        None,
    )
    assert (patient.real_name, patient.document_number, patient.medical_record_number) == identity
    assert updated == patient


def test_patient_update_refuses_an_invalid_phone_and_changes_nothing(db):
    patient = PatientFactory(relationship="self")
    phone = patient.phone

    with pytest.raises(InvalidPhone):
        services.patient_update(
            patient=patient, relationship="parent", phone="12", suspended_until=None
        )

    patient.refresh_from_db()
    assert (patient.relationship, patient.phone) == ("self", phone)
