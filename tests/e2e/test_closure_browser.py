"""Ops close online booking for a department in the admin; the status page tells patients."""

import pytest
from playwright.sync_api import Browser, expect

from booking.models import Closure
from tests.factories import DepartmentFactory, StaffFactory

PASSWORD = "a-long-test-password-1"
NOTICE = "白内障专科医生不足，线上预约暂停，请到窗口挂号。"
NOTICE_EN = (
    "Too few cataract doctors today: online booking is paused, please register at the windows."
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_ops_close_online_booking_in_the_admin_and_the_status_page_lists_it(
    live_server, browser: Browser, settings
):
    # given a sub-clinic, and an ops user (a superuser; no second factor in development)
    settings.YUYUE_ADMIN_REQUIRE_OTP = False
    ophthalmology = DepartmentFactory(code="ophthalmology", name="眼科", name_en="Ophthalmology")
    cataract = DepartmentFactory(
        code="cataract", name="白内障专科", name_en="Cataract clinic", parent=ophthalmology
    )
    DepartmentFactory(code="glaucoma", name="青光眼专科", name_en="Glaucoma clinic")
    ops = StaffFactory(username="ops", is_superuser=True)
    ops.set_password(PASSWORD)
    ops.save()

    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        # when ops sign in through the admin's login form
        page.goto(live_server.url + "/admin/login/")
        page.fill("#id_username", "ops")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#site-name")).to_be_visible()

        # and close online booking for the cataract clinic, with a notice
        page.goto(live_server.url + "/admin/booking/closure/add/")
        page.select_option("#id_scope", "department")
        page.select_option("#id_department", str(cataract.pk))
        expect(page.locator("#id_online")).to_be_checked()
        page.select_option("#id_reason", "capacity")
        page.fill("#id_notice", NOTICE)
        page.fill("#id_notice_en", NOTICE_EN)
        page.click("input[name=_save]")

        # then the closure is saved and listed with its printable sign
        expect(page.locator(".messagelist .success")).to_be_visible()
        closure = Closure.objects.get()
        assert (closure.scope, closure.department_id, closure.channels()) == (
            "department",
            cataract.pk,
            ["online"],
        )
        assert closure.created_by_id == ops.pk
        expect(page.locator(f'a[href="/signs/closure/{closure.pk}"]')).to_be_visible()

        # and the public status page lists it with its notice, without signing in
        public = browser.new_context(locale="en-GB")
        status_page = public.new_page()
        try:
            status_page.goto(live_server.url + "/status")
            expect(status_page.locator("html")).to_have_attribute("lang", "en")
            current = status_page.locator(f'.closure[data-closure="{closure.pk}"]')
            expect(current).to_contain_text(NOTICE_EN)
            expect(current).to_contain_text("Cataract clinic")
            card = status_page.locator('[data-department="cataract"]')
            expect(card.locator('[data-channel="online"]')).to_have_attribute(
                "data-state", "closed"
            )
            expect(card.locator('[data-channel="phone"]')).to_have_attribute("data-state", "open")
            glaucoma = status_page.locator('[data-department="glaucoma"]')
            expect(glaucoma.locator('[data-channel="online"]')).to_have_attribute(
                "data-state", "open"
            )
            # the banner on every page carries it too
            expect(status_page.locator(".banner")).to_contain_text(NOTICE_EN)
            # large text, and nothing scrolls sideways on a small phone
            size = status_page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert size >= 18
            status_page.set_viewport_size({"width": 320, "height": 800})
            assert status_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        finally:
            public.close()
    finally:
        context.close()
