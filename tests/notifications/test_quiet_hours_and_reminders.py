"""Quiet hours, and reminders as rows with a due time: one per patient and day."""

import datetime

import pytest
import time_machine

from booking.services import booking_cancel, booking_create, booking_reschedule
from clinics.models import Channel
from notifications import services
from notifications.models import OutboxMessage, Reminder
from tests import factories
from tests.notifications.conftest import SHANGHAI

pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(23, 20, 59), at(23, 20, 59)),
        (at(23, 21, 0), at(24, 8, 0)),
        (at(23, 23, 30), at(24, 8, 0)),
        (at(24, 0, 0), at(24, 8, 0)),
        (at(24, 7, 59), at(24, 8, 0)),
        (at(24, 8, 0), at(24, 8, 0)),
        (at(24, 12, 0), at(24, 12, 0)),
    ],
)
def test_quiet_hours_end(moment, expected):
    assert services.quiet_hours_end(moment) == expected


def enqueue(kind="booking_confirmed", key="k", **extra):
    return services.message_enqueue(
        kind=kind,
        dedupe_key=key,
        recipient="13800138000",
        language="zh-hans",
        context={"code": "ABC"},
        **extra,
    )


def test_a_message_in_quiet_hours_waits_for_morning(django_capture_on_commit_callbacks):
    with time_machine.travel(at(23, 22, 15), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            message = enqueue()
        # not published now, not sendable now
        assert callbacks == []
        assert message.due_at == at(24, 8, 0)
        assert services.message_send(message_id=message.pk) is False
        # at 08:00 it may go
        clock.move_to(at(24, 8, 0))
        assert services.message_send(message_id=message.pk) is True


@pytest.mark.parametrize(
    ("kind", "urgent"), [("sign_in_code", False), ("booking_cancelled_by_hospital", True)]
)
def test_sign_in_codes_and_urgent_notices_ignore_quiet_hours(
    kind, urgent, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(23, 23, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            message = enqueue(kind=kind, urgent=urgent)
        assert len(callbacks) == 1
        assert message.due_at == at(23, 23, 0)
        assert OutboxMessage.objects.get().urgent is True
        assert services.message_send(message_id=message.pk) is True


@pytest.mark.parametrize(
    ("starts_at", "booked_at", "due"),
    [
        # booked before the evening before: 18:00 the evening before
        (at(25, 8, 0), at(23, 10, 0), at(24, 18, 0)),
        (at(25, 14, 0), at(24, 17, 59), at(24, 18, 0)),
        # booked after that 18:00: two hours before the slot
        (at(25, 14, 0), at(24, 18, 1), at(25, 12, 0)),
        (at(25, 14, 0), at(25, 9, 0), at(25, 12, 0)),
        # two hours before falls in quiet hours: at 08:00, if that is still before the slot
        (at(25, 9, 0), at(24, 22, 0), at(25, 8, 0)),
        (at(25, 8, 0), at(24, 22, 0), None),
        # less than two hours ahead: the confirmation is reminder enough
        (at(25, 14, 0), at(25, 12, 30), None),
    ],
)
def test_reminder_due_at(starts_at, booked_at, due):
    assert services.reminder_due_at(starts_at=starts_at, booked_at=booked_at) == due


# --- with real bookings -------------------------------------------------------------


@pytest.fixture
def monday_morning():
    with time_machine.travel(at(23, 9, 0), tick=False) as clock:
        yield clock


def slot_on(day: int, hour: int, *, session=None, online: int = 3):
    date = datetime.date(2026, 11, day)
    session = session or factories.SessionFactory(date=date, starts_at=at(day, 8, 0))
    return factories.slot_with_quotas(session=session, starts_at=at(day, hour), online=online)


def book(patient, slot, **kwargs):
    return booking_create(
        patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account, **kwargs
    )


def test_a_booking_writes_its_reminder_for_the_evening_before(monday_morning, patient):
    booking = book(patient, slot_on(25, 10))
    reminder = Reminder.objects.get()
    assert reminder.dedupe_key == f"booking:{booking.pk}:booking_reminder"
    assert reminder.due_at == at(24, 18, 0)
    assert reminder.day == datetime.date(2026, 11, 25)
    assert reminder.context["code"] == booking.code
    assert reminder.recipient == patient.phone
    assert reminder.status == Reminder.Status.SCHEDULED
    # nothing is in the outbox for it yet
    assert list(OutboxMessage.objects.values_list("kind", flat=True)) == ["booking_confirmed"]


def test_a_same_day_booking_is_reminded_two_hours_before(monday_morning, patient):
    book(patient, slot_on(23, 14))
    assert Reminder.objects.get().due_at == at(23, 12, 0)


def test_a_cancelled_booking_gets_no_reminder(monday_morning, patient, sms_outbox):
    booking = book(patient, slot_on(25, 10))
    booking_cancel(booking=booking, requested_by=patient.account)
    assert Reminder.objects.get().status == Reminder.Status.CANCELLED

    monday_morning.move_to(at(24, 18, 0))
    assert services.reminders_release_due() == 0
    assert not OutboxMessage.objects.filter(kind="booking_reminder").exists()


def test_a_rescheduled_booking_is_reminded_of_its_new_time_only(monday_morning, patient):
    booking = book(patient, slot_on(25, 10))
    moved = booking_reschedule(
        booking=booking, new_slot=slot_on(26, 9), requested_by=patient.account
    )
    reminders = dict(Reminder.objects.values_list("dedupe_key", "status"))
    assert reminders == {
        f"booking:{booking.pk}:booking_reminder": Reminder.Status.CANCELLED,
        f"booking:{moved.pk}:booking_reminder": Reminder.Status.SCHEDULED,
    }


def test_due_reminders_become_one_message_per_recipient_and_day(monday_morning, sms_outbox):
    # given a mother booking for herself and her son (one phone), a third patient,
    # and the mother's booking on another day
    mother = factories.PatientFactory()
    son = factories.PatientFactory(account=mother.account, relationship="child", real_name="小明")
    other = factories.PatientFactory()
    session = factories.SessionFactory(date=datetime.date(2026, 11, 25), starts_at=at(25, 8, 0))
    dept2 = factories.SessionFactory(date=datetime.date(2026, 11, 25), starts_at=at(25, 8, 0))
    first = book(mother, slot_on(25, 10, session=session))
    second = book(son, slot_on(25, 8, session=dept2))
    third = book(other, slot_on(25, 9, session=session))
    book(mother, slot_on(27, 9))

    # when the evening before comes
    monday_morning.move_to(at(24, 17, 59))
    assert services.reminders_release_due() == 0
    monday_morning.move_to(at(24, 18, 0))
    released = services.reminders_release_due()

    # then one message for the family (both bookings, in time order), one for the other
    assert released == 2
    reminders = OutboxMessage.objects.filter(kind="booking_reminder").order_by("pk")
    family, single = reminders
    assert family.recipient == mother.phone
    assert [item["code"] for item in family.context["items"]] == [second.code, first.code]
    assert single.context["code"] == third.code
    assert Reminder.objects.filter(status=Reminder.Status.RELEASED).count() == 3
    assert Reminder.objects.filter(status=Reminder.Status.SCHEDULED).count() == 1
    # released once: a second run writes nothing
    assert services.reminders_release_due() == 0
    assert OutboxMessage.objects.filter(kind="booking_reminder").count() == 2


def test_a_day_s_later_reminder_goes_with_the_first_one_due(monday_morning):
    # given two same-day bookings whose two-hour reminders fall at 12:00 and 14:00
    patient = factories.PatientFactory()
    book(patient, slot_on(23, 14, online=1))
    other_session = factories.SessionFactory(date=datetime.date(2026, 11, 23), starts_at=at(23, 13))
    book(
        factories.PatientFactory(account=patient.account),
        slot_on(23, 16, session=other_session),
    )
    assert sorted(Reminder.objects.values_list("due_at", flat=True)) == [at(23, 12), at(23, 14)]

    # when the first is due, both go in one message
    monday_morning.move_to(at(23, 12, 0))
    assert services.reminders_release_due() == 1
    (message,) = OutboxMessage.objects.filter(kind="booking_reminder")
    assert len(message.context["items"]) == 2
    monday_morning.move_to(at(23, 14, 0))
    assert services.reminders_release_due() == 0


def test_a_reminder_released_after_its_appointment_started_expires(monday_morning):
    book(factories.PatientFactory(), slot_on(23, 14))
    monday_morning.move_to(at(23, 14, 0))
    assert services.reminders_release_due() == 0
    assert Reminder.objects.get().status == Reminder.Status.EXPIRED
