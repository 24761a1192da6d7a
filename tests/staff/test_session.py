"""Staff sessions end with the browser and after 30 minutes without a request."""

import datetime

import pytest
from django.contrib.messages import get_messages

from tests.factories import AccountFactory
from tests.staff.conftest import code_now, sign_in_verified, staff_with_password, totp_device

pytestmark = pytest.mark.usefixtures("otp_required")
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def signed_in(client, db, clock):
    """Signed in through the login form, as a person would."""
    user = staff_with_password(username="dana", is_superuser=True)
    device = totp_device(user)
    response = client.post(
        "/admin/login/",
        {"username": "dana", "password": "a-long-staff-password-1", "otp_token": code_now(device)},
    )
    assert response.status_code == 302
    return user


def test_the_session_cookie_ends_with_the_browser(client, signed_in):
    assert client.session.get_expire_at_browser_close() is True
    assert client.get("/admin/").status_code == 200


def test_each_request_within_30_minutes_keeps_the_session(client, signed_in, clock):
    for _ in range(3):
        clock.shift(29 * MINUTE)
        assert client.get("/admin/").status_code == 200


def test_after_30_idle_minutes_the_session_ends_and_sign_in_says_why(client, signed_in, clock):
    clock.shift(31 * MINUTE)

    response = client.get("/admin/booking/closure/?reason=capacity")

    assert response.status_code == 302
    assert response["Location"] == (
        "/admin/login/?next=%2Fadmin%2Fbooking%2Fclosure%2F%3Freason%3Dcapacity"
    )
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"])
    assert "You were signed out after 30 minutes without activity." in page.content.decode()


def test_the_keepalive_moves_the_idle_clock(client, signed_in, clock):
    clock.shift(25 * MINUTE)
    assert client.get("/admin/keepalive").status_code == 204
    clock.shift(25 * MINUTE)

    assert client.get("/admin/").status_code == 200


def test_an_expired_keepalive_is_not_204(client, signed_in, clock):
    clock.shift(31 * MINUTE)

    response = client.get("/admin/keepalive")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_an_idle_session_calling_the_staff_api_is_refused_signed_out(client, signed_in, clock):
    clock.shift(31 * MINUTE)

    response = client.get("/api/v1/staff/closures")

    assert response.status_code == 401  # signed out: the API asks for credentials
    assert "_auth_user_id" not in client.session
    assert [str(m) for m in get_messages(response.wsgi_request)] == []


def test_a_session_made_without_the_form_gets_the_same_limits(client, db, clock):
    user = staff_with_password(username="erin", is_superuser=True)
    sign_in_verified(client, user)

    assert client.get("/admin/").status_code == 200
    assert client.session.get_expire_at_browser_close() is True
    clock.shift(31 * MINUTE)
    assert client.get("/admin/").status_code == 302


def test_patients_keep_their_own_session_rules(client, db, clock):
    patient = AccountFactory()
    client.force_login(patient)

    client.get("/")

    assert "staff_last_seen" not in client.session
    assert client.session.get_expire_at_browser_close() is False


def test_the_admin_pages_load_the_session_script_with_the_limits(client, signed_in):
    content = client.get("/admin/").content.decode()

    assert "admin/js/yuyue-session.js" in content
    assert 'data-idle-seconds="1800"' in content
    assert 'data-keepalive-url="/admin/keepalive"' in content
    assert "admin/css/yuyue.css" in content


def test_the_login_page_has_no_session_script(client, db):
    content = client.get("/admin/login/").content.decode()

    assert "admin/css/yuyue.css" in content
    assert "yuyue-session.js" not in content
