import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clinics.models import HalfDay, Session
from clinics.tasks import sessions_generate_task
from config.celery import app
from tests.clinics.helpers import WEDNESDAY, inventory
from tests.factories import ScheduleTemplateFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_sessions", *args, stdout=out)
    return out.getvalue()


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

    assert entry["task"] == sessions_generate_task.name == "clinics.tasks.sessions_generate_task"
