"""The printed ticket: what it says, that it prints on one small page, who may open it."""

import pytest
import time_machine
from django.urls import reverse

from tests import factories
from tests.booking.conftest import NOW
from tests.booking.test_create import book
from tests.frontdesk.test_walkin import DESK_PERMISSIONS, TODAY, at, client_for, desk_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk():
    return desk_user(*DESK_PERMISSIONS)


@pytest.fixture
def desk_client(desk):
    return client_for(desk)


@pytest.fixture
def booking(clock, staff):
    doctor = factories.DoctorFactory(name="刘芳", name_en="Liu Fang")
    session = factories.SessionFactory(
        date=TODAY,
        starts_at=at(10),
        ends_at=at(12),
        doctor=doctor,
        room=factories.RoomFactory(department=doctor.department, code="A203", name="诊室3"),
    )
    slot = factories.slot_with_quotas(session=session, walkin=2)
    patient = factories.PatientFactory(real_name="王秀英")
    return book(patient, slot, channel="walkin", by=staff)


def test_the_ticket_has_number_place_time_masked_name_code_and_qr(desk_client, booking, settings):
    settings.YUYUE_HOSPITAL_NAME = "示范医院眼科中心"

    page = desk_client.get(reverse("admin:frontdesk_ticket", args=[booking.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "示范医院眼科中心" in html
    assert f'<p class="ticket__number">{booking.queue_number}</p>' in html
    assert f"<dd>{booking.department}</dd>" in html
    assert "<dd>Liu Fang</dd>" in html
    assert "<dd>A203 诊室3</dd>" in html
    assert "<dd>2026-11-23</dd>" in html
    assert "<dd>10:00–10:30</dd>" in html
    assert "<dd>王*英</dd>" in html
    assert "王秀英" not in html
    assert f'<dd class="ticket__code">{booking.code}</dd>' in html
    assert f'aria-label="QR code of booking code {booking.code}"' in html
    assert 'class="ticket__qr"' in html and "<path" in html
    # the Print button works from a static script (no inline script under the CSP)
    assert "data-print" in html
    assert "js/print-button.js" in html
    assert "css/desk.css" in html


def test_the_ticket_prints_on_an_80_mm_page():
    from django.contrib.staticfiles import finders

    with open(finders.find("css/desk.css"), encoding="utf-8") as stylesheet:
        css = stylesheet.read()

    assert "@media print" in css
    assert "size: 80mm" in css


def test_the_ticket_opens_for_walkin_or_check_in_staff_only(booking):
    url = reverse("admin:frontdesk_ticket", args=[booking.pk])

    assert client_for(desk_user("book_phone")).get(url).status_code == 403
    assert client_for(desk_user("check_in")).get(url).status_code == 200
    assert client_for(desk_user("book_walkin")).get(url).status_code == 200
    assert (
        client_for(desk_user("book_walkin"))
        .get(reverse("admin:frontdesk_ticket", args=[booking.pk + 1000]))
        .status_code
        == 404
    )
