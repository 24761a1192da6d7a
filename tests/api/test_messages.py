"""The account's inbox over the API (notifications/apis.py): its own messages, newest
first, each with the booking it speaks of; never a sign-in code, never another's."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from booking import services
from notifications.models import OutboxMessage
from notifications.services import message_enqueue
from patients.models import Account
from tests import factories
from tests.api.test_mine_bookings import api_client, assert_holds_nothing_of, book
from tests.booking.conftest import NOW
from tests.booking.test_create import slot_in

pytestmark = pytest.mark.django_db

MESSAGES = reverse("api-messages")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_my_messages_newest_first_with_their_booking(clock):
    patient = factories.PatientFactory()
    Account.objects.filter(pk=patient.account_id).update(language="en")
    booking = book(patient, slot_in(1))
    clock.shift(datetime.timedelta(minutes=1))
    services.booking_cancel(booking=booking, requested_by=patient.account)
    clock.shift(datetime.timedelta(minutes=1))
    message_enqueue(
        kind="sign_in_code",
        dedupe_key="sign-in:1",
        recipient=patient.account.phone,
        language="en",
        context={"code": "482913"},
        account_id=patient.account_id,
    )
    stranger = factories.PatientFactory(real_name="李别人")
    theirs = book(stranger, slot_in(2), key="theirs")
    cancelled, confirmed = OutboxMessage.objects.filter(
        account=patient.account, kind__startswith="booking"
    ).order_by("-created_at")
    OutboxMessage.objects.filter(pk=confirmed.pk).update(read_at=timezone.now())

    response = api_client(patient.account).get(MESSAGES)

    assert response.status_code == 200
    body = response.json()
    assert [(m["id"], m["kind"], m["read"], m["booking_code"]) for m in body] == [
        (cancelled.pk, "booking_cancelled", False, booking.code),
        (confirmed.pk, "booking_confirmed", True, booking.code),
    ]
    assert body[1]["text"].startswith(f"[Yuyue] Booking {booking.code} confirmed")
    assert body[1]["created_at"] == timezone.localtime(confirmed.created_at).isoformat()
    assert_holds_nothing_of(response, "482913", theirs.code, stranger.real_name)


def test_messages_are_for_patient_accounts_only(clock):
    staff = factories.StaffFactory()

    assert api_client(staff).get(MESSAGES).status_code == 403
    assert api_client(factories.AccountFactory()).get(MESSAGES).json() == []
