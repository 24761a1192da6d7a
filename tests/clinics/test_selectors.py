import datetime

import pytest

from clinics import selectors
from clinics.models import HalfDay, Quota, Session
from tests.factories import (
    SHANGHAI,
    DepartmentFactory,
    DoctorFactory,
    SessionFactory,
    slot_with_quotas,
)

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 11, 23)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def _book(slot, channel: str, booked: int) -> None:
    Quota.objects.filter(slot=slot, channel=channel).update(booked=booked)


def test_places_left_sums_capacity_minus_booked_over_the_sessions_slots():
    # given a session of two slots with some places booked
    session = SessionFactory(date=START)
    first = slot_with_quotas(session=session, online=3, phone=1, walkin=2)
    second = slot_with_quotas(
        session=session,
        starts_at=session.starts_at + datetime.timedelta(minutes=30),
        online=3,
        phone=1,
        walkin=2,
        reserved=1,
    )
    _book(first, "online", 2)
    _book(second, "online", 3)
    _book(first, "walkin", 1)
    _book(second, "reserved", 1)

    # when
    [listed] = selectors.session_list_upcoming(start=START, days=7)

    # then
    assert listed.pk == session.pk
    assert listed.places_left == {"online": 1, "phone": 2, "walkin": 3, "reserved": 0}
    assert listed.places_total == 13


def test_places_left_counts_only_the_sessions_own_slots():
    # given two sessions on the same day with different bookings
    busy = SessionFactory(date=START)
    quiet = SessionFactory(date=START, half_day=HalfDay.AFTERNOON, starts_at=_at(START, 13, 30))
    _book(slot_with_quotas(session=busy, online=4, walkin=2), "online", 4)
    slot_with_quotas(session=quiet, online=5, walkin=1)

    # when
    listed = {s.pk: s for s in selectors.session_list_upcoming(start=START, days=1)}

    # then
    assert listed[busy.pk].places_left == {"online": 0, "phone": 0, "walkin": 2, "reserved": 0}
    assert listed[busy.pk].places_total == 6
    assert listed[quiet.pk].places_left == {"online": 5, "phone": 0, "walkin": 1, "reserved": 0}
    assert listed[quiet.pk].places_total == 6


def test_a_session_without_quotas_has_no_places():
    session = SessionFactory(date=START)

    [listed] = selectors.session_list_upcoming(start=START, days=1)

    assert listed.pk == session.pk
    assert listed.places_left == {"online": 0, "phone": 0, "walkin": 0, "reserved": 0}
    assert listed.places_total == 0


def test_stopped_sessions_are_listed_and_marked():
    # given an open and a stopped session
    open_session = SessionFactory(date=START)
    stopped = SessionFactory(
        date=START,
        starts_at=_at(START, 9),
        status=Session.Status.STOPPED,
        stop_reason="医生出差",
    )
    slot_with_quotas(session=stopped, online=2)

    # when
    listed = selectors.session_list_upcoming(start=START, days=1)

    # then both are there, in time order, the stopped one marked
    assert [(s.pk, s.is_stopped) for s in listed] == [(open_session.pk, False), (stopped.pk, True)]
    assert listed[1].places_left["online"] == 2


def test_range_is_start_inclusive_and_end_exclusive():
    # given sessions the day before, on the first and last day, and the day after the range
    before = SessionFactory(date=START - datetime.timedelta(days=1))
    first_day = SessionFactory(date=START)
    last_day = SessionFactory(date=START + datetime.timedelta(days=6))
    after = SessionFactory(date=START + datetime.timedelta(days=7))

    # when
    listed = [s.pk for s in selectors.session_list_upcoming(start=START, days=7)]

    # then
    assert listed == [first_day.pk, last_day.pk]
    assert before.pk not in listed
    assert after.pk not in listed


def test_sessions_come_in_time_order():
    # given sessions created out of order
    evening = SessionFactory(date=START, half_day=HalfDay.EVENING, starts_at=_at(START, 18))
    next_morning = SessionFactory(date=START + datetime.timedelta(days=1))
    morning = SessionFactory(date=START, starts_at=_at(START, 8))
    afternoon = SessionFactory(date=START, half_day=HalfDay.AFTERNOON, starts_at=_at(START, 13))

    listed = [s.pk for s in selectors.session_list_upcoming(start=START, days=2)]

    assert listed == [morning.pk, afternoon.pk, evening.pk, next_morning.pk]


def test_department_filter_includes_the_sub_clinics():
    # given ophthalmology, its cataract clinic and an unrelated department
    ophthalmology = DepartmentFactory(code="ophthalmology")
    cataract = DepartmentFactory(code="cataract", parent=ophthalmology)
    other = DepartmentFactory(code="ent")
    general = SessionFactory(date=START, doctor=DoctorFactory(department=ophthalmology))
    sub_clinic = SessionFactory(
        date=START, starts_at=_at(START, 9), doctor=DoctorFactory(department=cataract)
    )
    SessionFactory(date=START, doctor=DoctorFactory(department=other))

    # when
    by_parent = selectors.session_list_upcoming(start=START, days=1, department=ophthalmology)
    by_sub_clinic = selectors.session_list_upcoming(start=START, days=1, department=cataract)

    # then
    assert [s.pk for s in by_parent] == [general.pk, sub_clinic.pk]
    assert [s.pk for s in by_sub_clinic] == [sub_clinic.pk]


@pytest.mark.parametrize("count", [1, 10])
def test_session_list_upcoming_runs_two_queries_whatever_the_number_of_sessions(
    count, django_assert_num_queries
):
    # given `count` sessions of two slots each
    for index in range(count):
        session = SessionFactory(date=START + datetime.timedelta(days=index % 7))
        slot_with_quotas(session=session, online=3, phone=1, walkin=2)
        slot_with_quotas(
            session=session,
            starts_at=session.starts_at + datetime.timedelta(minutes=30),
            online=3,
            walkin=2,
        )

    # when / then: the sessions (doctor, department, room joined) and one grouped aggregate
    with django_assert_num_queries(2):
        listed = selectors.session_list_upcoming(start=START, days=7)
        rendered = [
            (s.doctor.name, s.department.name, s.room.code, s.places_left["online"]) for s in listed
        ]

    assert len(rendered) == count
    assert {places for *_, places in rendered} == {6}


def test_an_empty_range_runs_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert selectors.session_list_upcoming(start=START, days=7) == []


def test_doctor_list_shows_active_doctors_of_active_departments():
    # given
    ophthalmology = DepartmentFactory(code="ophthalmology", sort_order=1)
    glaucoma = DepartmentFactory(code="glaucoma", parent=ophthalmology, sort_order=2)
    closed = DepartmentFactory(code="closed", is_active=False)
    wang = DoctorFactory(department=ophthalmology, name="王建国")
    li = DoctorFactory(department=glaucoma, name="李明")
    DoctorFactory(department=ophthalmology, name="退休医生", is_active=False)
    DoctorFactory(department=closed, name="关闭科室医生")

    # when / then
    assert list(selectors.doctor_list()) == [wang, li]
    assert list(selectors.doctor_list(department=ophthalmology)) == [wang, li]
    assert list(selectors.doctor_list(department=glaucoma)) == [li]


def test_department_list_has_active_departments_with_their_sub_clinics(
    django_assert_num_queries,
):
    # given
    ophthalmology = DepartmentFactory(code="ophthalmology", sort_order=1)
    retina = DepartmentFactory(code="retina", parent=ophthalmology, sort_order=3)
    cataract = DepartmentFactory(code="cataract", parent=ophthalmology, sort_order=2)
    DepartmentFactory(code="closed", parent=ophthalmology, sort_order=4, is_active=False)

    # when: departments, their parents and sub-clinics in two queries
    with django_assert_num_queries(2):
        departments = list(selectors.department_list())
        tree = [
            (d.code, d.parent.code if d.parent else None, [c.code for c in d.sub_clinics.all()])
            for d in departments
        ]

    # then
    assert tree == [
        ("ophthalmology", None, ["cataract", "retina"]),
        ("cataract", "ophthalmology", []),
        ("retina", "ophthalmology", []),
    ]
    assert departments[0] == ophthalmology
    assert {retina, cataract} <= set(departments)
