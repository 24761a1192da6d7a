"""Session generation as the booking app runs it: each department's booking window
(its policy's `window_days`) by the daily beat task and the generate_sessions command;
`--days N` overrides it for every department. Moved from tests/clinics when the task
and the command moved here (clinics knows nothing of booking policies)."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from booking.selectors import session_horizon
from booking.tasks import sessions_generate_task
from clinics.models import HalfDay, Session
from config.celery import app
from tests.booking.test_home import cards, page
from tests.clinics.helpers import MONDAY, WEDNESDAY, inventory
from tests.factories import BookingPolicyFactory, DepartmentFactory, ScheduleTemplateFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

DAY = datetime.timedelta(days=1)


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_sessions", *args, stdout=out)
    return out.getvalue()


def every_weekday(department) -> None:
    """One morning template per weekday for `department`, so every date gets a session."""
    for weekday in range(7):
        ScheduleTemplateFactory(
            department=department, doctor__department=department, weekday=weekday
        )


def dates_of(department) -> list[datetime.date]:
    return sorted(
        Session.objects.filter(department=department).values_list("date", flat=True).distinct()
    )


def through(days_ahead: int) -> list[datetime.date]:
    """Today (Monday 23 November) and every day up to `days_ahead` days ahead."""
    return [MONDAY + n * DAY for n in range(days_ahead + 1)]


@pytest.fixture
def clinics_with_windows():
    """A 14-day clinic, its sub-clinic (inherits 14), a 7-day clinic (DESIGN's default,
    no policy of its own) and a 3-day one."""
    long = DepartmentFactory()
    BookingPolicyFactory(department=long, window_days=14)
    sub = DepartmentFactory(parent=long)
    default = DepartmentFactory()
    short = DepartmentFactory()
    BookingPolicyFactory(department=short, window_days=3)
    for department in (long, sub, default, short):
        every_weekday(department)
    return long, sub, default, short


# --- the policy's window decides how far ----------------------------------------------


def test_the_task_makes_each_departments_booking_window_of_sessions(clinics_with_windows):
    long, sub, default, short = clinics_with_windows

    sessions_generate_task.apply().get()

    assert dates_of(long) == through(14)
    assert dates_of(sub) == through(14)
    assert dates_of(default) == through(7)
    assert dates_of(short) == through(3)


def test_the_command_makes_each_departments_booking_window_too(clinics_with_windows):
    long, _sub, default, short = clinics_with_windows

    output = generate()

    # 15 + 15 + 8 + 4 dates, one session each
    assert output == "sessions created: 42, slots: 210, places: 630, already existed: 0\n"
    assert dates_of(long) == through(14)
    assert dates_of(default) == through(7)
    assert dates_of(short) == through(3)


def test_days_overrides_the_policy_for_every_department(clinics_with_windows):
    generate("--days", "2")

    for department in clinics_with_windows:
        assert dates_of(department) == through(1)


def test_a_longer_window_later_adds_only_the_new_days(clinics_with_windows):
    long, _sub, default, _short = clinics_with_windows
    generate()
    before = Session.objects.count()
    long.booking_policy.window_days = 21
    long.booking_policy.save()

    output = generate()

    assert output.endswith(f"already existed: {before}\n")
    assert dates_of(long) == through(21)
    assert dates_of(default) == through(7)


def test_the_home_page_shows_the_generated_window_of_each_department(client, clinics_with_windows):
    long, _sub, default, _short = clinics_with_windows
    sessions_generate_task.apply().get()

    shown = set(cards(page(client)))

    def listed(department):
        return sorted(
            {s.date for s in Session.objects.filter(department=department) if s.pk in shown}
        )

    assert listed(long) == through(14)
    assert listed(default) == through(7)


def test_session_horizon_reads_the_policies_in_one_query(
    clinics_with_windows, django_assert_num_queries
):
    with django_assert_num_queries(1):
        horizon = session_horizon()
        days = [horizon(department) for department in clinics_with_windows]

    assert days == [14, 14, 7, 3]


def test_a_department_made_after_the_horizon_was_read_gets_its_policy():
    horizon = session_horizon()
    late = DepartmentFactory()
    BookingPolicyFactory(department=late, window_days=10)

    assert horizon(late) == 10


# --- the command and the task, as before -----------------------------------------------


def test_command_generates_the_window_and_prints_one_line():
    ScheduleTemplateFactory(weekday=0)  # 5 slots × 3 places, Mon 23 and Mon 30 November

    output = generate()

    assert output == "sessions created: 2, slots: 10, places: 30, already existed: 0\n"
    assert inventory() == (2, 10, 40)


def test_command_run_twice_creates_nothing_new():
    ScheduleTemplateFactory(weekday=0)
    generate()

    output = generate()

    assert output == "sessions created: 0, slots: 0, places: 0, already existed: 2\n"
    assert inventory() == (2, 10, 40)


def test_command_takes_start_and_days():
    ScheduleTemplateFactory(weekday=WEDNESDAY)

    output = generate("--start", "2026-12-02", "--days", "1")

    assert output.startswith("sessions created: 1,")
    assert Session.objects.get().date == datetime.date(2026, 12, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2 December"], "expected a date as YYYY-MM-DD"),
        (["--days", "0"], "expected a whole number of days >= 1"),
        (["--days", "many"], "expected a whole number of days >= 1"),
    ],
)
def test_command_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        generate(*args)


def test_command_names_an_unusable_template():
    bad = ScheduleTemplateFactory(
        start_time=datetime.time(23, 0), half_day=HalfDay.EVENING, slot_count=4
    )

    with pytest.raises(CommandError) as refused:
        generate()

    assert str(refused.value) == (
        f"schedule template {bad.pk}: "
        "The schedule template is not valid: the last slot must end by midnight"
    )
    assert inventory() == (0, 0, 0)


def test_task_generates_and_returns_the_counts():
    ScheduleTemplateFactory(weekday=0)

    first = sessions_generate_task.apply().get()
    second = sessions_generate_task.apply().get()

    assert first == {
        "sessions_created": 2,
        "slots_created": 10,
        "places_created": 30,
        "skipped_existing": 0,
    }
    assert second == {
        "sessions_created": 0,
        "slots_created": 0,
        "places_created": 0,
        "skipped_existing": 2,
    }
    assert inventory() == (2, 10, 40)


def test_beat_schedule_names_the_task():
    entry = app.conf.beat_schedule["generate-sessions-daily"]

    assert entry["task"] == sessions_generate_task.name == "booking.tasks.sessions_generate_task"
