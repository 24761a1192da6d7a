"""The sign-in pages: phone → code → back to `next`; resend; sign-out; idle expiry."""

import datetime

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.urls import reverse

from notifications.models import OutboxMessage
from patients.models import Account, SignInCode
from tests.factories import AccountFactory
from tests.patients.helpers import NOW, frozen_clock, last_code, sign_in_by_code

pytestmark = pytest.mark.django_db
clock = pytest.fixture(frozen_clock, name="clock")

PHONE = "13912345678"
SIGN_IN = "/account/sign-in"
CODE = "/account/sign-in/code"
BOOKING_STEP = "/book/?department=3&doctor=any&day=2026-11-25"


def test_url_names():
    assert reverse("patients:sign-in") == SIGN_IN
    assert reverse("patients:sign-in-code") == CODE
    assert reverse("patients:sign-out") == "/account/sign-out"


def test_sign_in_page(client, clock, django_assert_num_queries):
    with django_assert_num_queries(2):  # the notices in the page's banner
        response = client.get(SIGN_IN, {"next": BOOKING_STEP})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'autocomplete="tel"' in html and 'inputmode="tel"' in html
    assert f'name="next" value="{BOOKING_STEP.replace("&", "&amp;")}"' in html
    # The page's language is the default choice.
    assert 'name="language" value="zh-hans" id="id_language_0">' in html
    assert 'name="language" value="en" id="id_language_1" checked>' in html
    assert "sessionid" not in response.cookies


def test_a_valid_phone_sends_a_code_and_opens_the_code_page(client, clock):
    response = client.post(SIGN_IN, {"phone": "139 1234 5678", "language": "en", "next": "/x"})

    assert response.status_code == 302
    assert response["Location"] == f"{CODE}?next=%2Fx"
    assert client.session["patients.sign_in_phone"] == PHONE
    assert client.session["patients.sign_in_language"] == "en"
    assert SignInCode.objects.get().language == "en"
    assert len(last_code(PHONE)) == 6


def test_an_invalid_phone_is_shown_next_to_the_field(client, clock):
    response = client.post(SIGN_IN, {"phone": "12345", "language": "zh-hans"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary" role="alert"' in html
    assert '<a href="#id_phone">Please enter a mainland China mobile number' in html
    assert 'aria-describedby="id_phone-help id_phone-error"' in html
    assert 'aria-invalid="true"' in html
    assert SignInCode.objects.count() == OutboxMessage.objects.count() == 0
    assert "patients.sign_in_phone" not in client.session


def test_the_daily_limit_is_shown_on_the_phone_page(client, clock):
    for minute in range(10):
        clock.move_to(NOW + datetime.timedelta(minutes=minute))
        client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})
    clock.move_to(NOW + datetime.timedelta(minutes=10))

    response = client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})

    assert response.status_code == 200
    assert "This phone has been sent 10 codes today" in response.content.decode()
    assert SignInCode.objects.count() == 10


def test_asking_again_within_the_minute_goes_to_the_code_page_without_a_new_code(client, clock):
    client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})

    response = client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})

    assert response.status_code == 302
    assert response["Location"] == CODE
    assert SignInCode.objects.count() == 1


def test_the_code_page_needs_a_phone_first(client, clock):
    response = client.get(CODE, {"next": "/y"})

    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next=%2Fy"


def test_code_page(client, clock, django_assert_num_queries):
    client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})
    clock.move_to(NOW + datetime.timedelta(seconds=18))

    # the session, the wait, the notices (2), the session's new expiry (3, in a savepoint)
    with django_assert_num_queries(7):
        response = client.get(CODE, {"next": BOOKING_STEP})

    html = response.content.decode()
    assert 'autocomplete="one-time-code"' in html
    assert 'inputmode="numeric"' in html
    assert "onpaste" not in html
    assert "ending in 5678" in html
    assert '<span data-template="You can ask for a new code in {n} s.">' in html
    assert "You can ask for a new code in 42 s." in html
    assert 'name="resend" value="1" id="resend-button"\n                disabled' in html
    assert f'name="next" value="{BOOKING_STEP.replace("&", "&amp;")}"' in html


def test_the_resend_button_is_enabled_after_a_minute(client, clock):
    client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})
    clock.move_to(NOW + datetime.timedelta(seconds=60))

    html = client.get(CODE).content.decode()

    assert "disabled" not in html
    assert "You can ask for a new code now." in html


def test_resend_too_soon_says_the_seconds_and_sends_nothing(client, clock):
    client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})
    clock.move_to(NOW + datetime.timedelta(seconds=20))

    response = client.post(CODE, {"resend": "1"})

    assert response.status_code == 200
    assert "You can ask again in 40 seconds." in response.content.decode()
    assert SignInCode.objects.count() == 1


def test_resend_after_a_minute_sends_a_new_code(client, clock):
    client.post(SIGN_IN, {"phone": PHONE, "language": "en"})
    first = last_code(PHONE)
    clock.move_to(NOW + datetime.timedelta(seconds=61))

    response = client.post(CODE, {"resend": "1", "next": "/z"})

    assert response.status_code == 302
    assert response["Location"] == f"{CODE}?next=%2Fz&sent=1"
    assert OutboxMessage.objects.filter(kind="sign_in_code").count() == 2
    assert SignInCode.objects.order_by("-pk").first().language == "en"
    assert "A new code is on its way." in client.get(response["Location"]).content.decode()
    assert last_code(PHONE) != first or SignInCode.objects.count() == 2


def test_signing_in_follows_next_and_rotates_the_session(client, clock):
    client.post(SIGN_IN, {"phone": PHONE, "language": "en", "next": BOOKING_STEP})
    key_before = client.session.session_key

    response = client.post(CODE, {"code": last_code(PHONE), "next": BOOKING_STEP})

    account = Account.objects.get(phone=PHONE)
    assert response.status_code == 302
    assert response["Location"] == BOOKING_STEP
    assert client.session[SESSION_KEY] == str(account.pk)
    assert client.session.session_key != key_before
    assert not Session.objects.filter(session_key=key_before).exists()
    assert "patients.sign_in_phone" not in client.session
    assert account.language == "en"
    assert response.cookies["django_language"].value == "en"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "http://testserver.evil.example/", SIGN_IN],
)
def test_an_off_site_next_is_ignored(client, clock, next_url):
    response = sign_in_by_code(client, PHONE, next_url=next_url)

    assert response["Location"] == "/"


def test_a_wrong_code_is_shown_next_to_the_field(client, clock):
    client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})
    wrong = f"{(int(last_code(PHONE)) + 1) % 10**6:06d}"

    response = client.post(CODE, {"code": wrong})

    html = response.content.decode()
    assert response.status_code == 200
    assert '<a href="#id_code">The code is not right.' in html
    assert "(4 tries left)" in html
    assert 'aria-describedby="id_code-help id_code-error"' in html
    assert SESSION_KEY not in client.session


def test_a_replayed_code_is_refused(client, clock):
    sign_in_by_code(client, PHONE)
    code = last_code(PHONE)
    other = type(client)()
    other.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})  # too soon: no new code

    response = other.post(CODE, {"code": code})

    assert response.status_code == 200
    assert "This code has expired or has already been used." in response.content.decode()
    assert SESSION_KEY not in other.session


def test_an_expired_code_is_refused(client, clock):
    client.post(SIGN_IN, {"phone": PHONE, "language": "zh-hans"})
    clock.move_to(NOW + datetime.timedelta(minutes=5))

    response = client.post(CODE, {"code": last_code(PHONE)})

    assert "This code has expired" in response.content.decode()
    assert Account.objects.count() == 0


def test_an_existing_account_keeps_its_language(client, clock):
    AccountFactory(phone=PHONE, username=PHONE, language="zh-hans")

    response = sign_in_by_code(client, PHONE, language="en")

    assert response.cookies["django_language"].value == "zh-hans"
    assert Account.objects.get().language == "zh-hans"


def test_a_next_that_is_itself_the_sign_in_page_is_unwrapped(client, clock):
    nested = f"{SIGN_IN}?next=%2Fbook%2F%3Fday%3D2026-11-25"

    response = sign_in_by_code(client, PHONE, next_url=nested)

    assert response["Location"] == "/book/?day=2026-11-25"


def test_a_signed_in_patient_is_sent_on_from_the_sign_in_page(client, clock):
    sign_in_by_code(client, PHONE)

    assert client.get(SIGN_IN, {"next": "/q"})["Location"] == "/q"


def test_sign_out_is_a_post(client, clock):
    sign_in_by_code(client, PHONE)

    assert client.get("/account/sign-out").status_code == 405
    assert SESSION_KEY in client.session
    response = client.post("/account/sign-out")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert SESSION_KEY not in client.session


def test_a_session_ends_after_30_idle_minutes_and_sign_in_resumes_the_step(client, clock):
    sign_in_by_code(client, PHONE)
    # Each request moves the expiry on: 29 + 29 minutes later still signed in.
    for minutes in (29, 58):
        clock.move_to(NOW + datetime.timedelta(minutes=minutes))
        assert client.get(SIGN_IN)["Location"] == "/"

    clock.move_to(NOW + datetime.timedelta(minutes=58 + 31))
    page = reverse("patients:patient-list")
    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next={page}"
    assert sign_in_by_code(client, PHONE, next_url=page)["Location"] == page


def test_the_start_page_writes_no_session(client, clock):
    response = client.get("/")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert Session.objects.count() == 0


def test_axes_lockouts_do_not_stop_patients(client, clock, settings):
    # A staff password guessed wrongly 5 times from this address: the address is locked
    # for staff sign-in, but patients signing in by code are not held up.
    AccessAttempt.objects.create(
        username="admin", ip_address="127.0.0.1", user_agent="", failures_since_start=5
    )

    response = sign_in_by_code(client, PHONE)

    assert response["Location"] == "/"
    assert SESSION_KEY in client.session
    assert AccessAttempt.objects.get().failures_since_start == 5  # the lockout stays
    assert AccessLog.objects.count() == 0
    client.post("/account/sign-out")
    assert AccessAttempt.objects.count() == 1


def test_only_patients_signed_in_by_code_get_the_idle_expiry(client, clock):
    sign_in_by_code(client, PHONE)

    assert client.session.get_expiry_age() == 30 * 60
    assert client.cookies["sessionid"]["max-age"] == 30 * 60
