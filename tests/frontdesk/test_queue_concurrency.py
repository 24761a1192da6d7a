"""Desks pressing at once, on the real PostgreSQL with real threads."""

import pytest
import time_machine

from frontdesk import services
from frontdesk.models import QueueTicket
from tests import factories
from tests.booking.conftest import NOW
from tests.concurrency import run_together
from tests.frontdesk.test_queue import booked, check_in, today_session, waiting_numbers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("first_called", [True, False], ids=["one-called", "none-called"])
def test_desks_pressing_call_next_together_call_each_patient_once(frozen, first_called):
    # given eight patients checked in, number 1 being called (or nobody yet)
    staff = factories.StaffFactory()
    session = today_session()
    for _ in range(8):
        check_in(booked(session), staff)
    if first_called:
        services.queue_call_next(session=session, called_by=staff)
    desks = [factories.StaffFactory() for _ in range(4)]

    # when four desks press "call next" at the same instant
    results = run_together(
        [lambda d=d: services.queue_call_next(session=session, called_by=d) for d in desks]
    )

    # then each press moved the queue on once: four different patients called in turn
    last = 5 if first_called else 4
    assert all(isinstance(result, QueueTicket) for result in results), results
    assert sorted(result.number for result in results) == list(range(last - 3, last + 1))
    tickets = {t.number: t for t in QueueTicket.objects.filter(session=session)}
    assert [n for n, t in sorted(tickets.items()) if t.state == "called"] == [last]
    assert [n for n, t in sorted(tickets.items()) if t.state == "done"] == list(range(1, last))
    assert all(t.calls == 1 for n, t in tickets.items() if n <= last)
    assert waiting_numbers(session) == list(range(last + 1, 9))
    assert list(
        QueueTicket.objects.filter(session=session, state="waiting")
        .order_by("position")
        .values_list("position", flat=True)
    ) == list(range(1, 9 - last))
    assert all(t.booking.status == "completed" for t in tickets.values() if t.state == "done")


def test_patients_checking_in_together_get_distinct_places(frozen):
    staff = factories.StaffFactory()
    session = today_session(places=12)
    bookings = [booked(session) for _ in range(12)]

    results = run_together([lambda b=b: check_in(b, staff) for b in bookings])

    assert all(isinstance(result, QueueTicket) for result in results), results
    assert waiting_numbers(session) == list(range(1, 13))
    assert list(
        QueueTicket.objects.filter(session=session)
        .order_by("position")
        .values_list("position", flat=True)
    ) == list(range(1, 13))
