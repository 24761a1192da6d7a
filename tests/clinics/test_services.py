import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinics import services
from clinics.exceptions import InvalidScheduleTemplate, SessionExists
from clinics.models import ClinicLevel, HalfDay, Quota, Session, Slot
from clinics.services import (
    GenerationResult,
    session_add,
    session_create_from_template,
    sessions_generate,
)
from tests.clinics.helpers import MONDAY, SHANGHAI, SUNDAY, WEDNESDAY, inventory, quotas_of
from tests.factories import (
    DepartmentFactory,
    DoctorFactory,
    RoomFactory,
    ScheduleTemplateFactory,
    SessionFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

UTC = datetime.UTC
# The factory's template: 5 slots of 30 minutes, 3 places each, split 60/10/30/0.
DEFAULT_QUOTAS = {"online": (2, 0), "phone": (0, 0), "walkin": (1, 0), "reserved": (0, 0)}


def local(session_or_slot) -> tuple[datetime.datetime, datetime.datetime]:
    return (
        session_or_slot.starts_at.astimezone(SHANGHAI),
        session_or_slot.ends_at.astimezone(SHANGHAI),
    )


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


# --- sessions_generate ---------------------------------------------------------------


def test_generate_makes_the_sessions_of_the_template_weekdays_in_the_window():
    # given: Monday, Wednesday and Sunday templates; the window is Mon 23 .. Mon 30 November
    monday = ScheduleTemplateFactory(weekday=0)
    wednesday = ScheduleTemplateFactory(weekday=WEDNESDAY, half_day=HalfDay.AFTERNOON)
    sunday = ScheduleTemplateFactory(weekday=SUNDAY)

    # when
    result = sessions_generate()

    # then: Monday twice (today and a week ahead), the others once
    assert result == GenerationResult(
        sessions_created=4, slots_created=20, places_created=60, skipped_existing=0
    )
    made = sorted(Session.objects.values_list("template_id", "date", "half_day"))
    assert made == sorted(
        [
            (monday.pk, datetime.date(2026, 11, 23), HalfDay.MORNING),
            (monday.pk, datetime.date(2026, 11, 30), HalfDay.MORNING),
            (wednesday.pk, datetime.date(2026, 11, 25), HalfDay.AFTERNOON),
            (sunday.pk, datetime.date(2026, 11, 29), HalfDay.MORNING),
        ]
    )


def test_generated_session_copies_the_template_and_the_doctor_fee():
    doctor = DoctorFactory(level=ClinicLevel.EXPERT, fee=Decimal("50.00"))
    template = ScheduleTemplateFactory(doctor=doctor, level=ClinicLevel.SPECIAL)

    sessions_generate(days=1)

    session = Session.objects.get()
    assert session.template == template
    assert session.doctor == doctor
    assert session.department == template.department
    assert session.room == template.room
    assert session.date == MONDAY
    assert session.half_day == HalfDay.MORNING
    assert session.level == ClinicLevel.SPECIAL
    assert session.fee == Decimal("50.00")
    assert session.status == Session.Status.OPEN
    assert session.last_queue_number == 0


def test_generated_slots_start_on_the_local_clock_and_are_stored_in_utc():
    ScheduleTemplateFactory(start_time=datetime.time(8, 0), slot_minutes=30, slot_count=5)

    sessions_generate(days=1)

    session = Session.objects.get()
    assert local(session) == (at(MONDAY, 8), at(MONDAY, 10, 30))
    # 08:00 in Shanghai is midnight UTC, and the database holds UTC.
    assert Session.objects.values_list("starts_at", flat=True).get() == datetime.datetime(
        2026, 11, 23, 0, 0, tzinfo=UTC
    )
    slots = [local(slot) for slot in session.slots.order_by("starts_at")]
    assert slots == [
        (at(MONDAY, 8, 0), at(MONDAY, 8, 30)),
        (at(MONDAY, 8, 30), at(MONDAY, 9, 0)),
        (at(MONDAY, 9, 0), at(MONDAY, 9, 30)),
        (at(MONDAY, 9, 30), at(MONDAY, 10, 0)),
        (at(MONDAY, 10, 0), at(MONDAY, 10, 30)),
    ]


def test_generated_afternoon_slots_of_20_minutes():
    ScheduleTemplateFactory(
        weekday=WEDNESDAY,
        half_day=HalfDay.AFTERNOON,
        start_time=datetime.time(13, 30),
        slot_minutes=20,
        slot_count=3,
    )

    sessions_generate()

    wednesday = datetime.date(2026, 11, 25)
    slots = [local(slot) for slot in Slot.objects.order_by("starts_at")]
    assert slots == [
        (at(wednesday, 13, 30), at(wednesday, 13, 50)),
        (at(wednesday, 13, 50), at(wednesday, 14, 10)),
        (at(wednesday, 14, 10), at(wednesday, 14, 30)),
    ]


def test_every_slot_gets_one_quota_per_channel_split_by_the_template():
    ScheduleTemplateFactory(places_per_slot=3)  # 60/10/30/0 of 3 places -> 2/0/1/0

    sessions_generate(days=1)

    slots = Slot.objects.prefetch_related("quotas")
    assert len(slots) == 5
    for slot in slots:
        assert quotas_of(slot) == DEFAULT_QUOTAS


def test_a_channel_at_0_percent_still_gets_a_quota_row_of_0():
    ScheduleTemplateFactory(
        places_per_slot=10,
        online_percent=50,
        phone_percent=0,
        walkin_percent=50,
        reserved_percent=0,
        slot_count=1,
    )

    sessions_generate(days=1)

    assert quotas_of(Slot.objects.get()) == {
        "online": (5, 0),
        "phone": (0, 0),
        "walkin": (5, 0),
        "reserved": (0, 0),
    }


def test_generate_twice_creates_nothing_the_second_time():
    ScheduleTemplateFactory(weekday=0)
    ScheduleTemplateFactory(weekday=WEDNESDAY)
    first = sessions_generate()
    before = inventory()

    second = sessions_generate()

    assert first.sessions_created == 3
    assert second == GenerationResult(skipped_existing=3)
    assert inventory() == before == (3, 15, 60)


def test_a_later_day_adds_only_the_new_days_session(clock):
    ScheduleTemplateFactory(weekday=1)  # Tuesday: 24 November is in the first window
    sessions_generate()

    clock.move_to(datetime.datetime(2026, 11, 24, 1, 0, tzinfo=SHANGHAI))
    result = sessions_generate()

    # 24 Nov exists; 1 December (a Tuesday) is the window's new last day.
    assert (result.sessions_created, result.skipped_existing) == (1, 1)
    assert sorted(Session.objects.values_list("date", flat=True)) == [
        datetime.date(2026, 11, 24),
        datetime.date(2026, 12, 1),
    ]


def test_generate_honours_start_and_days():
    ScheduleTemplateFactory(weekday=0)
    ScheduleTemplateFactory(weekday=1)

    result = sessions_generate(start=datetime.date(2026, 11, 24), days=1)

    assert result.sessions_created == 1
    assert Session.objects.get().date == datetime.date(2026, 11, 24)


def test_generate_refuses_fewer_than_one_day():
    with pytest.raises(ValueError, match="at least 1"):
        sessions_generate(days=0)


def test_generate_goes_as_far_as_each_departments_horizon():
    # given Monday templates in two departments; the caller (booking) knows their windows
    near = ScheduleTemplateFactory(weekday=0)
    far = ScheduleTemplateFactory(weekday=0)
    asked = []

    def horizon_days(department) -> int:
        asked.append(department.pk)
        return 14 if department.pk == far.department_id else 6

    # when
    sessions_generate(horizon_days=horizon_days)

    # then Mon 23 for the 6-day one; Mon 23, 30 and 7 December (14 days ahead) for the other
    made = sorted(Session.objects.values_list("template_id", "date"))
    assert made == [
        (near.pk, MONDAY),
        (far.pk, MONDAY),
        (far.pk, datetime.date(2026, 11, 30)),
        (far.pk, datetime.date(2026, 12, 7)),
    ]
    assert sorted(asked) == sorted([near.department_id, far.department_id])  # once each


def test_without_a_horizon_generation_goes_the_default_window_ahead():
    ScheduleTemplateFactory(weekday=0)

    sessions_generate()

    newest = MONDAY + datetime.timedelta(days=services.DEFAULT_HORIZON_DAYS)
    assert sorted(Session.objects.values_list("date", flat=True)) == [MONDAY, newest]


def test_days_overrides_the_horizon():
    ScheduleTemplateFactory(weekday=0)

    sessions_generate(days=1, horizon_days=lambda department: 14)

    assert list(Session.objects.values_list("date", flat=True)) == [MONDAY]


def test_generate_refuses_a_negative_horizon():
    ScheduleTemplateFactory()

    with pytest.raises(ValueError, match="negative"):
        sessions_generate(horizon_days=lambda department: -1)
    assert inventory() == (0, 0, 0)


def test_inactive_templates_and_inactive_doctors_are_skipped():
    ScheduleTemplateFactory(is_active=False)
    ScheduleTemplateFactory(doctor=DoctorFactory(is_active=False))
    kept = ScheduleTemplateFactory()

    result = sessions_generate(days=1)

    assert result.sessions_created == 1
    assert Session.objects.get().template == kept


def test_an_existing_session_in_the_half_day_is_kept_as_it_is():
    # given: the doctor's Monday morning was added by hand and then stopped
    template = ScheduleTemplateFactory()
    existing = SessionFactory(
        doctor=template.doctor, date=MONDAY, half_day=HalfDay.MORNING, status="stopped"
    )

    result = sessions_generate(days=1)

    assert result == GenerationResult(skipped_existing=1)
    assert list(Session.objects.all()) == [existing]
    existing.refresh_from_db()
    assert existing.status == Session.Status.STOPPED


def test_an_unusable_template_stops_the_run_before_anything_is_written():
    # given: a good template, and one whose last slot would end after midnight
    ScheduleTemplateFactory()
    bad = ScheduleTemplateFactory(
        start_time=datetime.time(22, 0), slot_minutes=30, slot_count=5, half_day=HalfDay.EVENING
    )

    with pytest.raises(InvalidScheduleTemplate) as refused:
        sessions_generate(days=1)

    assert refused.value.code == "invalid_schedule_template"
    assert refused.value.detail == (
        "The schedule template is not valid: the last slot must end by midnight"
    )
    assert refused.value.params["template"] == bad.pk
    assert inventory() == (0, 0, 0)


def test_generate_limited_to_some_templates():
    chosen = ScheduleTemplateFactory()
    ScheduleTemplateFactory()

    result = sessions_generate(days=1, template_ids=[chosen.pk])

    assert result.sessions_created == 1
    assert Session.objects.get().template == chosen


def test_generate_with_no_templates_does_nothing(django_assert_num_queries):
    with django_assert_num_queries(1):  # the templates
        assert sessions_generate() == GenerationResult()


# --- session_create_from_template ----------------------------------------------------


def test_session_create_from_template_returns_the_session_then_none():
    template = ScheduleTemplateFactory()

    session = session_create_from_template(template=template, date=MONDAY)
    again = session_create_from_template(template=template, date=MONDAY)

    assert session is not None
    assert session.slots.count() == 5
    assert again is None
    assert inventory() == (1, 5, 20)


def test_session_create_from_template_refuses_another_weekday():
    template = ScheduleTemplateFactory(weekday=0)

    with pytest.raises(InvalidScheduleTemplate, match="not on the template's weekday"):
        session_create_from_template(template=template, date=datetime.date(2026, 11, 24))

    assert inventory() == (0, 0, 0)


def test_creating_one_session_takes_a_fixed_handful_of_queries(django_assert_num_queries):
    template = ScheduleTemplateFactory(slot_count=12)
    template = type(template).objects.select_related("doctor").get(pk=template.pk)

    # savepoint; savepoint, INSERT session, release; INSERT slots; INSERT quotas; release
    with django_assert_num_queries(7):
        session_create_from_template(template=template, date=MONDAY)

    assert inventory() == (1, 12, 48)


def test_an_existing_session_among_new_ones_costs_only_itself():
    # given: two plans go to the insert together, one of them already exists
    existing = ScheduleTemplateFactory()
    new = ScheduleTemplateFactory()
    session_create_from_template(template=existing, date=MONDAY)
    plans = [
        services._Plan.from_template(existing, MONDAY),
        services._Plan.from_template(new, MONDAY),
    ]

    # when: the multi-row INSERT fails on the existing key and falls back row by row
    created = services._sessions_insert(plans)

    # then
    assert [session.template for session, _ in created] == [new]
    assert Session.objects.count() == 2


# --- the demo size -------------------------------------------------------------------


def demo_templates() -> None:
    """15 doctors, 20 weekly half-days of 8 slots × 2 places, Monday to Friday."""
    department = DepartmentFactory()
    room = RoomFactory(department=department)
    doctors = [DoctorFactory(department=department) for _ in range(15)]
    for index, doctor in enumerate(doctors):
        ScheduleTemplateFactory(
            doctor=doctor, room=room, weekday=index % 5, slot_count=8, places_per_slot=2
        )
    for index, doctor in enumerate(doctors[:5]):
        ScheduleTemplateFactory(
            doctor=doctor,
            room=room,
            weekday=(index + 2) % 5,
            half_day=HalfDay.AFTERNOON,
            start_time=datetime.time(13, 30),
            slot_count=8,
            places_per_slot=2,
        )


def test_a_week_for_the_demo_clinic_takes_a_few_queries_whatever_its_size():
    demo_templates()

    with CaptureQueriesContext(connection) as first:
        result = sessions_generate()
    with CaptureQueriesContext(connection) as second:
        again = sessions_generate()

    # 20 templates; 4 fall on Monday, which the 8-day window holds twice.
    assert result == GenerationResult(
        sessions_created=24, slots_created=192, places_created=384, skipped_existing=0
    )
    assert again == GenerationResult(skipped_existing=24)
    assert inventory() == (24, 192, 768)
    # PostgreSQL: templates, existing keys, 3 for the sessions' savepoint and INSERT,
    # 1 INSERT of slots, 1 of quotas, and the outer savepoint pair. SQLite splits the
    # INSERTs into batches of 999 parameters, so a few more.
    limit = 9 if connection.vendor == "postgresql" else 12
    assert len(first) <= limit, [query["sql"][:80] for query in first.captured_queries]
    assert len(second) <= 4  # templates, existing keys, savepoint pair


# --- session_add ---------------------------------------------------------------------


def add(**overrides) -> Session:
    doctor = overrides.pop("doctor", None) or DoctorFactory(fee=Decimal("80.00"))
    arguments = {
        "doctor": doctor,
        "department": doctor.department,
        "room": RoomFactory(department=doctor.department),
        "date": datetime.date(2026, 11, 26),
        "half_day": HalfDay.AFTERNOON,
        "start_time": datetime.time(14, 0),
        "slot_minutes": 30,
        "slot_count": 4,
        "places_per_slot": 5,
        "split": {"online": 40, "phone": 20, "walkin": 40, "reserved": 0},
    }
    return session_add(**(arguments | overrides))


def test_session_add_creates_a_session_with_slots_and_quotas():
    session = add()

    session = Session.objects.get(pk=session.pk)
    assert session.template is None
    assert session.fee == Decimal("80.00")
    assert session.level == session.doctor.level
    thursday = datetime.date(2026, 11, 26)
    assert local(session) == (at(thursday, 14), at(thursday, 16))
    slots = list(session.slots.order_by("starts_at").prefetch_related("quotas"))
    assert [local(slot)[0] for slot in slots] == [
        at(thursday, 14),
        at(thursday, 14, 30),
        at(thursday, 15),
        at(thursday, 15, 30),
    ]
    for slot in slots:
        assert quotas_of(slot) == {
            "online": (2, 0),
            "phone": (1, 0),
            "walkin": (2, 0),
            "reserved": (0, 0),
        }


def test_session_add_refuses_slots_longer_than_30_minutes():
    with pytest.raises(InvalidScheduleTemplate) as refused:
        add(slot_minutes=45)

    assert refused.value.code == "invalid_schedule_template"
    assert refused.value.detail == (
        "The schedule template is not valid: a slot must last 5 to 30 minutes"
    )
    assert inventory() == (0, 0, 0)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"slot_count": 0}, "a session needs at least one slot"),
        ({"places_per_slot": 0}, "a slot needs at least one place"),
        ({"split": {"online": 60, "phone": 10, "walkin": 20}}, "add up to 100"),
        ({"half_day": "night"}, "unknown half-day"),
        ({"start_time": datetime.time(23, 0)}, "end by midnight"),
    ],
)
def test_session_add_refuses_an_unusable_shape(overrides, reason):
    with pytest.raises(InvalidScheduleTemplate, match=reason):
        add(**overrides)

    assert inventory() == (0, 0, 0)


def test_session_add_refuses_a_second_session_in_the_half_day():
    first = add()
    before = inventory()

    with pytest.raises(SessionExists) as refused:
        add(doctor=first.doctor, start_time=datetime.time(15, 0))

    assert refused.value.code == "session_exists"
    assert refused.value.http_status == 409
    assert refused.value.detail == "This doctor already has a session in that half-day."
    assert inventory() == before


def test_generation_skips_a_half_day_added_by_hand():
    template = ScheduleTemplateFactory()
    add(doctor=template.doctor, date=MONDAY, half_day=HalfDay.MORNING)

    result = sessions_generate(days=1)

    assert result == GenerationResult(skipped_existing=1)
    assert Session.objects.get().template is None


def test_generation_uses_the_clinic_date_not_utc(clock):
    # 23:30 UTC on Sunday 22 November is already Monday 07:30 in Shanghai.
    clock.move_to(datetime.datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    ScheduleTemplateFactory(weekday=0)

    sessions_generate(days=1)

    assert timezone.localdate() == MONDAY
    assert Session.objects.get().date == MONDAY


def test_quotas_are_created_unbooked():
    ScheduleTemplateFactory()

    sessions_generate(days=1)

    assert set(Quota.objects.values_list("booked", flat=True)) == {0}
