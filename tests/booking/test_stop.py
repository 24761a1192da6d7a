"""Stopping a session [停诊]: bookings cancelled by the hospital, patients told once."""

import datetime

import pytest

from booking import services
from booking.models import Booking, HeldPlace, WaitlistEntry
from booking.selectors import session_alternatives
from clinics.models import Channel, ClinicLevel, HalfDay, Quota, Session
from notifications.models import OutboxMessage
from patients.models import Account, NoShow
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.helpers import assert_books_balance, capacity_per_slot, snapshot
from tests.booking.test_create import book, refused, slot_in

pytestmark = pytest.mark.django_db

KIND = "booking_cancelled_by_hospital"


def session_on(day: datetime.date, *, doctor, hour: int, half_day=HalfDay.MORNING, online=2):
    starts = datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=SHANGHAI)
    session = factories.SessionFactory(doctor=doctor, date=day, half_day=half_day, starts_at=starts)
    factories.slot_with_quotas(session=session, online=online, walkin=1)
    return session


def stop(session, staff, reason="医生临时出诊任务"):
    return services.session_stop(session=session, reason=reason, stopped_by=staff)


def test_stop_cancels_every_active_booking_by_the_hospital(clock, staff):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department, online=2, phone=1, walkin=1)
    later = factories.slot_with_quotas(
        session=slot.session, starts_at=slot.starts_at + datetime.timedelta(minutes=30), online=2
    )
    online = [book(factories.PatientFactory(), s) for s in (slot, slot, later)]
    phone = book(factories.PatientFactory(), slot, channel=Channel.PHONE, by=staff)
    checked_in = online[1]
    Booking.objects.filter(pk=checked_in.pk).update(status=Booking.Status.CHECKED_IN)
    earlier_cancel = book(factories.PatientFactory(), later)
    services.booking_cancel(
        booking=earlier_cancel, requested_by=staff, reason="患者来电取消"
    )  # held back
    waiting = services.waitlist_join(
        patient=factories.PatientFactory(), session=slot.session, requested_by=staff
    )
    elsewhere = book(factories.PatientFactory(), slot_in(1, online=1))
    totals = capacity_per_slot()

    result = stop(slot.session, staff)

    assert result == services.StopResult(
        stopped=True, bookings_cancelled=4, waitlist_closed=1, notified=4
    )
    session = Session.objects.get(pk=slot.session_id)
    assert (session.status, session.stopped_at, session.stop_reason) == (
        Session.Status.STOPPED,
        NOW,
        "医生临时出诊任务",
    )
    for booking in [*online, phone]:
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED_BY_HOSPITAL
        assert booking.cancelled_at == NOW
    elsewhere.refresh_from_db()
    assert elsewhere.status == Booking.Status.CONFIRMED
    # places go back to their quotas, not to the waitlist and not held back
    assert [
        (q.channel, q.booked, q.held)
        for q in Quota.objects.filter(slot__session=session).order_by("slot__starts_at", "channel")
    ] == [("online", 0, 0), ("phone", 0, 0), ("walkin", 0, 0), ("online", 0, 1)]
    assert HeldPlace.objects.count() == 1
    assert capacity_per_slot() == totals
    waiting.refresh_from_db()
    assert (waiting.status, waiting.closed_at) == (WaitlistEntry.Status.CLOSED, NOW)
    assert NoShow.objects.count() == 0
    assert_books_balance()


def test_each_patient_is_told_once_and_a_second_stop_tells_nobody(clock, staff):
    slot = slot_in(1, online=3)
    bookings = [book(factories.PatientFactory(), slot) for _ in range(3)]
    stop(slot.session, staff)
    messages = OutboxMessage.objects.filter(kind=KIND)
    assert sorted(m.dedupe_key for m in messages) == sorted(
        f"booking:{b.pk}:{KIND}" for b in bookings
    )
    assert sorted(m.account_id for m in messages) == sorted(b.patient.account_id for b in bookings)
    before = snapshot()

    again = stop(slot.session, staff, reason="another reason")

    assert again == services.StopResult(stopped=False)
    assert snapshot() == before
    assert Session.objects.get(pk=slot.session_id).stop_reason == "医生临时出诊任务"


def test_message_carries_the_reason_and_up_to_three_alternatives(clock, staff):
    department = factories.DepartmentFactory()
    doctor = factories.DoctorFactory(department=department, name_en="Wang Li")
    tomorrow = NOW.date() + datetime.timedelta(days=1)
    stopped = session_on(tomorrow, doctor=doctor, hour=8)
    next_own = session_on(tomorrow + datetime.timedelta(days=2), doctor=doctor, hour=8)
    session_on(tomorrow + datetime.timedelta(days=4), doctor=doctor, hour=8)  # not the next
    colleagues = [
        factories.DoctorFactory(department=department, level=ClinicLevel.EXPERT) for _ in range(3)
    ]
    same_day = [
        session_on(tomorrow, doctor=colleagues[0], hour=14, half_day=HalfDay.AFTERNOON),
        session_on(tomorrow, doctor=colleagues[1], hour=9),
    ]
    full = session_on(tomorrow, doctor=colleagues[2], hour=10, online=1)
    book(factories.PatientFactory(), full.slots.get())
    general = factories.DoctorFactory(department=department, level=ClinicLevel.GENERAL)
    session_on(tomorrow, doctor=general, hour=8)  # another level
    session_on(tomorrow, doctor=factories.DoctorFactory(), hour=8)  # another department

    assert session_alternatives(session=stopped) == [next_own, same_day[1], same_day[0]]
    assert session_alternatives(session=stopped, limit=1) == [next_own]

    english = factories.PatientFactory(account__language=Account.Language.EN)
    booking = book(english, stopped.slots.get())
    stop(stopped, staff, reason="The doctor is ill")

    context = OutboxMessage.objects.get(kind=KIND).context
    assert context["code"] == booking.code
    assert context["patient"] == english.real_name
    assert context["department"] == department.name_en
    assert context["doctor"] == "Wang Li"
    assert context["when"] == "2026-11-24 08:00"
    assert context["reason"] == "The doctor is ill"
    assert context["alternatives"] == [
        {"doctor": "Wang Li", "when": "2026-11-26 08:00", "level": "Expert"},
        {"doctor": colleagues[1].name_en, "when": "2026-11-24 09:00", "level": "Expert"},
        {"doctor": colleagues[0].name_en, "when": "2026-11-24 14:00", "level": "Expert"},
    ]


def test_stopped_session_takes_no_booking_and_no_waitlist(clock, staff, patient):
    slot = slot_in(1, online=2)
    stop(slot.session, staff)
    refused("session_stopped", lambda: book(patient, slot))
    refused(
        "session_stopped",
        lambda: services.waitlist_join(
            patient=patient, session=slot.session, requested_by=patient.account
        ),
    )


def test_stop_needs_a_reason(clock, staff):
    slot = slot_in(1)
    book(factories.PatientFactory(), slot)
    refused("stop_reason_required", lambda: stop(slot.session, staff, reason="  "))


def test_completed_and_cancelled_bookings_stay_as_they_are(clock, staff):
    slot = slot_in(0, hour=14, online=3)
    done = book(factories.PatientFactory(), slot)
    Booking.objects.filter(pk=done.pk).update(status=Booking.Status.COMPLETED)
    gone = book(factories.PatientFactory(), slot)
    services.booking_cancel(booking=gone, requested_by=gone.patient.account)

    assert stop(slot.session, staff).bookings_cancelled == 0
    assert sorted(Booking.objects.values_list("status", flat=True)) == [
        "cancelled_by_patient",
        "completed",
    ]
    assert_books_balance()


def test_admin_stop_session_form(clock, admin_client):
    from django.urls import reverse

    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    slot = slot_in(1, online=2)
    booking = book(factories.PatientFactory(), slot)
    url = reverse("admin:booking_stop_session")

    page = admin_client.get(url, {"session": slot.session_id})
    assert page.status_code == 200
    assert "Stop session" in page.content.decode()

    refused_page = admin_client.post(url, {"session": slot.session_id, "reason": ""})
    assert refused_page.status_code == 200
    assert Session.objects.get(pk=slot.session_id).status == Session.Status.OPEN

    # the form asks for a confirmation first: nothing is stopped yet
    confirm = admin_client.post(url, {"session": slot.session_id, "reason": "医生病假"})
    assert confirm.status_code == 200
    assert "1 booking will be cancelled by the hospital" in confirm.content.decode()
    assert Session.objects.get(pk=slot.session_id).status == Session.Status.OPEN

    done = admin_client.post(
        url, {"session": slot.session_id, "reason": "医生病假", "confirm": "yes"}
    )
    assert done.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED_BY_HOSPITAL
    assert Session.objects.get(pk=slot.session_id).stop_reason == "医生病假"


def test_stop_session_page_needs_the_right(clock, client, staff):
    from django.urls import reverse

    client.force_login(staff)
    response = client.get(reverse("admin:booking_stop_session"))
    assert response.status_code in (302, 403)


def test_a_stop_late_at_night_reaches_tomorrows_patients_at_once(clock, staff):
    clock.move_to(NOW.replace(hour=22, minute=0))  # quiet hours
    tomorrow = book(factories.PatientFactory(), slot_in(1, hour=8))
    later = book(factories.PatientFactory(), slot_in(3, hour=8))

    stop(tomorrow.session, staff)
    stop(later.session, staff)

    urgent = OutboxMessage.objects.get(dedupe_key=f"booking:{tomorrow.pk}:{KIND}")
    assert (urgent.urgent, urgent.due_at) == (True, NOW.replace(hour=22, minute=0))
    waits = OutboxMessage.objects.get(dedupe_key=f"booking:{later.pk}:{KIND}")
    assert waits.urgent is False
    assert waits.due_at == (NOW + datetime.timedelta(days=1)).replace(hour=8, minute=0)
