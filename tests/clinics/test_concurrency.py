"""Generation run by several workers at once (a retried beat task, a manual command)."""

import datetime

import pytest

from clinics.models import Quota, Session, Slot
from clinics.services import GenerationResult, sessions_generate
from tests.clinics.helpers import MONDAY
from tests.concurrency import run_together
from tests.factories import DoctorFactory, ScheduleTemplateFactory

THREADS = 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_generation_creates_each_session_once(round_):
    # given: 6 doctors, each with a Monday and a Wednesday template
    for _ in range(6):
        doctor = DoctorFactory()
        ScheduleTemplateFactory(doctor=doctor, weekday=0)
        ScheduleTemplateFactory(doctor=doctor, weekday=2, half_day="afternoon")
    # when: four workers generate the same window at the same moment
    outcomes = run_together([lambda: sessions_generate(start=MONDAY, days=8)] * THREADS)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    results = [o for o in outcomes if isinstance(o, GenerationResult)]

    # then: nobody failed, and exactly one set of sessions exists
    assert errors == []
    assert len(results) == THREADS
    # Mon 23 and Mon 30 for 6 doctors, Wed 25 for 6 doctors.
    assert sum(result.sessions_created for result in results) == 18
    assert sum(result.skipped_existing for result in results) == 18 * (THREADS - 1)
    assert sum(result.places_created for result in results) == 18 * 5 * 3
    assert Session.objects.count() == 18
    assert Slot.objects.count() == 18 * 5
    assert Quota.objects.count() == 18 * 5 * 4
    for session in Session.objects.prefetch_related("slots__quotas"):
        assert session.slots.count() == 5
        for slot in session.slots.all():
            assert sorted(quota.channel for quota in slot.quotas.all()) == [
                "online",
                "phone",
                "reserved",
                "walkin",
            ]
    assert datetime.date(2026, 11, 30) in set(Session.objects.values_list("date", flat=True))
