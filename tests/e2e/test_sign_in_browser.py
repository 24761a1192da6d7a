"""Sign-in by phone and SMS code in Debian's Chromium: the code from the outbox, `next`
resumed, the accessibility budget on both pages, the resend countdown."""

import datetime
import functools

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patients.models import Account, SignInCode
from tests.e2e import a11y
from tests.patients.helpers import last_code

pytestmark = [pytest.mark.browser, pytest.mark.axe, pytest.mark.django_db(transaction=True)]

PHONE = "13912345678"


new_page = functools.partial(a11y.new_page, width=320, height=720)


@pytest.mark.parametrize(
    ("language", "text_size"), [("zh-hans", "normal"), ("en", "normal"), ("zh-hans", "xlarge")]
)
def test_sign_in_with_the_code_from_the_sms(live_server, browser, language, text_size):
    context, page = new_page(browser, live_server, language=language, text_size=text_size)
    step = "/status?from=booking"
    try:
        page.goto(f"{live_server.url}/account/sign-in?next=%2Fstatus%3Ffrom%3Dbooking")
        assert a11y.reflow_at(page) == []
        a11y.assert_accessible(page, text_size=text_size)
        page.locator("#id_phone").fill("12345")
        page.locator("button[type=submit].button--primary").click()
        expect(page.locator(".error-summary")).to_be_visible()
        a11y.assert_no_axe_violations(page)

        page.locator("#id_phone").fill("139 1234 5678")
        page.locator("#id_language_1").check()  # English, for the new account
        page.locator("button[type=submit].button--primary").click()

        expect(page.locator("#id_code")).to_have_attribute("autocomplete", "one-time-code")
        expect(page.locator("#resend-button")).to_be_disabled()
        assert a11y.reflow_at(page) == []
        a11y.assert_accessible(page, text_size=text_size)
        page.locator("#id_code").fill(last_code(PHONE))
        page.locator("button[type=submit].button--primary").click()

        page.wait_for_url(live_server.url + step)
        assert Account.objects.get(phone=PHONE).language == "en"
        expect(page.locator("html")).to_have_attribute("lang", "en")
    finally:
        context.close()


def test_the_resend_button_wakes_up_when_the_minute_is_over(live_server, browser):
    context, page = new_page(browser, live_server, language="en")
    try:
        page.goto(f"{live_server.url}/account/sign-in")
        page.locator("#id_phone").fill(PHONE)
        page.locator("button[type=submit].button--primary").click()
        expect(page.locator("#resend-button")).to_be_disabled()
        # A code sent 57 seconds ago: the page says 3 s, and the script counts down.
        SignInCode.objects.filter(phone=PHONE).update(
            created_at=timezone.now() - datetime.timedelta(seconds=57)
        )
        page.reload()
        expect(page.locator("#resend-wait")).to_contain_text("You can ask for a new code in")
        expect(page.locator("#resend-button")).to_be_enabled(timeout=6000)
        expect(page.locator("#resend-ready")).to_have_text("You can ask for a new code now.")
        page.locator("#resend-button").click()
        expect(page.locator(".account-status")).to_have_text("A new code is on its way.")
        assert SignInCode.objects.filter(phone=PHONE).count() == 2
    finally:
        context.close()
