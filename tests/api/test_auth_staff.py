"""Staff tokens: name, password and second factor, judged as at the admin login; one
answer for every failure, each counted towards the lock-out."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Permission
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from booking.models import Closure
from patients.authentication import token_hash
from patients.models import ApiToken
from tests import factories
from tests.staff.conftest import NOW, PASSWORD, code_now, staff_with_password, totp_device

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/staff-token"
GENERIC = {
    "code": "invalid_credentials",
    "detail": "Please enter a correct username, password and verification code.",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def otp_required(settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True


@pytest.fixture
def ops(db):
    user = staff_with_password(username="alice")
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="booking",
            codename__in=["view_closure", "add_closure", "change_closure"],
        )
    )
    totp_device(user)
    return user


def ask(client, username="alice", password=PASSWORD, code="", address="10.0.0.1"):
    return client.post(
        URL,
        {"username": username, "password": password, "otp_token": code},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_password_and_code_give_a_verified_token_for_12_hours(clock, otp_required, client, ops):
    response = ask(client, code=code_now(ops.totpdevice_set.get()))

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "token": body["token"],
        "expires_at": "2026-11-23T21:00:00+08:00",
        "second_factor": True,
    }
    row = ApiToken.objects.get()
    assert row.key_hash == token_hash(body["token"])
    assert (row.account, row.second_factor) == (ops, True)
    assert row.expires_at == NOW + datetime.timedelta(hours=12)
    assert not AccessAttempt.objects.filter(failures_since_start__gt=0).exists()


def test_a_verified_staff_token_reaches_the_staff_closures(clock, otp_required, client, ops):
    token = ask(client, code=code_now(ops.totpdevice_set.get())).json()["token"]
    department = factories.DepartmentFactory()

    created = client.post(
        "/api/v1/staff/closures",
        {
            "scope": "department",
            "target_id": department.pk,
            "channels": ["online"],
            "reason": "capacity",
            "notice": "暂停",
            "notice_en": "Paused",
        },
        content_type="application/json",
        **bearer(token),
    )
    listed = client.get("/api/v1/staff/closures", **bearer(token))

    assert created.status_code == 201, created.json()
    assert Closure.objects.get().created_by == ops
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [created.json()["id"]]


def test_the_token_ends_after_12_hours(clock, otp_required, client, ops):
    token = ask(client, code=code_now(ops.totpdevice_set.get())).json()["token"]

    clock.move_to(NOW + datetime.timedelta(hours=12))
    response = client.get("/api/v1/staff/closures", **bearer(token))

    assert response.status_code == 401


def test_a_backup_code_gives_a_token_once(clock, otp_required, client, ops):
    backup = StaticDevice.objects.create(user=ops, name="backup", confirmed=True)
    StaticToken.objects.create(device=backup, token="abcd2345")

    first = ask(client, code="abcd2345")
    second = ask(client, code="abcd2345")

    assert first.status_code == 201
    assert first.json()["second_factor"] is True
    assert second.status_code == 400
    assert second.json() == GENERIC


def test_every_failure_answers_alike_and_counts_for_the_lockout(clock, otp_required, client, ops):
    device = ops.totpdevice_set.get()

    wrong_password = ask(client, password="not-it", code=code_now(device))
    wrong_code = ask(client, code=f"{(int(code_now(device)) + 1) % 1000000:06d}")
    missing_code = ask(client, code="")
    unknown_name = ask(client, username="nobody", code=code_now(device))

    for response in (wrong_password, wrong_code, missing_code, unknown_name):
        assert response.status_code == 400
        assert response.json() == GENERIC
        assert response.content == wrong_password.content
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 3
    assert not ApiToken.objects.exists()


def test_a_password_only_staff_gets_no_token_where_a_code_is_required(clock, otp_required, client):
    staff_with_password(username="bob")  # no authenticator app confirmed

    without_code = ask(client, username="bob")
    with_a_code = ask(client, username="bob", code="123456")

    assert without_code.status_code == with_a_code.status_code == 400
    assert without_code.json() == with_a_code.json() == GENERIC
    assert not ApiToken.objects.exists()


def test_an_unconfirmed_device_does_not_count(clock, otp_required, client):
    user = staff_with_password(username="carol")
    device = totp_device(user, confirmed=False)

    response = ask(client, username="carol", code=code_now(device))

    assert response.json() == GENERIC
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("who", ["inactive", "not staff"])
def test_inactive_or_non_staff_accounts_get_no_token(clock, otp_required, client, who):
    user = staff_with_password(username="dave")
    device = totp_device(user)
    if who == "inactive":
        user.is_active = False
    else:
        user.is_staff = False
    user.save()

    response = ask(client, username="dave", code=code_now(device))

    assert response.json() == GENERIC
    assert not ApiToken.objects.exists()


def test_after_the_lockout_even_the_right_password_and_code_are_refused(
    clock, otp_required, client, ops, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        ask(client, password="not-it")

    response = ask(client, code=code_now(ops.totpdevice_set.get()))
    other_address = ask(client, code=code_now(ops.totpdevice_set.get()), address="10.0.0.2")

    assert response.status_code == 400
    assert response.json() == GENERIC
    assert response["Content-Type"] == "application/json"  # never the HTML lock-out page
    # The lock-out is for the pair of name and address.
    assert other_address.status_code == 201
    assert ApiToken.objects.count() == 1


def test_missing_fields_are_named(clock, otp_required, client):
    response = client.post(URL, {"username": "alice"}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == {"password"}
    assert not AccessAttempt.objects.exists()


def test_without_the_requirement_a_token_without_a_code_is_not_verified(clock, client, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = False
    user = staff_with_password(username="erin")
    user.user_permissions.set(Permission.objects.filter(codename="view_closure"))

    response = ask(client, username="erin")

    assert response.status_code == 201
    assert response.json()["second_factor"] is False
    token = response.json()["token"]
    assert ApiToken.objects.get().second_factor is False
    # Development: staff endpoints need no second factor, so the token works...
    assert client.get("/api/v1/staff/closures", **bearer(token)).status_code == 200
    # ...and never where one is required.
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    assert client.get("/api/v1/staff/closures", **bearer(token)).status_code == 403


def test_staff_sign_out_ends_the_staff_token(clock, otp_required, client, ops):
    token = ask(client, code=code_now(ops.totpdevice_set.get())).json()["token"]

    assert client.delete("/api/v1/auth/token", **bearer(token)).status_code == 204
    assert client.get("/api/v1/staff/closures", **bearer(token)).status_code == 401
