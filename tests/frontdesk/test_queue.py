"""The day's queue: check-in into it, its order (priority, lateness, skips) and its calls."""

import datetime

import pytest
import time_machine

from booking.models import Booking
from clinics.models import Session
from core.errors import YuyueError
from frontdesk import services
from frontdesk.models import QueueTicket
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.test_create import book

pytestmark = pytest.mark.django_db

TODAY = NOW.date()  # Monday 23 November 2026; the clock says 09:00


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(TODAY, datetime.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def today_session(*, bands: int = 2, places: int = 10, **kwargs) -> Session:
    """Today's afternoon session, 14:00, with `bands` half-hour slots of online places."""
    session = factories.SessionFactory(
        date=TODAY, starts_at=at(14), ends_at=at(18), half_day="afternoon", **kwargs
    )
    for band in range(bands):
        factories.slot_with_quotas(
            session=session,
            starts_at=at(14) + datetime.timedelta(minutes=30 * band),
            online=places,
        )
    return session


def booked(session: Session, *, band: int = 0, **patient) -> Booking:
    """A new patient's online booking in the session's `band`-th slot (numbers 1, 2, ...)."""
    slot = session.slots.order_by("starts_at")[band]
    return book(factories.PatientFactory(**patient), slot)


def check_in(booking: Booking, staff, *, now=None, disability=False) -> QueueTicket:
    return services.queue_check_in(
        booking=booking, checked_in_by=staff, disability=disability, now=now or at(13, 50)
    )


def waiting_numbers(session: Session) -> list[int]:
    return list(
        QueueTicket.objects.filter(session=session, state=QueueTicket.State.WAITING)
        .order_by("position")
        .values_list("number", flat=True)
    )


def positions(session: Session) -> list[int]:
    return list(
        QueueTicket.objects.filter(session=session, state=QueueTicket.State.WAITING)
        .order_by("position")
        .values_list("position", flat=True)
    )


def queue_snapshot() -> list[tuple]:
    return list(
        QueueTicket.objects.order_by("pk").values_list(
            "pk", "state", "position", "skips", "calls", "called_at", "done_at"
        )
    ) + list(Booking.objects.order_by("pk").values_list("pk", "status"))


def refused(code: str, call) -> YuyueError:
    before = queue_snapshot()
    with pytest.raises(YuyueError) as info:
        call()
    assert info.value.code == code, info.value
    assert queue_snapshot() == before, "a refusal must change nothing"
    return info.value


def queue_of(session: Session, staff, count: int) -> list[QueueTicket]:
    """`count` patients booked and checked in on time, numbers 1..count in order."""
    return [check_in(booked(session), staff) for _ in range(count)]


# --- check-in -----------------------------------------------------------------------


def test_check_in_gives_the_patient_a_ticket_with_the_booking_number(clock, staff):
    session = today_session()
    first, second = booked(session), booked(session)

    ticket = check_in(second, staff)

    assert ticket.booking == second
    assert (ticket.number, ticket.session, ticket.room) == (2, session, session.room)
    assert (ticket.state, ticket.position, ticket.priority, ticket.late) == (
        "waiting",
        1,
        "",
        False,
    )
    assert (ticket.checked_in_at, ticket.checked_in_by) == (at(13, 50), staff)
    second.refresh_from_db()
    assert second.status == Booking.Status.CHECKED_IN
    first.refresh_from_db()
    assert first.status == Booking.Status.CONFIRMED


def test_checking_in_twice_returns_the_same_ticket(clock, staff):
    booking = booked(today_session())
    first = check_in(booking, staff)

    again = check_in(booking, staff, now=at(14, 20), disability=True)

    assert again.pk == first.pk
    assert (again.position, again.priority, again.checked_in_at) == (1, "", at(13, 50))
    assert QueueTicket.objects.count() == 1


def test_a_refused_check_in_makes_no_ticket(clock, staff):
    session = factories.SessionFactory()  # tomorrow
    slot = factories.slot_with_quotas(session=session, online=2)
    booking = book(factories.PatientFactory(), slot)

    refused("not_today", lambda: check_in(booking, staff, now=NOW))

    assert QueueTicket.objects.count() == 0


# --- the waiting order ------------------------------------------------------------------


def test_on_time_patients_wait_in_number_order_whatever_order_they_arrive(clock, staff):
    session = today_session()
    bookings = [booked(session) for _ in range(4)]

    for index in (2, 0, 3, 1):
        check_in(bookings[index], staff)

    assert waiting_numbers(session) == [1, 2, 3, 4]
    assert positions(session) == [1, 2, 3, 4]


def test_patients_aged_80_and_disabled_patients_go_first_in_number_order(clock, staff):
    session = today_session()
    eighty_today = datetime.date(1946, 11, 23)  # 80 on the visit day
    one, two, three, four, five = (
        booked(session),
        booked(session, birth_date=eighty_today),
        booked(session),
        booked(session),
        booked(session, birth_date=datetime.date(1946, 11, 24)),  # 80 tomorrow: not yet
    )

    check_in(three, staff)
    check_in(one, staff)
    check_in(five, staff)
    assert waiting_numbers(session) == [1, 3, 5]
    check_in(four, staff, disability=True)
    assert waiting_numbers(session) == [4, 1, 3, 5]
    check_in(two, staff)

    assert waiting_numbers(session) == [2, 4, 1, 3, 5]
    assert positions(session) == [1, 2, 3, 4, 5]
    priorities = dict(QueueTicket.objects.values_list("number", "priority"))
    assert priorities == {1: "", 2: "age", 3: "", 4: "disability", 5: ""}


def test_a_patient_aged_80_with_a_disability_counts_as_age(clock, staff):
    session = today_session()
    booking = booked(session, birth_date=datetime.date(1930, 1, 1))

    assert check_in(booking, staff, disability=True).priority == "age"


def test_a_late_patient_goes_to_the_end_without_a_priority_move(clock, staff):
    session = today_session()
    # numbers 1 and 2 in the 14:00-14:30 band, 3 and 4 in the 14:30-15:00 band
    one = booked(session, band=0, birth_date=datetime.date(1930, 1, 1))
    two = booked(session, band=0)
    three, four = booked(session, band=1), booked(session, band=1)
    check_in(two, staff, now=at(14, 10))

    late = check_in(one, staff, now=at(14, 40))  # after its band ended, aged over 80
    check_in(four, staff, now=at(14, 41))
    check_in(three, staff, now=at(14, 42))

    assert late.late is True
    assert waiting_numbers(session) == [2, 3, 4, 1]
    assert QueueTicket.objects.get(number=4).late is False


def test_a_second_late_patient_waits_behind_the_first(clock, staff):
    session = today_session()
    one, two, three = booked(session), booked(session), booked(session, band=1)

    check_in(two, staff, now=at(14, 31))
    check_in(one, staff, now=at(14, 32))
    check_in(three, staff, now=at(14, 33))

    assert waiting_numbers(session) == [3, 2, 1]


# --- calls --------------------------------------------------------------------------------


def test_call_next_calls_the_first_waiting_patient(clock, staff):
    session = today_session()
    queue_of(session, staff, 3)

    ticket = services.queue_call_next(session=session, called_by=staff, now=at(14, 1))

    assert (ticket.number, ticket.state, ticket.calls, ticket.called_at) == (
        1,
        "called",
        1,
        at(14, 1),
    )
    assert waiting_numbers(session) == [2, 3]
    assert positions(session) == [1, 2]


def test_call_next_finishes_the_called_patient_first(clock, staff):
    session = today_session()
    first, second, _third = queue_of(session, staff, 3)
    services.queue_call_next(session=session, called_by=staff, now=at(14, 1))

    ticket = services.queue_call_next(session=session, called_by=staff, now=at(14, 9))

    assert ticket.pk == second.pk
    first.refresh_from_db()
    assert (first.state, first.done_at) == ("done", at(14, 9))
    assert first.booking.status == Booking.Status.COMPLETED
    second.booking.refresh_from_db()
    assert second.booking.status == Booking.Status.CHECKED_IN
    assert QueueTicket.objects.filter(state="called").count() == 1


def test_call_next_with_nobody_waiting_finishes_the_last_and_calls_nobody(clock, staff):
    session = today_session()
    (only,) = queue_of(session, staff, 1)
    services.queue_call_next(session=session, called_by=staff, now=at(14, 1))

    assert services.queue_call_next(session=session, called_by=staff, now=at(14, 9)) is None

    only.refresh_from_db()
    assert only.state == "done"
    assert services.queue_call_next(session=session, called_by=staff) is None


def test_recall_calls_the_called_patient_again(clock, staff):
    session = today_session()
    queue_of(session, staff, 2)
    called = services.queue_call_next(session=session, called_by=staff, now=at(14, 1))

    again = services.queue_recall(ticket=called, called_by=staff, now=at(14, 3))

    assert (again.state, again.calls, again.called_at) == ("called", 2, at(14, 3))
    assert waiting_numbers(session) == [2]


def test_only_the_called_patient_can_be_recalled_or_finished(clock, staff):
    session = today_session()
    _first, second = queue_of(session, staff, 2)
    services.queue_call_next(session=session, called_by=staff, now=at(14, 1))

    refused("ticket_not_called", lambda: services.queue_recall(ticket=second, called_by=staff))
    refused("ticket_not_called", lambda: services.queue_done(ticket=second, done_by=staff))


def test_done_finishes_the_called_patient_and_calls_nobody(clock, staff):
    session = today_session()
    queue_of(session, staff, 2)
    called = services.queue_call_next(session=session, called_by=staff, now=at(14, 1))

    done = services.queue_done(ticket=called, done_by=staff, now=at(14, 8))

    assert (done.state, done.done_at) == ("done", at(14, 8))
    done.booking.refresh_from_db()
    assert done.booking.status == Booking.Status.COMPLETED
    assert not QueueTicket.objects.filter(state="called").exists()
    assert waiting_numbers(session) == [2]
    refused("ticket_not_called", lambda: services.queue_done(ticket=done, done_by=staff))


# --- skips --------------------------------------------------------------------------------


def test_a_called_patient_who_did_not_come_returns_after_the_next_three(clock, staff):
    session = today_session()
    queue_of(session, staff, 6)
    called = services.queue_call_next(session=session, called_by=staff, now=at(14, 1))

    skipped = services.queue_skip(ticket=called, skipped_by=staff, now=at(14, 3))

    assert (skipped.state, skipped.skips, skipped.calls) == ("waiting", 1, 1)
    assert waiting_numbers(session) == [2, 3, 4, 1, 5, 6]
    assert positions(session) == [1, 2, 3, 4, 5, 6]
    assert not QueueTicket.objects.filter(state="called").exists()
    # the next call is number 2, and number 1 comes back after 2, 3 and 4
    calls = [services.queue_call_next(session=session, called_by=staff).number for _ in range(4)]
    assert calls == [2, 3, 4, 1]


def test_a_skipped_waiting_patient_moves_three_places_back(clock, staff):
    session = today_session()
    tickets = queue_of(session, staff, 6)

    services.queue_skip(ticket=tickets[1], skipped_by=staff)

    assert waiting_numbers(session) == [1, 3, 4, 5, 2, 6]


def test_a_skipped_patient_goes_to_the_end_when_fewer_than_three_wait(clock, staff):
    session = today_session()
    queue_of(session, staff, 3)
    called = services.queue_call_next(session=session, called_by=staff)

    services.queue_skip(ticket=called, skipped_by=staff)

    assert waiting_numbers(session) == [2, 3, 1]


def test_later_arrivals_do_not_overtake_a_skipped_patient_at_the_end(clock, staff):
    session = today_session()
    one, two, three = booked(session), booked(session), booked(session)
    check_in(one, staff)
    check_in(two, staff)
    called = services.queue_call_next(session=session, called_by=staff)
    services.queue_skip(ticket=called, skipped_by=staff)
    assert waiting_numbers(session) == [2, 1]

    check_in(three, staff)

    assert waiting_numbers(session) == [2, 1, 3]


def test_a_seen_patient_cannot_be_skipped(clock, staff):
    session = today_session()
    queue_of(session, staff, 2)
    called = services.queue_call_next(session=session, called_by=staff)
    services.queue_done(ticket=called, done_by=staff)

    refused("ticket_done", lambda: services.queue_skip(ticket=called, skipped_by=staff))
