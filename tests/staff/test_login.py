"""Staff sign-in in one step: name, password and code; one answer for every failure;
lock-out by the pair of user and address."""

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from tests.staff.conftest import PASSWORD, code_now, staff_with_password, totp_device

LOGIN = "/admin/login/"
GENERIC = "Please enter a correct username, password and verification code."
pytestmark = pytest.mark.usefixtures("otp_required", "clock")


def post_login(client, username, password=PASSWORD, code="", address="10.0.0.1", **extra):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "otp_token": code, "next": "/admin/"},
        REMOTE_ADDR=address,
        **extra,
    )


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


@pytest.fixture
def alice(db):
    user = staff_with_password(username="alice")
    totp_device(user)
    return user


def test_a_right_password_and_code_sign_in_verified_for_the_browser_session(client, alice):
    device = alice.totpdevice_set.get()

    response = post_login(client, "alice", code=code_now(device))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.session.get_expire_at_browser_close() is True
    assert client.get("/admin/").status_code == 200


def test_wrong_password_and_right_password_with_wrong_code_answer_identically(client, alice):
    device = alice.totpdevice_set.get()
    wrong_code = f"{(int(code_now(device)) + 1) % 1000000:06d}"

    wrong_password = post_login(client, "alice", password="not-it", code=code_now(device))
    wrong_code_response = post_login(client, "alice", code=wrong_code)
    missing_code = post_login(client, "alice", code="")

    assert wrong_password.status_code == wrong_code_response.status_code == 200
    assert missing_code.status_code == 200
    assert GENERIC in wrong_password.content.decode()
    assert without_csrf(wrong_password) == without_csrf(wrong_code_response)
    assert without_csrf(wrong_password) == without_csrf(missing_code)
    assert "_auth_user_id" not in client.session
    # each of them counted once towards the lock-out
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 3


def test_a_backup_code_signs_in_once(client, alice):
    backup = StaticDevice.objects.create(user=alice, name="backup", confirmed=True)
    StaticToken.objects.create(device=backup, token="abcd2345")

    first = post_login(client, "alice", code="abcd2345")
    client.logout()
    second = post_login(client, "alice", code="abcd2345")

    assert first.status_code == 302
    assert second.status_code == 200
    assert GENERIC in second.content.decode()


def test_an_unconfirmed_device_is_no_second_factor(client, db):
    bob = staff_with_password(username="bob")
    device = totp_device(bob, confirmed=False)

    response = post_login(client, "bob", code=code_now(device))

    assert response.status_code == 200
    assert GENERIC in response.content.decode()


def test_a_patient_account_with_a_password_never_signs_in_here(client, db):
    from tests.factories import AccountFactory

    patient = AccountFactory(username="13800001111")
    patient.set_password(PASSWORD)
    patient.save()
    device = totp_device(patient)

    response = post_login(client, "13800001111", code=code_now(device))

    assert response.status_code == 200
    assert GENERIC in response.content.decode()


def test_in_development_the_code_may_be_left_out(client, alice, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = False

    response = post_login(client, "alice")

    assert response.status_code == 302
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_in_development_a_wrong_code_given_still_fails(client, alice, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = False

    response = post_login(client, "alice", code="000000")

    assert response.status_code == 200
    assert GENERIC in response.content.decode()


# --- lock-out --------------------------------------------------------------------------


def fail_five_times(client, username, address="10.0.0.1", **extra):
    responses = [
        post_login(client, username, code="000000", address=address, **extra) for _ in range(5)
    ]
    return responses


def test_five_failures_lock_the_pair_with_a_clear_page(client, alice):
    device = alice.totpdevice_set.get()

    responses = fail_five_times(client, "alice")
    locked = post_login(client, "alice", code=code_now(device))

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    content = locked.content.decode()
    assert "Sign-in paused" in content
    assert "30 minutes" in content
    assert "_auth_user_id" not in client.session


def test_the_lock_out_page_speaks_chinese(client, alice):
    fail_five_times(client, "alice")

    response = post_login(client, "alice", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 429
    assert '<html lang="zh-hans"' in response.content.decode()


def test_another_user_at_the_same_address_still_signs_in(client, alice):
    fail_five_times(client, "alice")
    carol = staff_with_password(username="carol")
    device = totp_device(carol)

    response = post_login(client, "carol", code=code_now(device))

    assert response.status_code == 302


def test_the_same_user_from_another_address_still_signs_in(client, alice):
    fail_five_times(client, "alice", address="10.0.0.1")
    device = alice.totpdevice_set.get()

    response = post_login(client, "alice", code=code_now(device), address="10.0.0.2")

    assert response.status_code == 302


def test_the_lock_out_ends_after_30_minutes(client, alice, clock):
    fail_five_times(client, "alice")
    device = alice.totpdevice_set.get()

    clock.shift(datetime.timedelta(minutes=29))
    still = post_login(client, "alice", code=code_now(device))
    clock.shift(datetime.timedelta(minutes=31))
    later = post_login(client, "alice", code=code_now(device))

    assert still.status_code == 429
    assert later.status_code == 302


def test_a_forwarded_address_from_a_client_that_is_not_our_proxy_is_ignored(client, alice):
    device = alice.totpdevice_set.get()
    for n in range(5):
        post_login(client, "alice", code="000000", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    response = post_login(
        client, "alice", code=code_now(device), HTTP_X_FORWARDED_FOR="198.51.100.99"
    )

    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.1"}


def test_behind_our_proxy_the_forwarded_address_is_the_client(client, alice, settings):
    settings.YUYUE_TRUSTED_PROXIES = ["10.0.0.254"]
    device = alice.totpdevice_set.get()
    fail_five_times(client, "alice", address="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.5")

    other_desk = post_login(
        client,
        "alice",
        code=code_now(device),
        address="10.0.0.254",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )

    assert other_desk.status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


def test_the_login_page_asks_for_all_three_fields(client, db):
    response = client.get(LOGIN)

    content = response.content.decode()
    assert response.status_code == 200
    for name in ("username", "password", "otp_token"):
        assert f'name="{name}"' in content
    assert 'autocomplete="one-time-code"' in content


def test_a_signed_in_staff_member_is_sent_on_from_the_login_page(client, alice):
    from tests.staff.conftest import sign_in_verified

    sign_in_verified(client, alice)

    response = client.get(LOGIN + "?next=/admin/booking/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/booking/"


def test_next_off_site_is_ignored(client, alice):
    device = alice.totpdevice_set.get()

    response = client.post(
        LOGIN,
        {
            "username": "alice",
            "password": PASSWORD,
            "otp_token": code_now(device),
            "next": "https://evil.example/",
        },
        REMOTE_ADDR="10.0.0.1",
    )

    assert response["Location"] == reverse("admin:index")
