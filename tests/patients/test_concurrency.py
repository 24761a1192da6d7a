"""Per-account rules under real concurrency (PostgreSQL row locks)."""

import contextlib
import datetime
import threading

import pytest
from django.db import connection

from patients import services
from patients.models import NoShow, Patient
from patients.services import patient_create, patient_record_no_show
from tests.factories import AccountFactory, PatientFactory, resident_id

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(*targets):
    """Run each target in its own thread and database connection; return results or errors."""
    outcomes = [None] * len(targets)

    def run(index, target):
        try:
            outcomes[index] = target()
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_concurrent_registrations_cannot_make_a_sixth_patient(monkeypatch):
    account = AccountFactory()
    PatientFactory.create_batch(4, account=account)
    # Both registrations pause after counting, before inserting. Without the account
    # lock both count 4 and both insert; with it the second waits at the lock, the
    # barrier times out for the first, and the second then counts 5.
    after_count = threading.Barrier(2, timeout=2)
    draw = services._new_medical_record_number

    def pause_then_draw():
        with contextlib.suppress(threading.BrokenBarrierError):
            after_count.wait()
        return draw()

    monkeypatch.setattr(services, "_new_medical_record_number", pause_then_draw)

    def register(sequence):
        number = resident_id(birth_date=datetime.date(1970, 1, 1), sequence=sequence)
        return lambda: patient_create(
            account=account,
            real_name="家属",
            document_type=Patient.DocumentType.RESIDENT_ID,
            document_number=number,
        )

    outcomes = run_in_threads(register(101), register(102))

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Patient", "TooManyPatients"]
    assert Patient.objects.filter(account=account).count() == 5


def test_concurrent_no_shows_of_one_patient_suspend_exactly_once():
    patient = PatientFactory()
    visit = datetime.date(2025, 3, 10)
    NoShow.objects.create(patient=patient, visit_date=visit, reference="earlier")

    def no_show(reference):
        return lambda: patient_record_no_show(
            patient=patient,
            visit_date=visit,
            reference=reference,
            limit=3,
            window_days=365,
            suspension_days=90,
        )

    outcomes = run_in_threads(no_show("a"), no_show("b"), no_show("a"))

    assert sorted(map(repr, outcomes)) == ["False", "False", "True"]
    patient.refresh_from_db()
    assert patient.suspended_until == visit + datetime.timedelta(days=90)
    assert NoShow.objects.filter(patient=patient).count() == 3
