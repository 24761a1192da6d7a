import datetime
import secrets

import pytest
import time_machine
from django.test import Client

from booking import services as booking_services
from booking.services.stops import session_stop
from clinics.models import Channel, Quota
from patients.authentication import token_hash
from patients.models import ApiToken
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI

TODAY = NOW.date()


def day(offset: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=offset)


def at(on: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(on, datetime.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    """Monday 23 November 2026, 09:00 in Beijing: after the 07:00 release."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def session_with_slots(doctor, on: datetime.date, *, hour: int = 8, half_day="morning", **slots):
    """A session of `doctor` on `on` with one half-hour slot per keyword, in order:
    `first={"online": 2}` makes a slot with 2 online places."""
    session = factories.SessionFactory(
        doctor=doctor,
        date=on,
        half_day=half_day,
        starts_at=at(on, hour),
        ends_at=at(on, hour + 2),
    )
    made = {}
    for band, (name, quotas) in enumerate(slots.items()):
        made[name] = factories.slot_with_quotas(
            session=session,
            starts_at=at(on, hour) + datetime.timedelta(minutes=30 * band),
            **quotas,
        )
    return session, made


@pytest.fixture
def clinic(db):
    """Glaucoma (with a phone and a location) and its sub-clinic; three doctors.

    Li (glaucoma): today's session has started; tomorrow's has a free slot (2 online
    places), a full one, and a phone-only one; a session 8 days ahead (not yet
    released) and 9 days ahead (outside the window).
    Wang (the sub-clinic): a stopped session the day after tomorrow.
    """
    glaucoma = factories.DepartmentFactory(
        code="glaucoma",
        name="青光眼专科",
        name_en="Glaucoma clinic",
        location="门诊楼 3 层",
        location_en="Outpatient building, 3rd floor",
        phone="010-1111-2222",
    )
    paediatric = factories.DepartmentFactory(
        code="glaucoma-kids", name="儿童青光眼", name_en="Children's glaucoma", parent=glaucoma
    )
    li = factories.DoctorFactory(department=glaucoma, name="李秀英", name_en="Li Xiuying")
    wang = factories.DoctorFactory(department=paediatric, name="王建国", name_en="Wang Jianguo")
    session_with_slots(li, TODAY, hour=8, early={"online": 2})
    tomorrow, slots = session_with_slots(
        li, day(1), free={"online": 2, "phone": 1}, full={"online": 1}, phone_only={"phone": 2}
    )
    Quota.objects.filter(slot=slots["full"], channel=Channel.ONLINE).update(booked=1)
    _session, later = session_with_slots(li, day(8), first={"online": 2})
    session_with_slots(li, day(9), first={"online": 2})
    stopped, wang_slots = session_with_slots(wang, day(2), first={"online": 3})
    session_stop(session=stopped, reason="Doctor ill", stopped_by=factories.StaffFactory())
    return {
        "glaucoma": glaucoma,
        "paediatric": paediatric,
        "li": li,
        "wang": wang,
        "tomorrow": tomorrow,
        "free": slots["free"],
        "full": slots["full"],
        "unreleased": later["first"],
        "stopped": wang_slots["first"],
    }


def token_client(user, *, second_factor: bool = False) -> Client:
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        account=user,
        key_hash=token_hash(raw),
        second_factor=second_factor,
        created_at=NOW - datetime.timedelta(minutes=1),
        expires_at=NOW + datetime.timedelta(hours=8),
    )
    return Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})


def book_online(patient, slot):
    return booking_services.booking_create(
        patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
    )
