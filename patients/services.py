"""Every write to accounts, patients and no-shows.

Identity rules follow DESIGN.md: a real name plus a resident ID (GB 11643 checksum,
birth date and sex derived from it) or a passport / other document with the birth
date and sex typed in; at most 5 patients per account; a medical record number is
given once and never changes.
"""

import datetime
import hashlib
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from stdnum.exceptions import ValidationError as StdnumValidationError

from notifications.services import message_enqueue
from patients.authentication import token_hash
from patients.exceptions import (
    CodeDailyLimit,
    CodeExpired,
    CodeIpLimit,
    CodeLocked,
    CodeTooSoon,
    CodeWrong,
    DocumentDetailsMismatch,
    DocumentNumberRequired,
    GuardianRequired,
    InvalidBirthDate,
    InvalidDocumentNumber,
    InvalidMobilePhone,
    InvalidName,
    InvalidPhone,
    MissingPersonalDetails,
    NotYourPatient,
    PatientAlreadyRegistered,
    PatientIsGuardian,
    PhoneAlreadyRegistered,
    SignInNotAllowed,
    TooManyPatients,
)
from patients.identity import MAINLAND_MOBILE, age_on, parse_resident_id, phone_normalise
from patients.models import Account, ApiToken, NoShow, Patient, SignInCode
from patients.selectors import (
    SIGN_IN_CODE_DIGITS,
    SIGN_IN_CODE_LIFETIME,
    SIGN_IN_CODE_MAX_ATTEMPTS,
    SIGN_IN_CODES_PER_DAY,
    SIGN_IN_CODES_PER_IP_PER_HOUR,
    patient_no_show_count,
    sign_in_code_wait_seconds,
)

# Self and family together (DESIGN.md, "per account"). Not a setting on purpose:
# the limit is part of the anti-scalping rules, not a per-department preference.
PATIENTS_PER_ACCOUNT = 5

# From this age a patient needs a document (DESIGN.md: "a child under 14 may book with a
# guardian's account"); younger children may be added without one.
UNDOCUMENTED_CHILD_MAX_AGE = 14

REAL_NAME_MAX_LENGTH = 50

# "Y" + 9 random digits: a billion numbers, so a collision is rare and a retry cheap.
MEDICAL_RECORD_NUMBER_PREFIX = "Y"
MEDICAL_RECORD_NUMBER_ATTEMPTS = 10

_WHITESPACE = re.compile(r"\s+")
_OTHER_DOCUMENT_PATTERN = re.compile(r"[A-Z0-9]{3,32}")


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
    Without a document (a child under 14 with no ID number yet), the number is ignored
    and stored empty; refuses a missing birth date or sex (MissingPersonalDetails), a
    birth date in the future (InvalidBirthDate) and a person aged 14 or more
    (DocumentNumberRequired).
    """
    real_name = (real_name or "").strip()
    if not real_name or len(real_name) > REAL_NAME_MAX_LENGTH:
        raise InvalidName()
    if document_type not in Patient.DocumentType.values:
        raise ValueError(f"unknown document type {document_type!r}")
    # NFKC turns full-width digits and letters (typed with a Chinese IME) into ASCII.
    number = unicodedata.normalize("NFKC", document_number or "").strip().upper()
    today = timezone.localdate()
    phone = contact_phone_clean(phone)

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

    if document_type == Patient.DocumentType.NONE:
        if birth_date is None or sex not in Patient.Sex.values:
            raise MissingPersonalDetails()
        if birth_date > today:
            raise InvalidBirthDate()
        if age_on(birth_date, today) >= UNDOCUMENTED_CHILD_MAX_AGE:
            raise DocumentNumberRequired()
        return PatientDetails(
            real_name=real_name,
            document_type=document_type,
            document_number="",
            birth_date=birth_date,
            sex=sex,
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
    idempotency_key: uuid.UUID | None = None,
) -> Patient:
    """Register a patient (the account holder or a family member) in an account.

    Refuses everything `patient_details_clean` refuses, the same person twice among the
    account's current patients (PatientAlreadyRegistered: same document, or for a child
    without one the same name and birth date), a sixth current patient
    (TooManyPatients) and a child without an ID number in an account with no adult
    "self" patient to be the guardian (GuardianRequired). The account row is locked
    first, so two concurrent registrations cannot both see room for one more. Gives the
    patient a medical record number that never changes afterwards.

    A person the account removed earlier is brought back (same row, same medical record
    number, history intact) with the details given now. With `idempotency_key` (the add
    form's one-time key), a second call with the same key returns the patient the first
    made, so a double submit registers one patient.
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
        # Serialises every registration and removal in this account until commit.
        Account.objects.select_for_update().only("pk").get(pk=account.pk)
        patients = Patient.objects.filter(account_id=account.pk)
        if idempotency_key is not None:
            already = patients.filter(add_key=idempotency_key).first()
            if already is not None:
                return already
        current = patients.filter(removed_at__isnull=True)
        if details.document_type == Patient.DocumentType.NONE:
            same_person = {"real_name": details.real_name, "birth_date": details.birth_date}
        else:
            same_person = {"document_number": details.document_number}
        existing = (
            patients.select_for_update()
            .filter(document_type=details.document_type, **same_person)
            .first()
        )
        if existing is not None and not existing.is_removed:
            raise PatientAlreadyRegistered()
        if current.count() >= PATIENTS_PER_ACCOUNT:
            raise TooManyPatients(limit=PATIENTS_PER_ACCOUNT)
        guardian_id = None
        if details.document_type == Patient.DocumentType.NONE:
            guardian_id = _guardian_id_for(current)
        fields = {
            "relationship": relationship,
            "phone": details.phone,
            "real_name": details.real_name,
            "birth_date": details.birth_date,
            "sex": details.sex,
            "guardian_id": guardian_id,
            "add_key": idempotency_key,
        }
        if existing is not None:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.removed_at = None
            existing.save(update_fields=[*fields, "removed_at"])
            return existing
        return _patient_insert(
            account_id=account.pk,
            document_type=details.document_type,
            document_number=details.document_number,
            **fields,
        )


def patient_register_at_desk(
    *,
    real_name: str,
    document_type: str,
    document_number: str,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    phone: str = "",
    registered_by: Account,
) -> Patient:
    """Register a patient standing at the front desk's window (walk-in or phone caller).

    With a phone, the patient joins that phone's account (made now with `account_create`
    if there is none): "self" when the account has no current patient yet, else "other".
    Without a phone, a desk-owned account (no phone, username "desk-<12 hex>", unusable
    password) holds this one patient, so a walk-in without a mobile is booked all the same.

    Refuses what `patient_details_clean` and `patient_create` refuse, and a person whose
    document is already registered (not removed) in any account (PatientAlreadyRegistered,
    with `.patient` the registered one, so the desk can take that patient instead). One
    transaction: a refusal leaves no account behind. `registered_by` is the desk member
    (the audit log's actor comes from the request).
    """
    details = patient_details_clean(
        real_name=real_name,
        document_type=document_type,
        document_number=document_number,
        birth_date=birth_date,
        sex=sex,
        phone=phone,
    )
    with transaction.atomic():
        if details.document_type != Patient.DocumentType.NONE:
            existing = (
                Patient.objects.filter(
                    document_type=details.document_type,
                    document_number=details.document_number,
                    removed_at__isnull=True,
                )
                .order_by("created_at", "pk")
                .first()
            )
            if existing is not None:
                error = PatientAlreadyRegistered()
                error.patient = existing
                raise error
        account = None
        if details.phone:
            account = Account.objects.filter(phone=details.phone).first()
            if account is None:
                account = account_create(phone=details.phone)
            elif account.is_staff:
                account = None  # a staff member's phone: the patient gets a desk account
        if account is None:
            account = Account.objects.create_user(
                username=f"desk-{uuid.uuid4().hex[:12]}", phone=None, password=None
            )
        has_patients = Patient.objects.filter(account=account, removed_at__isnull=True).exists()
        return patient_create(
            account=account,
            real_name=details.real_name,
            document_type=details.document_type,
            document_number=details.document_number,
            relationship=(
                Patient.Relationship.OTHER if has_patients else Patient.Relationship.SELF
            ),
            birth_date=details.birth_date,
            sex=details.sex,
            phone=details.phone,
        )


def _guardian_id_for(current_patients) -> int:
    """The account holder's own current patient with a document: a child without an ID
    number books with them. Refuses when there is none (GuardianRequired)."""
    guardian_id = (
        current_patients.filter(relationship=Patient.Relationship.SELF)
        .exclude(document_type=Patient.DocumentType.NONE)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if guardian_id is None:
        raise GuardianRequired()
    return guardian_id


# `patient_update(suspended_until=UNCHANGED)`: the account holder's edit leaves the
# suspension alone (it may have changed since their page was drawn).
UNCHANGED = object()


def patient_update(
    *,
    patient: Patient,
    relationship: str,
    phone: str,
    suspended_until: datetime.date | object | None = UNCHANGED,
) -> Patient:
    """Change what may change after registration: the relationship to the account holder,
    the contact phone, and the suspension (staff may lift or shorten it; UNCHANGED, the
    default, keeps it). Identity and the medical record number never change.

    Refuses an invalid contact phone (InvalidPhone). Locks the patient row, as recording
    a no-show does, so neither overwrites the other's suspension half-way.
    """
    if relationship not in Patient.Relationship.values:
        raise ValueError(f"unknown relationship {relationship!r}")
    phone = contact_phone_clean(phone)
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        locked.relationship = relationship
        locked.phone = phone
        update_fields = ["relationship", "phone"]
        if suspended_until is not UNCHANGED:
            locked.suspended_until = suspended_until
            update_fields.append("suspended_until")
        locked.save(update_fields=update_fields)
    patient.relationship, patient.phone, patient.suspended_until = (
        relationship,
        phone,
        locked.suspended_until,
    )
    return locked


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


def patient_no_show_remove(
    *, patient: Patient, reference: str, limit: int, window_days: int, on: datetime.date
) -> Patient:
    """Take back a no-show recorded by mistake (staff undo a wrong mark).

    Removes the patient's NoShow row with `reference`; when the no-shows left in the
    `window_days` days up to `on` are then below `limit`, a suspension is lifted.
    Idempotent: with no such row nothing changes (a suspension set for another reason
    stays). Locks the patient row, as `patient_record_no_show` does. Updates
    `patient.suspended_until` in place and returns the locked patient.
    """
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        deleted, _ = NoShow.objects.filter(patient=locked, reference=reference).delete()
        if not deleted or locked.suspended_until is None:
            return locked
        count = patient_no_show_count(patient=locked, on=on, window_days=window_days)
        if count < limit:
            locked.suspended_until = None
            locked.save(update_fields=["suspended_until"])
            patient.suspended_until = None
        return locked


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
            if Patient.objects.filter(medical_record_number=number).exists():
                continue
            if Patient.objects.filter(
                account_id=fields["account_id"],
                document_type=fields["document_type"],
                document_number=fields["document_number"],
            ).exists():
                raise PatientAlreadyRegistered() from None
            raise
    raise RuntimeError(
        f"no free medical record number after {MEDICAL_RECORD_NUMBER_ATTEMPTS} attempts"
    )


def _new_medical_record_number() -> str:
    return f"{MEDICAL_RECORD_NUMBER_PREFIX}{secrets.randbelow(10**9):09d}"


def contact_phone_clean(value: str) -> str:
    """A patient's optional contact phone, normalised ("" when left empty). Refuses an
    invalid one (InvalidPhone); forms call it to show the refusal next to the field."""
    return _normalise_phone(value) if value and value.strip() else ""


def _normalise_phone(value: str) -> str:
    """`identity.phone_normalise`, refusing what is no phone number (InvalidPhone)."""
    phone = phone_normalise(value)
    if phone is None:
        raise InvalidPhone()
    return phone


def patient_remove(*, patient: Patient, requested_by: Account) -> Patient:
    """Remove a patient from its account at the account holder's request.

    A soft removal: the row stays (bookings, waitlist entries and no-shows that name it
    keep their history; bookings already made stay valid), but the account's lists and
    choosers no longer show it and it no longer counts towards the limit of 5. Adding
    the same person again brings the row back.

    Refuses another account's patient (NotYourPatient) and the guardian of a current
    child without an ID number (PatientIsGuardian). Removing a removed patient changes
    nothing (a double submit). Locks the account row, as `patient_create` does, so a
    child cannot be added with this guardian while the guardian is being removed.
    """
    if patient.account_id != requested_by.pk:
        raise NotYourPatient()
    with transaction.atomic():
        Account.objects.select_for_update().only("pk").get(pk=requested_by.pk)
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if locked.is_removed:
            return locked
        if Patient.objects.filter(guardian_id=locked.pk, removed_at__isnull=True).exists():
            raise PatientIsGuardian()
        locked.removed_at = timezone.now()
        locked.save(update_fields=["removed_at"])
    patient.removed_at = locked.removed_at
    return locked


# --- sign-in by phone and one-time code ----------------------------------------------

# pg_advisory_xact_lock(class, key): the class keeps these locks apart from any other
# advisory lock in the database; the key is a 32-bit hash of the phone or IP address.
_SIGN_IN_LOCK_CLASS = 0x5959  # "YY"


def sign_in_phone_clean(value: str) -> str:
    """The phone a patient signs in with: a mainland mobile number, normalised as
    everywhere else ("+86 138-0000 0000" -> "13800000000"). Refuses anything else
    (InvalidPhone, with a message that says what is expected); forms call it to show
    the refusal next to the field."""
    try:
        phone = _normalise_phone(value)
    except InvalidPhone:
        raise InvalidMobilePhone() from None
    if not MAINLAND_MOBILE.fullmatch(phone):
        raise InvalidMobilePhone()
    return phone


def sign_in_code_request(
    *,
    phone: str,
    ip: str | None,
    now: datetime.datetime,
    language: str | None = None,
) -> SignInCode:
    """Send a new one-time sign-in code to `phone` by SMS (through the outbox).

    Writes the code row (only an HMAC of the code) and the outbox message in one
    transaction. The SMS goes in the account's language, or for a phone without an
    account in `language` (the choice on the sign-in page, kept on the row for the
    account `sign_in_code_verify` creates).

    Refuses, writing nothing: an invalid or non-mainland-mobile phone (InvalidPhone);
    the 11th code for the phone in one local day (CodeDailyLimit); a code less than a
    minute after the phone's last one (CodeTooSoon, with the seconds left); the 31st
    code from one IP address in an hour (CodeIpLimit).

    The counts are taken from the database while holding transaction-level advisory
    locks on the phone and then on the IP address (PostgreSQL), so parallel requests
    for one phone are judged one after another and only one of them passes. SQLite
    (development) has no such lock.
    """
    phone = sign_in_phone_clean(phone)
    if language not in Account.Language.values:
        language = Account.Language.ZH_HANS
    ip = ip or None
    with transaction.atomic():
        _sign_in_lock(phone, ip)
        local_midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        sent_today = SignInCode.objects.filter(phone=phone, created_at__gte=local_midnight).count()
        if sent_today >= SIGN_IN_CODES_PER_DAY:
            raise CodeDailyLimit(limit=SIGN_IN_CODES_PER_DAY)
        wait = sign_in_code_wait_seconds(phone=phone, now=now)
        if wait:
            raise CodeTooSoon(seconds=wait)
        if ip is not None and (
            SignInCode.objects.filter(
                requested_ip=ip, created_at__gt=now - datetime.timedelta(hours=1)
            ).count()
            >= SIGN_IN_CODES_PER_IP_PER_HOUR
        ):
            raise CodeIpLimit()
        account = Account.objects.filter(phone=phone).only("pk", "language").first()
        if account is not None:
            language = account.language
        code = f"{secrets.randbelow(10**SIGN_IN_CODE_DIGITS):0{SIGN_IN_CODE_DIGITS}d}"
        row = SignInCode.objects.create(
            phone=phone,
            code_hash=_sign_in_code_hash(phone=phone, code=code),
            language=language,
            requested_ip=ip,
            created_at=now,
            expires_at=now + SIGN_IN_CODE_LIFETIME,
        )
        # The text needs the code itself: the outbox row's context is the one place it
        # is kept (notifications renders the SMS from it). No account on the message: a
        # code proves the phone, so it goes by SMS only (never by the account's WeChat)
        # and stays out of the account's inbox.
        message_enqueue(
            kind="sign_in_code",
            dedupe_key=f"sign_in_code:{row.pk}",
            recipient=phone,
            language=language,
            context={"code": code},
            urgent=True,
        )
    return row


def sign_in_code_verify(*, phone: str, code: str, now: datetime.datetime) -> Account:
    """Check a code typed by the patient; return the phone's account, creating it (in
    the language chosen when the code was asked for) on the first sign-in.

    Any of the phone's live codes (unused, unexpired, fewer than 5 wrong tries) is
    accepted, once: using it ends all of the phone's codes. A wrong code counts one
    try against every live code of the phone; the 5th kills them.

    Refuses: an invalid phone (InvalidPhone); no live code, because it expired or was
    used already (CodeExpired); a wrong code (CodeWrong, with the tries left; the try
    is recorded); the 5th wrong code, or any code after it (CodeLocked); an account
    that is inactive or staff (SignInNotAllowed: staff sign in on the staff pages).
    Holds the phone's advisory lock, so parallel tries are counted one by one.
    """
    phone = sign_in_phone_clean(phone)
    code = _WHITESPACE.sub("", unicodedata.normalize("NFKC", code or ""))
    with transaction.atomic():
        _sign_in_lock(phone, None)
        # A wrong try must be recorded: the refusal is raised after the commit.
        refusal, account = _sign_in_code_check(phone=phone, code=code, now=now)
    if refusal is not None:
        raise refusal
    return account


def _sign_in_code_check(
    *, phone: str, code: str, now: datetime.datetime
) -> tuple[Exception | None, Account | None]:
    """Must be called inside the transaction that holds the phone's advisory lock."""
    codes = SignInCode.objects.filter(phone=phone)
    live = list(
        codes.filter(used_at=None, attempts__lt=SIGN_IN_CODE_MAX_ATTEMPTS, expires_at__gt=now).only(
            "pk", "code_hash", "language", "attempts"
        )
    )
    if not live:
        latest = codes.order_by("-created_at", "-pk").only("used_at", "attempts").first()
        if (
            latest is not None
            and latest.used_at is None
            and latest.attempts >= SIGN_IN_CODE_MAX_ATTEMPTS
        ):
            return CodeLocked(), None
        return CodeExpired(), None

    typed = _sign_in_code_hash(phone=phone, code=code)
    match = next((c for c in live if constant_time_compare(c.code_hash, typed)), None)
    if match is None:
        ids = [c.pk for c in live]
        codes.filter(pk__in=ids, attempts__lt=SIGN_IN_CODE_MAX_ATTEMPTS).update(
            attempts=F("attempts") + 1
        )
        left = SIGN_IN_CODE_MAX_ATTEMPTS - 1 - min(c.attempts for c in live)
        if left <= 0:
            return CodeLocked(), None
        return CodeWrong(left=left), None

    # Single use: only the first of two racing uses changes the row.
    if not codes.filter(pk=match.pk, used_at=None).update(used_at=now):
        return CodeExpired(), None
    codes.filter(used_at=None).update(used_at=now)

    account = Account.objects.filter(phone=phone).first()
    if account is None:
        account = account_create(phone=phone, language=match.language)
    if not account.is_active or account.is_staff or account.is_superuser:
        return SignInNotAllowed(), None
    return None, account


def _sign_in_code_hash(*, phone: str, code: str) -> str:
    """HMAC-SHA256 of the code under SECRET_KEY, bound to the phone. A fast hash on
    purpose: six digits are guarded by the 5-try lock and the 5-minute life, not by
    the hash's cost."""
    return salted_hmac("patients.SignInCode", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _sign_in_lock(phone: str, ip: str | None) -> None:
    """Take the sign-in advisory locks (phone first, then IP: always in that order),
    held until the transaction ends. Must be called inside `transaction.atomic()`."""
    if connection.vendor != "postgresql":
        return
    keys = [f"phone:{phone}"] + ([f"ip:{ip}"] if ip else [])
    with connection.cursor() as cursor:
        for key in keys:
            digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [_SIGN_IN_LOCK_CLASS, int.from_bytes(digest, "big", signed=True)],
            )


# Codes older than this can no longer count towards any limit (a day per phone, an hour
# per address) nor be used: the nightly purge deletes them.
SIGN_IN_CODE_KEEP = datetime.timedelta(days=2)


def sign_in_codes_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete sign-in code rows no rule needs any more (beat, nightly). Returns how many."""
    now = now or timezone.now()
    deleted, _ = SignInCode.objects.filter(created_at__lt=now - SIGN_IN_CODE_KEEP).delete()
    return deleted


# --- API tokens ------------------------------------------------------------------------

# A patient's phone keeps signing them in for a month; a staff token lasts one working
# day (the staff session's idea of a shift), and then a fresh password and code.
API_TOKEN_LIFETIME_PATIENT = datetime.timedelta(days=30)
API_TOKEN_LIFETIME_STAFF = datetime.timedelta(hours=12)


def api_token_issue(
    *, account: Account, second_factor: bool, now: datetime.datetime
) -> tuple[ApiToken, str]:
    """A new bearer token for `account`: the row, and the token itself, which is shown
    this once (only its SHA-256 is stored).

    The caller has proved who it is: a phone code (`sign_in_code_verify`) for a
    patient, a password and a second factor for staff. `second_factor` is kept for staff
    only (a staff token then counts as verified); a patient's token never has it.
    Lives API_TOKEN_LIFETIME_STAFF for staff, API_TOKEN_LIFETIME_PATIENT otherwise.
    Refuses an inactive account (SignInNotAllowed), writing nothing.
    """
    if not account.is_active:
        raise SignInNotAllowed()
    is_staff = account.is_staff or account.is_superuser
    lifetime = API_TOKEN_LIFETIME_STAFF if is_staff else API_TOKEN_LIFETIME_PATIENT
    raw = secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        account=account,
        key_hash=token_hash(raw),
        second_factor=bool(second_factor and is_staff),
        created_at=now,
        expires_at=now + lifetime,
    )
    return row, raw


def api_token_revoke(*, token: ApiToken, now: datetime.datetime) -> ApiToken:
    """End a token now (signing out of the API). A token already revoked keeps its
    first revocation time; one UPDATE, so two racing revocations agree."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token
