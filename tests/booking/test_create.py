"""booking_create: each rule refuses with its code and changes nothing."""

import datetime

import pytest
from django.utils import translation

from booking import services
from booking.models import Booking
from clinics.models import Channel, Session
from core.errors import YuyueError
from notifications.models import OutboxMessage
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.helpers import assert_books_balance, snapshot

pytestmark = pytest.mark.django_db


def session_in(days: int, *, department=None, hour: int = 8, **kwargs) -> Session:
    date = NOW.date() + datetime.timedelta(days=days)
    extra = {"doctor__department": department} if department else {}
    return factories.SessionFactory(
        date=date,
        starts_at=datetime.datetime.combine(date, datetime.time(hour, 0), tzinfo=SHANGHAI),
        **extra,
        **kwargs,
    )


def slot_in(days: int = 1, *, department=None, hour: int = 8, online: int = 3, **quotas):
    session = session_in(days, department=department, hour=hour)
    return factories.slot_with_quotas(session=session, online=online, **quotas)


def book(patient, slot, *, channel=Channel.ONLINE, by=None, key=None):
    return services.booking_create(
        patient=patient,
        slot=slot,
        channel=channel,
        requested_by=by or patient.account,
        idempotency_key=key,
    )


def refused(code: str, call) -> YuyueError:
    before = snapshot()
    with pytest.raises(YuyueError) as info:
        call()
    assert info.value.code == code, info.value
    assert snapshot() == before, "a refusal must change nothing"
    return info.value


def test_booking_takes_one_place_and_writes_its_confirmation(clock, patient):
    slot = slot_in(1)

    booking = book(patient, slot, key="k1")

    assert booking.status == Booking.Status.CONFIRMED
    assert booking.channel == Channel.ONLINE
    assert booking.booked_by == Booking.BookedBy.PATIENT
    assert booking.queue_number == 1
    assert booking.visit_date == slot.session.date
    assert booking.department_id == slot.session.department_id
    assert len(booking.code) == services.CODE_LENGTH
    assert set(booking.code) <= set(services.CODE_ALPHABET)
    assert slot.quotas.get(channel=Channel.ONLINE).booked == 1
    message = OutboxMessage.objects.get()
    assert message.kind == "booking_confirmed"
    assert message.dedupe_key == f"booking:{booking.pk}:booking_confirmed"
    assert message.context["code"] == booking.code
    assert message.context["queue_number"] == 1
    assert message.context["when"] == "2026-11-24 08:00"
    assert_books_balance()


def test_queue_numbers_count_up_within_a_session(clock):
    slot = slot_in(1)
    later = factories.slot_with_quotas(
        session=slot.session, starts_at=slot.starts_at + datetime.timedelta(minutes=30), online=3
    )
    numbers = [book(factories.PatientFactory(), s).queue_number for s in (slot, later, slot)]
    assert numbers == [1, 2, 3]


def test_staff_books_phone_and_walkin_channels(clock, staff, patient):
    today_slot = slot_in(0, hour=14, walkin=2)
    booking = book(patient, today_slot, channel=Channel.WALKIN, by=staff)
    assert booking.booked_by == Booking.BookedBy.STAFF
    assert booking.requested_by == staff
    assert today_slot.quotas.get(channel=Channel.WALKIN).booked == 1


def test_slot_full(clock, patient):
    slot = slot_in(1, online=1)
    book(factories.PatientFactory(), slot)
    refused("slot_full", lambda: book(patient, slot))


def test_channel_without_quota_is_full(clock, staff, patient):
    slot = slot_in(1, online=3)  # no phone quota row at all
    refused("slot_full", lambda: book(patient, slot, channel=Channel.PHONE, by=staff))


def test_outside_window(clock, patient):
    slot = slot_in(8)
    refused("outside_window", lambda: book(patient, slot))


def test_newest_day_opens_at_release_time(clock, patient):
    slot = slot_in(7)
    clock.move_to(NOW.replace(hour=6, minute=59))
    error = refused("not_yet_released", lambda: book(patient, slot))
    assert "07:00" in error.detail
    clock.move_to(NOW.replace(hour=7, minute=0))
    assert book(patient, slot).status == Booking.Status.CONFIRMED


def test_slot_started(clock, patient):
    slot = slot_in(0, hour=9)  # starts exactly now
    refused("slot_started", lambda: book(patient, slot))


def test_today_later_slot_books(clock, patient):
    assert book(patient, slot_in(0, hour=10)).visit_date == NOW.date()


def test_session_stopped(clock, patient):
    slot = slot_in(1)
    Session.objects.filter(pk=slot.session_id).update(status=Session.Status.STOPPED)
    refused("session_stopped", lambda: book(patient, slot))


def test_one_booking_per_patient_per_session(clock, patient):
    slot = slot_in(1)
    other_slot = factories.slot_with_quotas(
        session=slot.session, starts_at=slot.starts_at + datetime.timedelta(minutes=30), online=3
    )
    book(patient, slot)
    refused("already_booked_session", lambda: book(patient, other_slot))


def test_one_booking_per_department_per_day(clock, patient):
    department = factories.DepartmentFactory()
    book(patient, slot_in(1, department=department))
    afternoon = slot_in(1, department=department, hour=14)
    refused("duplicate_department_day", lambda: book(patient, afternoon))
    # another department the same day is fine
    assert book(patient, slot_in(1, hour=14)).status == Booking.Status.CONFIRMED


def test_at_most_two_bookings_per_visit_day(clock, patient):
    book(patient, slot_in(1, hour=8))
    book(patient, slot_in(1, hour=10))
    third = slot_in(1, hour=14)
    refused("daily_limit", lambda: book(patient, third))


def test_at_most_three_bookings_in_any_seven_days(clock, patient):
    for days in (1, 2, 3):
        book(patient, slot_in(days))
    fourth = slot_in(5)
    refused("weekly_limit", lambda: book(patient, fourth))


def test_weekly_limit_counts_windows_ahead_of_the_day_too(clock, patient):
    for days in (3, 5, 7):
        book(patient, slot_in(days))
    # day 1 and days 3..7 fit in one 7-day window
    earlier = slot_in(1)
    refused("weekly_limit", lambda: book(patient, earlier))


def test_cancelled_bookings_do_not_count_towards_limits(clock, patient):
    department = factories.DepartmentFactory()
    first = book(patient, slot_in(1, department=department))
    services.booking_cancel(booking=first, requested_by=patient.account)
    assert book(patient, slot_in(1, department=department, hour=14)).status == "confirmed"


def test_department_policy_overrides_defaults_and_is_inherited(clock, patient):
    parent = factories.DepartmentFactory()
    glaucoma = factories.DepartmentFactory(parent=parent)
    retina = factories.DepartmentFactory(parent=parent)
    factories.BookingPolicyFactory(department=parent, max_per_day=1)
    book(patient, slot_in(1, department=glaucoma))
    elsewhere = slot_in(1, department=retina, hour=14)
    refused("daily_limit", lambda: book(patient, elsewhere))
    # a department outside the tree keeps the default of two a day
    assert book(patient, slot_in(1, hour=16)).status == "confirmed"


def test_suspended_patient_cannot_book_online_but_can_walk_in(clock, staff):
    patient = factories.PatientFactory(suspended_until=NOW.date() + datetime.timedelta(days=30))
    slot = slot_in(1)
    error = refused("patient_suspended", lambda: book(patient, slot))
    assert "2026" in error.detail
    walkin = slot_in(0, hour=14, walkin=1)
    assert book(patient, walkin, channel=Channel.WALKIN, by=staff).status == "confirmed"


def test_suspension_ends(clock, patient):
    patient.suspended_until = NOW.date() - datetime.timedelta(days=1)
    patient.save()
    assert book(patient, slot_in(1)).status == "confirmed"


def test_not_your_patient(clock, patient):
    stranger = factories.AccountFactory()
    slot = slot_in(1)
    refused("not_your_patient", lambda: book(patient, slot, by=stranger))


def test_patients_book_only_online(clock, patient):
    slot = slot_in(1, phone=1)
    refused("channel_not_allowed", lambda: book(patient, slot, channel=Channel.PHONE))


def test_walkin_is_for_today_only(clock, staff, patient):
    slot = slot_in(1, walkin=1)
    refused("walkin_same_day", lambda: book(patient, slot, channel=Channel.WALKIN, by=staff))


def test_reserved_follow_ups_ignore_window_and_patient_limits(clock, staff, patient):
    for days in (1, 2, 3):
        book(patient, slot_in(days))
    follow_up = slot_in(10, reserved=1)
    booking = book(patient, follow_up, channel=Channel.RESERVED, by=staff)
    assert booking.channel == Channel.RESERVED


def test_same_idempotency_key_returns_the_same_booking(clock, patient):
    slot = slot_in(1)
    first = book(patient, slot, key="double-click")
    again = book(patient, slot, key="double-click")
    assert again.pk == first.pk
    assert Booking.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert slot.quotas.get(channel=Channel.ONLINE).booked == 1


def test_idempotency_key_reused_for_another_slot_is_refused(clock, patient):
    book(patient, slot_in(1), key="k")
    other = slot_in(2)
    refused("idempotency_key_reused", lambda: book(patient, other, key="k"))


def test_idempotency_keys_are_per_account(clock):
    slot = slot_in(1)
    a, b = factories.PatientFactory(), factories.PatientFactory()
    assert book(a, slot, key="same").pk != book(b, slot, key="same").pk


def test_refusal_message_in_chinese(clock, patient):
    slot = slot_in(1, online=1)
    book(factories.PatientFactory(), slot)
    with translation.override("zh-hans"):
        with pytest.raises(YuyueError) as info:
            book(patient, slot)
        assert info.value.code == "slot_full"
        assert "已约满" in info.value.detail


def test_confirmation_is_published_after_commit_and_sent_once(
    clock, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking = book(patient, slot_in(1))
    # One publish after commit (beside the cache's and the metrics' own callbacks).
    assert len([c for c in callbacks if c.__module__ == "notifications.services"]) == 1
    message = OutboxMessage.objects.get(dedupe_key=f"booking:{booking.pk}:booking_confirmed")
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1


def test_a_walkin_without_any_phone_gets_no_message_to_nowhere(clock, staff):
    # given a patient registered at the desk with no phone on the patient or account
    account = factories.AccountFactory(username="desk-0a1b2c3d4e5f", phone=None)
    patient = factories.PatientFactory(account=account, phone="")

    booking = book(patient, slot_in(0, hour=14, walkin=1), channel=Channel.WALKIN, by=staff)

    # then the printed ticket is the confirmation: no outbox row that can only fail
    assert booking.status == "confirmed"
    assert not OutboxMessage.objects.exists()
