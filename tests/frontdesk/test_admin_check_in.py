"""The bookings list's "check in" action is the desk's check-in: the patient joins the
day's queue, as from the check-in page (frontdesk hands its service to the admin)."""

import pytest

from frontdesk.models import QueueTicket
from tests.booking.conftest import clock  # noqa: F401
from tests.booking.test_admin_bookings import act, desk, desk_client, today  # noqa: F401

pytestmark = pytest.mark.django_db


def test_checking_in_from_the_bookings_list_puts_the_patient_in_the_queue(desk_client, today):  # noqa: F811
    first, second, _ = today

    act(desk_client, "check_in_bookings", [second, first])

    tickets = QueueTicket.objects.filter(booking__in=[first, second]).order_by("position")
    assert [(t.booking_id, t.number, t.state) for t in tickets] == [
        (first.pk, first.queue_number, "waiting"),
        (second.pk, second.queue_number, "waiting"),
    ]
