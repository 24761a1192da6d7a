"""Reads of accounts, patients and their no-show standing."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet

from patients.exceptions import NotYourPatient
from patients.models import Account, NoShow, Patient


@dataclass(frozen=True)
class PatientStanding:
    """What a patient may book on a day, and why (shown on the patient's page)."""

    no_show_count: int
    suspended_until: datetime.date | None
    is_suspended: bool  # online and phone booking; walk-in is always open


def patient_list_for_account(*, account: Account) -> QuerySet[Patient]:
    """The account's own patients, oldest registration first."""
    return Patient.objects.filter(account=account).order_by("created_at", "pk")


def patient_get_for_account(*, account: Account, patient_id: object) -> Patient:
    """One of the account's patients.

    Raises NotYourPatient whether the patient does not exist or belongs to another
    account, so a guessed id tells nothing about other accounts.
    """
    try:
        return Patient.objects.get(pk=patient_id, account=account)
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
