"""Factories only the patients tests need (the shared ones live in tests/factories.py)."""

import datetime

import factory
from stdnum.cn import ric

from patients.models import NoShow
from tests.factories import PatientFactory


def with_check_digit(body: str) -> str:
    """The 17 given characters plus their GB 11643 check digit, even if the body is nonsense."""
    return body + ric.calc_check_digit(body + "0")


class NoShowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NoShow

    patient = factory.SubFactory(PatientFactory)
    visit_date = datetime.date(2025, 3, 1)
    reference = factory.Sequence(lambda n: f"booking-{n}")
