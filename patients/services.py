"""Every write to accounts, patients and no-shows.

Identity rules follow DESIGN.md: a real name plus a resident ID (GB 11643 checksum,
birth date and sex derived from it) or a passport / other document with the birth
date and sex typed in; at most 5 patients per account; a medical record number is
given once and never changes.
"""

import datetime
import re
import secrets
import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from stdnum.exceptions import ValidationError as StdnumValidationError

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
from patients.identity import parse_resident_id
from patients.models import Account, NoShow, Patient
from patients.selectors import patient_no_show_count

# Self and family together (DESIGN.md, "per account"). Not a setting on purpose:
# the limit is part of the anti-scalping rules, not a per-department preference.
PATIENTS_PER_ACCOUNT = 5

REAL_NAME_MAX_LENGTH = 50

# "Y" + 9 random digits: a billion numbers, so a collision is rare and a retry cheap.
MEDICAL_RECORD_NUMBER_PREFIX = "Y"
MEDICAL_RECORD_NUMBER_ATTEMPTS = 10

_WHITESPACE = re.compile(r"\s+")
_OTHER_DOCUMENT_PATTERN = re.compile(r"[A-Z0-9]{3,32}")
# After separators are removed: an optional "+" and 6 to 15 digits (E.164 allows 15).
_PHONE_PATTERN = re.compile(r"\+?[0-9]{6,15}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")


@dataclass(frozen=True)
class PatientDetails:
    """A patient's identity, validated and normalised, ready to store."""

    real_name: str
    document_type: str
    document_number: str
    birth_date: datetime.date
    sex: str
    phone: str


def account_create(*, phone: str, language: str = Account.Language.ZH_HANS) -> Account:
    """Create a patient account whose username is its phone number.

    The password is unusable: patients sign in with one-time codes sent to the phone.
    Refuses an invalid phone (InvalidPhone) and a phone that already has an account
    (PhoneAlreadyRegistered).
    """
    if language not in Account.Language.values:
        raise ValueError(f"unsupported language {language!r}")
    phone = _normalise_phone(phone)
    with transaction.atomic():
        if Account.objects.filter(phone=phone).exists() or (
            Account.objects.filter(username=phone).exists()
        ):
            raise PhoneAlreadyRegistered()
        try:
            with transaction.atomic():
                return Account.objects.create_user(
                    username=phone, phone=phone, language=language, password=None
                )
        except IntegrityError:
            # Two sign-ups with the same phone at once: the unique index decides.
            raise PhoneAlreadyRegistered() from None


def patient_details_clean(
    *,
    real_name: str,
    document_type: str,
    document_number: str,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    phone: str = "",
) -> PatientDetails:
    """Validate and normalise a patient's identity without touching the database.

    Forms may call it to show errors early; `patient_create` calls it again.
    Refuses: an empty or over-long name (InvalidName); a resident ID that fails the
    checksum, birth date or area code, or is born in the future (InvalidDocumentNumber);
    a birth date or sex that contradicts the resident ID (DocumentDetailsMismatch);
    for other documents, a number that is not 3..32 letters and digits
    (InvalidDocumentNumber), a missing birth date or sex (MissingPersonalDetails) or a
    birth date in the future (InvalidBirthDate); an invalid contact phone (InvalidPhone).
    """
    real_name = (real_name or "").strip()
    if not real_name or len(real_name) > REAL_NAME_MAX_LENGTH:
        raise InvalidName()
    if document_type not in Patient.DocumentType.values:
        raise ValueError(f"unknown document type {document_type!r}")
    # NFKC turns full-width digits and letters (typed with a Chinese IME) into ASCII.
    number = unicodedata.normalize("NFKC", document_number or "").strip().upper()
    today = timezone.localdate()
    phone = _normalise_phone(phone) if phone and phone.strip() else ""

    if document_type == Patient.DocumentType.RESIDENT_ID:
        try:
            # People type the number in groups ("110105 19491231 002X").
            resident = parse_resident_id(_WHITESPACE.sub("", number))
        except StdnumValidationError:
            raise InvalidDocumentNumber() from None
        if resident.birth_date > today:
            raise InvalidDocumentNumber()
        if (birth_date is not None and birth_date != resident.birth_date) or (
            sex is not None and sex != resident.sex
        ):
            raise DocumentDetailsMismatch()
        return PatientDetails(
            real_name=real_name,
            document_type=document_type,
            document_number=resident.number,
            birth_date=resident.birth_date,
            sex=resident.sex,
            phone=phone,
        )

    if not _OTHER_DOCUMENT_PATTERN.fullmatch(number):
        raise InvalidDocumentNumber()
    if birth_date is None or sex not in Patient.Sex.values:
        raise MissingPersonalDetails()
    if birth_date > today:
        raise InvalidBirthDate()
    return PatientDetails(
        real_name=real_name,
        document_type=document_type,
        document_number=number,
        birth_date=birth_date,
        sex=sex,
        phone=phone,
    )


def patient_create(
    *,
    account: Account,
    real_name: str,
    document_type: str,
    document_number: str,
    relationship: str = Patient.Relationship.SELF,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    phone: str = "",
) -> Patient:
    """Register a patient (the account holder or a family member) in an account.

    Refuses everything `patient_details_clean` refuses, the same document twice in one
    account (PatientAlreadyRegistered) and a sixth patient (TooManyPatients). The account row is locked first, so two
    concurrent registrations cannot both see room for one more. Gives the patient a
    medical record number that never changes afterwards.
    """
    details = patient_details_clean(
        real_name=real_name,
        document_type=document_type,
        document_number=document_number,
        birth_date=birth_date,
        sex=sex,
        phone=phone,
    )
    if relationship not in Patient.Relationship.values:
        raise ValueError(f"unknown relationship {relationship!r}")

    with transaction.atomic():
        # Serialises every registration in this account until commit.
        Account.objects.select_for_update().only("pk").get(pk=account.pk)
        patients = Patient.objects.filter(account_id=account.pk)
        if patients.filter(
            document_type=details.document_type, document_number=details.document_number
        ).exists():
            raise PatientAlreadyRegistered()
        if patients.count() >= PATIENTS_PER_ACCOUNT:
            raise TooManyPatients(limit=PATIENTS_PER_ACCOUNT)
        return _patient_insert(
            account_id=account.pk,
            relationship=relationship,
            phone=details.phone,
            real_name=details.real_name,
            document_type=details.document_type,
            document_number=details.document_number,
            birth_date=details.birth_date,
            sex=details.sex,
        )


def patient_record_no_show(
    *,
    patient: Patient,
    visit_date: datetime.date,
    reference: str,
    limit: int,
    window_days: int,
    suspension_days: int,
) -> bool:
    """Record a missed visit and suspend online and phone booking when it is one too many.

    `reference` (e.g. the booking's code) makes this idempotent: a second call with the
    same reference records nothing. When the patient's no-shows in the `window_days`
    days up to `visit_date` reach `limit`, booking is suspended until
    `visit_date + suspension_days`; a longer suspension already in place is kept.
    Returns True if this call suspended the patient (or lengthened the suspension), and
    then also updates `patient.suspended_until` in place.

    Only the booking app calls this, and never for a booking the hospital cancelled.
    Locks the patient row, so concurrent no-shows of one patient are counted one by one.
    """
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if NoShow.objects.filter(reference=reference).exists():
            return False
        NoShow.objects.create(patient=locked, visit_date=visit_date, reference=reference)
        count = patient_no_show_count(patient=locked, on=visit_date, window_days=window_days)
        if count < limit:
            return False
        until = visit_date + datetime.timedelta(days=suspension_days)
        if locked.suspended_until is not None and locked.suspended_until >= until:
            return False
        locked.suspended_until = until
        locked.save(update_fields=["suspended_until"])
        patient.suspended_until = until
        return True


def _patient_insert(**fields) -> Patient:
    """Insert with a fresh medical record number, retrying in a savepoint on a collision.

    Must be called inside the transaction that holds the account row lock.
    """
    for _attempt in range(MEDICAL_RECORD_NUMBER_ATTEMPTS):
        number = _new_medical_record_number()
        try:
            with transaction.atomic():
                return Patient.objects.create(medical_record_number=number, **fields)
        except IntegrityError:
            # `from None`: the database's message quotes the document number, and a
            # chained traceback would carry it into the logs.
            if Patient.objects.filter(
                account_id=fields["account_id"],
                document_type=fields["document_type"],
                document_number=fields["document_number"],
            ).exists():
                raise PatientAlreadyRegistered() from None
            if not Patient.objects.filter(medical_record_number=number).exists():
                raise
    raise RuntimeError(
        f"no free medical record number after {MEDICAL_RECORD_NUMBER_ATTEMPTS} attempts"
    )


def _new_medical_record_number() -> str:
    return f"{MEDICAL_RECORD_NUMBER_PREFIX}{secrets.randbelow(10**9):09d}"


def _normalise_phone(value: str) -> str:
    """Digits with an optional leading "+"; +86 / 0086 before a mainland mobile dropped."""
    phone = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("+86", "0086"):
        rest = phone.removeprefix(prefix)
        if rest != phone and _MAINLAND_MOBILE.fullmatch(rest):
            phone = rest
    if not _PHONE_PATTERN.fullmatch(phone):
        raise InvalidPhone()
    return phone
