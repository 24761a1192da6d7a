import datetime

import pytest

from patients.exceptions import NotYourPatient
from patients.selectors import (
    patient_get_for_account,
    patient_list_for_account,
    patient_no_show_count,
    patient_standing,
)
from tests.factories import AccountFactory, PatientFactory
from tests.patients.factories import NoShowFactory

DAY = datetime.date(2025, 3, 10)


def test_patient_list_for_account_holds_only_its_own_patients(account):
    own = PatientFactory.create_batch(2, account=account)
    PatientFactory(account=AccountFactory())

    assert list(patient_list_for_account(account=account)) == own


def test_patient_get_for_account_returns_its_own_patient(patient):
    assert patient_get_for_account(account=patient.account, patient_id=patient.pk) == patient


@pytest.mark.parametrize("patient_id", ["other-account", "missing", "not-a-number", None])
def test_patient_get_for_account_says_the_same_for_foreign_and_missing(account, patient_id):
    others = PatientFactory(account=AccountFactory())
    patient_id = {"other-account": others.pk, "missing": others.pk + 1000}.get(
        patient_id, patient_id
    )

    with pytest.raises(NotYourPatient) as refused:
        patient_get_for_account(account=account, patient_id=patient_id)

    assert refused.value.code == "not_your_patient"
    assert refused.value.http_status == 404
    assert refused.value.detail == "This patient does not belong to your account."


def test_patient_no_show_count_counts_the_window_ending_on_the_day(patient):
    for days_before in (-1, 0, 1, 364, 365, 400):
        NoShowFactory(patient=patient, visit_date=DAY - datetime.timedelta(days=days_before))
    NoShowFactory(visit_date=DAY)  # another patient's

    assert patient_no_show_count(patient=patient, on=DAY, window_days=365) == 3
    assert patient_no_show_count(patient=patient, on=DAY, window_days=1) == 1


def test_patient_standing_on_a_day(patient):
    patient.suspended_until = DAY
    NoShowFactory.create_batch(3, patient=patient, visit_date=DAY)

    on_the_last_day = patient_standing(patient=patient, on=DAY, window_days=365)
    the_day_after = patient_standing(
        patient=patient, on=DAY + datetime.timedelta(days=1), window_days=365
    )

    assert on_the_last_day.no_show_count == 3
    assert on_the_last_day.suspended_until == DAY
    assert on_the_last_day.is_suspended is True
    assert the_day_after.is_suspended is False
