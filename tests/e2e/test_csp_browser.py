"""The Content-Security-Policy breaks no page: Chromium reports no violation on the
patient pages, the waiting-room board, the admin and the desk (ticket, queue) and the API
docs page, and each page's own scripts still run under it."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from booking.services import booking_create
from clinics.models import Channel
from tests.e2e import a11y
from tests.factories import (
    SHANGHAI,
    DepartmentFactory,
    DoctorFactory,
    PatientFactory,
    RoomFactory,
    SessionFactory,
    slot_with_quotas,
)
from tests.staff.conftest import PASSWORD, staff_with_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every violation the page reports, from the first script on.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def violations(page, console: list[str]) -> list[str]:
    seen = page.evaluate("window.__cspViolations || []")
    return seen + [line for line in console if "Content Security Policy" in line]


def test_no_page_reports_a_violation(live_server, browser, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = False
    today = timezone.localdate()
    start = datetime.datetime.combine(today, datetime.time(23, 0), tzinfo=SHANGHAI)
    department = DepartmentFactory(code="cataract", name="白内障专科", name_en="Cataract clinic")
    room = RoomFactory(department=department, code="3-12", name="第12诊室", name_en="Room 12")
    session = SessionFactory(
        doctor=DoctorFactory(department=department),
        room=room,
        date=today,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=59),
    )
    slot = slot_with_quotas(session=session, starts_at=start, online=2, walkin=2)
    patient = PatientFactory()
    booking = booking_create(
        patient=patient, slot=slot, channel=Channel.ONLINE, requested_by=patient.account
    )
    staff = staff_with_password(is_superuser=True)

    context, page = a11y.new_page(browser, live_server, language="en")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    context.add_init_script(RECORD_VIOLATIONS)
    url = live_server.url
    try:
        for path in ("/", "/clinics/", "/clinics/cataract/", "/status", "/account/sign-in"):
            page.goto(url + path)
            assert violations(page, console) == [], path

        page.goto(f"{url}/board/3-12/")  # board.js fetches its data: connect-src 'self'
        expect(page.locator("[data-board-current]")).to_be_visible()
        page.wait_for_timeout(500)
        assert violations(page, console) == [], violations(page, console)

        page.goto(f"{url}/admin/login/")
        page.fill("input[name=username]", staff.username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form [type=submit]").click()
        expect(page.locator("#site-name")).to_be_visible()
        for path in (
            "/admin/",
            "/admin/frontdesk/queueticket/desk/walk-in/",
            f"/admin/frontdesk/queueticket/desk/ticket/{booking.pk}/",
            "/admin/frontdesk/queueticket/desk/queue/",
            f"/admin/frontdesk/queueticket/desk/queue/{session.pk}/",
            "/admin/booking/booking/",
            f"/admin/clinics/session/{session.pk}/change/",
        ):
            page.goto(url + path)
            assert violations(page, console) == [], path

        # the ticket's Print button is a static script now, not an onclick attribute
        page.goto(f"{url}/admin/frontdesk/queueticket/desk/ticket/{booking.pk}/")
        page.evaluate("window.print = () => { window.__printed = true; }")
        page.get_by_role("button", name="Print").click()
        assert page.evaluate("window.__printed === true")
        # and the queue pages are styled from the static file
        page.goto(f"{url}/admin/frontdesk/queueticket/desk/queue/{session.pk}/")
        line_height = page.evaluate(
            "getComputedStyle(document.querySelector('.queue-page') || document.body).lineHeight"
        )
        assert line_height != "normal"

        page.goto(f"{url}/api/v1/docs")
        expect(page.locator("h1").first).to_contain_text("Yuyue API", timeout=15000)
        page.wait_for_timeout(500)
        # Redoc's "API docs by Redocly" logo comes from its CDN: blocking it is the point
        # (nothing is loaded from elsewhere); the page works without it.
        seen = [v for v in violations(page, console) if "https://cdn.redoc.ly/" not in v]
        assert seen == [], seen
    finally:
        context.close()
