"""The waiting-room board in Debian's Chromium at 1920x1080: a call at the desk shows on
the board within five seconds, without a reload; the board passes the accessibility
budget. `YUYUE_SCREENSHOTS=1` writes docs/screenshots/queue-board.png.

The live server runs in real time, so the clinic is made for today: a session from
00:30 to 23:59 (Beijing time), booked at 00:05 under a frozen clock.
"""

import datetime
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from booking.services import booking_create
from clinics.models import Channel
from frontdesk import services
from tests.e2e import a11y
from tests.factories import (
    DepartmentFactory,
    DoctorFactory,
    PatientFactory,
    RoomFactory,
    SessionFactory,
    StaffFactory,
    slot_with_quotas,
)

pytestmark = [pytest.mark.browser, pytest.mark.axe, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCREENSHOTS = os.environ.get("YUYUE_SCREENSHOTS") == "1"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NAMES = ["王小明", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵丽华"]


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def room_queue():
    """Room 3-12 today: seven patients checked in, number 1 called."""
    today = timezone.localdate()
    cataract = DepartmentFactory(code="cataract", name="白内障专科", name_en="Cataract clinic")
    room = RoomFactory(department=cataract, code="3-12", name="第12诊室", name_en="Room 12")
    doctor = DoctorFactory(department=cataract, name="王建国", name_en="Wang Jianguo")
    session = SessionFactory(
        doctor=doctor, room=room, date=today, starts_at=at(today, 0, 30), ends_at=at(today, 23, 59)
    )
    slot = slot_with_quotas(session=session, starts_at=at(today, 23, 29), online=10)
    desk = StaffFactory()
    with time_machine.travel(at(today, 0, 5), tick=False):
        bookings = []
        for name in NAMES:
            patient = PatientFactory(real_name=name)
            bookings.append(
                booking_create(
                    patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
                )
            )
    for booking in bookings:
        services.queue_check_in(booking=booking, checked_in_by=desk)
    services.queue_call_next(session=session, called_by=desk)
    return session, desk


def test_the_board_shows_the_next_call_within_five_seconds(live_server, browser, room_queue):
    session, desk = room_queue
    context, page = a11y.new_page(browser, live_server, width=1920, height=1080)
    try:
        page.goto(f"{live_server.url}/board/3-12/")
        number = page.locator("[data-board-number]")
        expect(number).to_have_text("1")
        expect(page.locator("[data-board-name]")).to_have_text("王*明")
        expect(page.locator(".board__item-number")).to_have_text(["2", "3", "4", "5", "6"])

        # when the desk calls the next patient
        services.queue_call_next(session=session, called_by=desk)

        # then the board shows number 2 within five seconds, and the next five move up
        expect(number).to_have_text("2", timeout=5000)
        expect(page.locator("[data-board-name]")).to_have_text("李*英")
        expect(page.locator(".board__item-number")).to_have_text(
            ["3", "4", "5", "6", "7"], timeout=5000
        )
        expect(page.locator("[data-board-current]")).to_have_attribute("aria-live", "polite")
        # readable across the room: the called number is at least a fifth of the screen high
        height = number.bounding_box()["height"]
        assert height >= 1080 / 3, height
        # and the whole board fits the screen: nothing to scroll to
        assert page.evaluate("document.documentElement.scrollHeight") <= 1080
        if SCREENSHOTS:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOT_DIR / "queue-board.png")

        a11y.assert_accessible(page)
    finally:
        context.close()


def test_an_empty_board_is_accessible(live_server, browser, db):
    RoomFactory(code="5-01", name="第1诊室", name_en="Room 1")
    context, page = a11y.new_page(browser, live_server, width=1920, height=1080)
    try:
        page.goto(f"{live_server.url}/board/5-01/")
        expect(page.locator("[data-board-nobody]")).to_be_visible()
        a11y.assert_accessible(page)
    finally:
        context.close()
