"""Reads of accounts, patients and their no-show standing."""

import datetime
import math
import re
import unicodedata
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from patients.exceptions import NotYourPatient
from patients.identity import phone_normalise
from patients.models import Account, NoShow, Patient, SignInCode

# Sign-in codes (patients.services.sign_in_code_request / sign_in_code_verify). Not
# settings: they are the anti-abuse rules, the same for every hospital.
SIGN_IN_CODE_DIGITS = 6
SIGN_IN_CODE_LIFETIME = datetime.timedelta(minutes=5)
SIGN_IN_CODE_INTERVAL = datetime.timedelta(minutes=1)  # per phone
SIGN_IN_CODES_PER_DAY = 10  # per phone and local calendar day
SIGN_IN_CODES_PER_IP_PER_HOUR = 30
SIGN_IN_CODE_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class PatientStanding:
    """What a patient may book on a day, and why (shown on the patient's page)."""

    no_show_count: int
    suspended_until: datetime.date | None
    is_suspended: bool  # online and phone booking; walk-in is always open


def patient_list_for_account(*, account: Account) -> QuerySet[Patient]:
    """The account's own current patients (not removed), oldest registration first: the
    "my patients" page and the booking pages' "who is this booking for"."""
    return (
        Patient.objects.filter(account=account, removed_at__isnull=True)
        .select_related("guardian")
        .order_by("created_at", "pk")
    )


def patient_get_for_account(
    *, account: Account, patient_id: object, include_removed: bool = False
) -> Patient:
    """One of the account's current patients.

    Raises NotYourPatient whether the patient does not exist, was removed or belongs to
    another account, so a guessed id tells nothing about other accounts. With
    `include_removed`, a removed patient is found too (removing twice is removing once).
    """
    try:
        patients = Patient.objects.filter(account=account)
        if not include_removed:
            patients = patients.filter(removed_at__isnull=True)
        return patients.get(pk=patient_id)
    except (Patient.DoesNotExist, ValueError, TypeError):
        # ValueError / TypeError: an id that is not a number is simply not found.
        raise NotYourPatient() from None


def patient_no_show_count(*, patient: Patient, on: datetime.date, window_days: int) -> int:
    """No-shows with a visit date in the `window_days` days ending on `on` (inclusive)."""
    return NoShow.objects.filter(
        patient=patient,
        visit_date__gt=on - datetime.timedelta(days=window_days),
        visit_date__lte=on,
    ).count()


def patient_standing(*, patient: Patient, on: datetime.date, window_days: int) -> PatientStanding:
    """The patient's no-show count and suspension as seen on `on`."""
    return PatientStanding(
        no_show_count=patient_no_show_count(patient=patient, on=on, window_days=window_days),
        suspended_until=patient.suspended_until,
        is_suspended=patient.is_suspended_on(on),
    )


@dataclass(frozen=True)
class Family:
    """The "my patients" page: the account's current patients and whether one more fits."""

    patients: list[Patient]
    limit: int

    @property
    def can_add(self) -> bool:
        return len(self.patients) < self.limit


def patient_family_for_account(*, account: Account, limit: int) -> Family:
    """The account's current patients (one query) and the room left under `limit`."""
    return Family(patients=list(patient_list_for_account(account=account)), limit=limit)


def sign_in_code_wait_seconds(*, phone: str, now: datetime.datetime) -> int:
    """Whole seconds until `phone` may be sent another code (0: now).

    `phone` must already be normalised (patients.services.sign_in_phone_clean).
    """
    last = (
        SignInCode.objects.filter(phone=phone)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return 0
    return max(0, math.ceil((last + SIGN_IN_CODE_INTERVAL - now).total_seconds()))


# --- the front desk's patient search -------------------------------------------------

# An ID document's last 4 characters: what a patient reads out at the window.
_DOCUMENT_TAIL = re.compile(r"[0-9X]{4}")


def patient_search(*, query: str, limit: int = 20) -> list[Patient]:
    """The desk's search: a phone (the patient's or its account's, exact after
    normalising), a medical record number (exact), a name (contains) or the last 4
    characters of the ID document. Removed patients are left out. One query (none for an
    empty query), the account joined; ordered by name."""
    text = unicodedata.normalize("NFKC", query or "").strip()
    if not text:
        return []
    upper = text.upper()
    which = Q(real_name__icontains=text) | Q(medical_record_number=upper)
    phone = phone_normalise(text)  # stored form, as patients.services stores phones
    if phone is not None:
        which |= Q(phone=phone) | Q(account__phone=phone)
    if _DOCUMENT_TAIL.fullmatch(upper):
        which |= Q(document_number__endswith=upper) & ~Q(document_type=Patient.DocumentType.NONE)
    return list(
        Patient.objects.filter(which, removed_at__isnull=True)
        .select_related("account")
        .order_by("real_name", "pk")[:limit]
    )


def patient_get_for_desk(*, patient_id: object) -> Patient | None:
    """A current (not removed) patient of any account, for the desk's pages, with the
    account joined; None for an unknown, removed or malformed id. One query."""
    try:
        return (
            Patient.objects.select_related("account")
            .filter(removed_at__isnull=True)
            .get(pk=int(patient_id))
        )
    except (Patient.DoesNotExist, ValueError, TypeError):
        return None
