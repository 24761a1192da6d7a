"""The front desk's beat task: bookings nobody came for become no-shows."""

import datetime

import pytest
import time_machine

from booking.models import Booking
from config.celery import app
from frontdesk.tasks import no_shows_mark_task
from patients.models import NoShow
from tests import factories
from tests.booking.test_create import book
from tests.frontdesk.test_queue import at, check_in, today_session

pytestmark = pytest.mark.django_db


def test_the_task_marks_the_bookings_of_an_ended_session_as_no_shows(staff):
    # given at 09:00 two bookings of today's 14:00-18:00 session; one patient comes
    with time_machine.travel(at(9), tick=False) as clock:
        session = today_session()
        slot = session.slots.order_by("starts_at").first()
        missed, came = (book(factories.PatientFactory(), slot) for _ in range(2))
        check_in(came, staff, now=at(13, 50))

        # when the beat runs before the session's end and its grace period, nothing
        clock.move_to(at(18, 29))
        assert no_shows_mark_task.apply().get() == 0

        # then, once it has ended 30 minutes ago, the missed booking is a no-show, once
        clock.move_to(at(18, 30))
        assert no_shows_mark_task.apply().get() == 1
        assert no_shows_mark_task.apply().get() == 0

    missed.refresh_from_db()
    came.refresh_from_db()
    assert (missed.status, came.status) == (Booking.Status.NO_SHOW, Booking.Status.CHECKED_IN)
    assert list(NoShow.objects.values_list("patient", flat=True)) == [missed.patient_id]


def test_the_beat_runs_the_task_every_ten_minutes():
    entry = app.conf.beat_schedule["no-shows-mark"]

    assert entry["task"] == no_shows_mark_task.name == "frontdesk.tasks.no_shows_mark_task"
    assert entry["schedule"] == datetime.timedelta(minutes=10).total_seconds()
