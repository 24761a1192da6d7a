"""The queue's reads: today's sessions with counts, a session's queue, masked names."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission

from frontdesk import selectors, services
from tests import factories
from tests.frontdesk.test_queue import (
    NOW,
    TODAY,
    queue_of,
    today_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("张三", "张*"),
        ("欧阳明月", "欧**月"),
        ("王", "*"),
        ("John Smith", "J*** S****"),
        ("Li Na", "L* N*"),
        ("  Ann   Lee ", "A** L**"),
        ("Madonna", "M******"),
        ("", ""),
    ],
)
def test_mask_name_never_shows_the_whole_name(name, masked):
    assert selectors.mask_name(name) == masked


def grant(user, *codenames: str):
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="frontdesk", codename__in=codenames)
    )
    return type(user).objects.get(pk=user.pk)  # a fresh permission cache


def test_todays_sessions_come_with_their_queue_counts(clock, staff):
    morning = today_session()
    other_room = today_session(doctor=factories.DoctorFactory())
    factories.SessionFactory()  # tomorrow: not listed
    queue_of(morning, staff, 4)
    services.queue_call_next(session=morning, called_by=staff)
    services.queue_call_next(session=morning, called_by=staff)

    sessions = selectors.queue_sessions_today(user=grant(staff, "run_queue"), now=NOW)

    counts = {s.pk: (s.waiting, s.called, s.done) for s in sessions}
    assert counts == {morning.pk: (2, 1, 1), other_room.pk: (0, 0, 0)}


def test_a_doctor_without_the_run_right_sees_only_their_own_sessions(clock, staff):
    own = today_session()
    today_session(doctor=factories.DoctorFactory())
    doctor_account = factories.StaffFactory()
    own.doctor.account = doctor_account
    own.doctor.save()
    doctor_account = grant(doctor_account, "view_queueticket")

    sessions = selectors.queue_sessions_today(user=doctor_account, now=NOW)

    assert [s.pk for s in sessions] == [own.pk]
    # a doctor who also runs the queue sees them all
    runner = grant(doctor_account, "run_queue")
    assert len(selectors.queue_sessions_today(user=runner, now=NOW)) == 2


def test_a_doctor_role_account_without_a_linked_doctor_sees_no_session(clock, staff):
    today_session()
    account = factories.StaffFactory()
    account.groups.add(Group.objects.get_or_create(name="doctor")[0])
    account = grant(account, "view_queueticket")

    assert selectors.queue_sessions_today(user=account, now=NOW) == []
    # front-desk staff who may only look see every session
    viewer = grant(factories.StaffFactory(), "view_queueticket")
    assert len(selectors.queue_sessions_today(user=viewer, now=NOW)) == 1


def test_a_sessions_queue_is_called_waiting_in_order_and_seen_latest_first(clock, staff):
    session = today_session()
    queue_of(session, staff, 5)
    at = datetime.datetime.combine(TODAY, datetime.time(14), tzinfo=NOW.tzinfo)
    for minute in (1, 2, 3):
        services.queue_call_next(
            session=session, called_by=staff, now=at + datetime.timedelta(minutes=minute)
        )
    services.queue_skip(ticket=session.queue_tickets.get(number=4), skipped_by=staff)

    queue = selectors.queue_for_session(session=session)

    assert queue.called.number == 3
    assert [t.number for t in queue.waiting] == [5, 4]
    assert [t.number for t in queue.done] == [2, 1]
