"""The idle-session script: a form sent after the session ended is stopped, says so and
keeps what was typed; while the session lives it goes through."""

import pytest
from django.contrib.sessions.models import Session as DjangoSession
from django.test import Client
from playwright.sync_api import Browser, expect

from booking.models import Closure
from tests.e2e.conftest import browser_type_launch_args  # noqa: F401 (Debian's Chromium)
from tests.factories import DepartmentFactory, StaffFactory

NOTICE = "白内障专科医生不足，线上预约暂停，请到窗口挂号。"


def _signed_in_page(browser: Browser, live_server):
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    context = browser.new_context(locale="en-GB")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context, context.new_page()


@pytest.fixture
def short_sessions(settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = False
    # The script acts 15 s before the server's limit: 16 s leaves it 1 s of grace.
    settings.YUYUE_STAFF_SESSION_IDLE_SECONDS = 16


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_form_sent_after_the_session_ended_is_kept_on_the_page(
    live_server, browser: Browser, short_sessions
):
    department = DepartmentFactory()
    context, page = _signed_in_page(browser, live_server)
    try:
        page.goto(live_server.url + "/admin/booking/closure/add/")
        page.select_option("#id_scope", "department")
        page.select_option("#id_department", str(department.pk))
        page.fill("#id_notice", NOTICE)
        expect(page.get_by_role("alertdialog")).to_be_visible(timeout=5000)  # the warning
        DjangoSession.objects.all().delete()  # the server has ended the session
        page.wait_for_timeout(1500)

        page.click("input[name=_save]")

        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_contain_text("You have been signed out")
        expect(
            dialog.get_by_role("link", name="Sign in again (opens a new tab)")
        ).to_have_attribute("target", "_blank")
        assert page.url.endswith("/admin/booking/closure/add/")
        expect(page.locator("#id_notice")).to_have_value(NOTICE)
        assert not Closure.objects.exists()
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_stay_signed_in_keeps_the_session_and_the_form_goes_through(
    live_server, browser: Browser, short_sessions
):
    context, page = _signed_in_page(browser, live_server)
    try:
        page.goto(live_server.url + "/admin/booking/notice/add/")
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_be_visible(timeout=5000)
        with page.expect_response(lambda r: r.url.endswith("/admin/keepalive")) as answer:
            dialog.get_by_role("button", name="Stay signed in").click()
        assert answer.value.status == 204
        page.wait_for_timeout(1500)  # past the script's deadline again

        with page.expect_request(
            lambda r: r.method == "POST" and r.url.endswith("/admin/booking/notice/add/")
        ) as sent:
            page.click("input[name=_save]")

        # the session lived: after the check the form was sent, with the button pressed
        assert "_save=" in (sent.value.post_data or "")
        page.wait_for_load_state()
        expect(page.locator(".yuyue-session--expired")).to_have_count(0)
    finally:
        context.close()
