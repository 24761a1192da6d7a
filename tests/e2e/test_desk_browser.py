"""The front desk in Debian's Chromium against the live server: a desk member signs in
with password and authenticator code in one step, registers a walk-in patient who has
no phone, books today's walk-in place and opens the ticket to print. Each page is
axe-clean.

The clock is moved to a Monday 09:00 in Beijing (ticking), so today's 10:00 session has
walk-in places whatever the hour the suite runs. `YUYUE_SCREENSHOTS=1` writes
docs/screenshots/desk-walkin.png and desk-ticket.png.
"""

import datetime
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from booking.models import Booking
from booking.services import booking_create
from clinics.models import Channel, Quota
from frontdesk.services import queue_check_in
from patients.models import Patient
from staff.roles import roles_sync
from tests.e2e import a11y
from tests.e2e.test_signs_browser import pdf_pages
from tests.factories import (
    DepartmentFactory,
    PatientFactory,
    SessionFactory,
    StaffFactory,
    resident_id,
    slot_with_quotas,
)

pytestmark = [pytest.mark.browser, pytest.mark.axe, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime.datetime(2027, 3, 1, 9, 0, tzinfo=SHANGHAI)
SCREENSHOTS = os.environ.get("YUYUE_SCREENSHOTS") == "1"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "desk-Secret-2027!"  # a test account's


def _desk_member():
    """A staff member in the front-desk role (its group when the staff app made it, else
    the same permissions given directly), with a confirmed authenticator."""
    user = StaffFactory(username="desk1")
    user.set_password(PASSWORD)
    user.save()
    # The role's group (staff/migrations/0001_roles), again after a transactional
    # test's flush emptied the table.
    roles_sync(group_model=Group, permission_model=Permission)
    user.groups.add(Group.objects.get(name="front_desk"))
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)


def test_a_walkin_without_a_phone_is_registered_booked_and_given_a_ticket(
    live_server, browser, settings
):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    with time_machine.travel(MONDAY_9, tick=True):
        # given today's 10:00 session with walk-in places, and a desk member
        department = DepartmentFactory(name="白内障专科", name_en="Cataract clinic")
        start = MONDAY_9.replace(hour=10)
        session = SessionFactory(
            doctor__department=department,
            doctor__name="刘芳",
            doctor__name_en="Liu Fang",
            date=start.date(),
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=2),
        )
        for band in range(2):
            slot_with_quotas(
                session=session,
                starts_at=start + datetime.timedelta(minutes=30 * band),
                online=2,
                walkin=2,
            )
        user, device = _desk_member()
        context, page = a11y.new_page(browser, live_server, language="en")
        try:
            # when the desk member signs in with name, password and code in one step
            page.goto(f"{live_server.url}/admin/frontdesk/queueticket/desk/walk-in/")
            expect(page.locator("input[name=otp_token]")).to_be_visible()
            page.fill("input[name=username]", user.username)
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=otp_token]", f"{totp(device.bin_key):06d}")
            page.locator("form [type=submit]").click()
            expect(page.locator("h2#desk-search-heading")).to_be_visible()
            a11y.assert_no_axe_violations(page)

            # and registers a walk-in patient without a phone
            page.get_by_role("link", name="New patient").click()
            page.fill("#id_real_name", "赵敏")
            page.select_option("#id_document_type", "resident_id")
            page.fill("#id_document_number", resident_id(birth_date=datetime.date(1950, 5, 6)))
            page.get_by_role("button", name="Register").click()
            expect(page.locator(".desk-patient")).to_contain_text("赵敏")
            patient = Patient.objects.get(real_name="赵敏")
            assert patient.account.phone is None

            # then chooses the department and books the session's walk-in place
            page.select_option("#id_department", str(department.pk))
            page.get_by_role("button", name="Show sessions").click()
            book = page.get_by_role("button", name="Book Liu Fang, 10:00–10:30")
            expect(book).to_be_visible()
            a11y.assert_no_axe_violations(page)
            _shot(page, "desk-walkin")
            book.click()

            # and sees the ticket: number, code, QR code, a Print button
            expect(page.locator(".ticket__number")).to_have_text("1")
            booking = Booking.objects.get()
            assert (booking.patient, booking.channel) == (patient, Channel.WALKIN)
            assert Quota.objects.get(slot=booking.slot, channel=Channel.WALKIN).booked == 1
            expect(page.locator(".ticket__code")).to_have_text(booking.code)
            expect(page.locator("svg.ticket__qr")).to_be_visible()
            expect(page.get_by_role("button", name="Print")).to_be_visible()
            a11y.assert_no_axe_violations(page)
            _shot(page, "desk-ticket")
            # printed: one small receipt page (the stylesheet's 80 mm @page)
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
            assert pdf_pages(pdf) == 1
            width = page.evaluate(
                "() => { const r = document.querySelector('.ticket').getBoundingClientRect();"
                " return r.width; }"
            )
            assert 290 <= width <= 310  # 80 mm at 96 px per inch: 302 px

            # when two online patients are already waiting (one aged 85: priority) and
            # the walk-in patient checks in with the code from the ticket
            for name, born in (
                ("钱伟", datetime.date(1980, 1, 1)),
                ("孙丽", datetime.date(1940, 1, 1)),
            ):
                other = PatientFactory(real_name=name, birth_date=born)
                queue_check_in(
                    booking=booking_create(
                        patient=other,
                        slot=booking.slot,
                        channel=Channel.ONLINE,
                        requested_by=other.account,
                    ),
                    checked_in_by=user,
                )
            page.goto(f"{live_server.url}/admin/frontdesk/queueticket/desk/check-in/")
            page.fill("#id_q", booking.code)
            page.get_by_role("button", name="Check in", exact=True).click()
            expect(page.locator(".messagelist")).to_contain_text(str(booking.queue_number))

            # then the session's queue shows the priority patient first, and calls her
            page.goto(f"{live_server.url}/admin/frontdesk/queueticket/desk/queue/{session.pk}/")
            page.get_by_role("button", name="Call the next patient").click()
            called = page.locator("#queue-called-title").locator("xpath=..")
            expect(called).to_contain_text("3 孙丽")
            a11y.assert_no_axe_violations(page)
            _shot(page, "desk-queue")
        finally:
            context.close()
