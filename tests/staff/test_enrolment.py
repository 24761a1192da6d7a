"""Setting up a second factor: an admin makes a one-time link, the person scans the QR
code, confirms with their password and a code, gets backup codes once, then signs in."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff import services
from tests.factories import StaffFactory
from tests.staff.conftest import PASSWORD, code_now, sign_in_verified, staff_with_password

pytestmark = pytest.mark.usefixtures("otp_required", "clock")


@pytest.fixture
def newcomer(db):
    return staff_with_password(username="fang")


def enrol_path(token: str) -> str:
    return reverse("staff:enrol", args=[token])


def test_end_to_end_from_the_admin_button_to_signing_in(client, newcomer, clock):
    # given an administrator with a second factor
    boss = StaffFactory(is_superuser=True)
    sign_in_verified(client, boss)

    # when they make the link from the account's page
    page = client.get(reverse("admin:patients_account_change", args=[newcomer.pk]))
    two_factor_url = reverse("admin:patients_account_two_factor", args=[newcomer.pk])
    assert two_factor_url in page.content.decode()
    made = client.post(two_factor_url)
    link = re.search(r'value="http://testserver(/admin/enrol/[^"]+/)"', made.content.decode())
    client.logout()

    # and the newcomer opens it, scans the code, confirms with password and a code
    shown = client.get(link.group(1))
    device = TOTPDevice.objects.get(user=newcomer)
    assert shown.status_code == 200
    assert "<svg" in shown.content.decode()
    assert device.confirmed is False
    clock.shift(datetime.timedelta(seconds=30))
    done = client.post(link.group(1), {"password": PASSWORD, "otp_token": code_now(device)})

    # then the device is confirmed, ten backup codes are shown once
    device.refresh_from_db()
    assert device.confirmed is True
    codes = list(StaticToken.objects.filter(device__user=newcomer).values_list("token", flat=True))
    assert len(codes) == 10
    content = done.content.decode()
    assert all(code in content for code in codes)
    assert "_auth_user_id" not in client.session  # asked to sign in, not signed in
    # and the link is dead
    assert client.get(link.group(1)).status_code == 410
    # and signing in with the app's code works
    clock.shift(datetime.timedelta(seconds=30))
    response = client.post(
        "/admin/login/",
        {"username": "fang", "password": PASSWORD, "otp_token": code_now(device)},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_password_or_code_confirms_nothing(client, newcomer):
    device, token = services.totp_enrolment_start(account=newcomer)

    wrong_password = client.post(
        enrol_path(token), {"password": "nope", "otp_token": code_now(device)}
    )
    wrong_code = client.post(enrol_path(token), {"password": PASSWORD, "otp_token": "000000"})

    assert wrong_password.status_code == wrong_code.status_code == 200
    assert "That password or code is not right." in wrong_code.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not StaticDevice.objects.filter(user=newcomer).exists()


def test_the_link_dies_after_72_hours(client, newcomer, clock):
    _device, token = services.totp_enrolment_start(account=newcomer)

    clock.shift(datetime.timedelta(hours=71))
    assert client.get(enrol_path(token)).status_code == 200
    clock.shift(datetime.timedelta(hours=2))
    response = client.get(enrol_path(token))

    assert response.status_code == 410
    assert "This set-up link no longer works" in response.content.decode()


def test_a_newer_link_replaces_the_older_one(client, newcomer):
    _first, old_token = services.totp_enrolment_start(account=newcomer)
    _second, new_token = services.totp_enrolment_start(account=newcomer)

    assert client.get(enrol_path(old_token)).status_code == 410
    assert client.get(enrol_path(new_token)).status_code == 200
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1


def test_a_forged_link_shows_nothing(client, newcomer):
    device, token = services.totp_enrolment_start(account=newcomer)
    forged = token.replace(f"{device.pk}:", f"{device.pk + 1}:")

    assert client.get(enrol_path(forged)).status_code == 410
    assert client.get(enrol_path("not-a-token")).status_code == 410


def test_confirming_replaces_the_lost_phone_and_the_old_backup_codes(newcomer):
    old, _token = services.totp_enrolment_start(account=newcomer)
    services.totp_enrolment_confirm(device=old)
    new, _token = services.totp_enrolment_start(account=newcomer)

    codes = services.totp_enrolment_confirm(device=new)

    assert list(TOTPDevice.objects.filter(user=newcomer)) == [new]
    assert StaticDevice.objects.filter(user=newcomer).count() == 1
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=newcomer).values_list("token", flat=True)
    )


def test_a_confirmed_device_cannot_be_confirmed_twice(newcomer):
    device, _token = services.totp_enrolment_start(account=newcomer)
    services.totp_enrolment_confirm(device=device)

    with pytest.raises(ValueError):
        services.totp_enrolment_confirm(device=device)
    assert StaticToken.objects.filter(device__user=newcomer).count() == 10


def test_only_active_staff_get_a_link(db):
    from tests.factories import AccountFactory

    with pytest.raises(ValueError):
        services.totp_enrolment_start(account=AccountFactory())
    assert not TOTPDevice.objects.exists()


def test_the_action_needs_the_device_permission(client, newcomer):
    # a staff member who may change accounts but not set up devices
    clerk = StaffFactory()
    clerk.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="patients", codename__in=["view_account", "change_account"]
        )
    )
    sign_in_verified(client, clerk)
    two_factor_url = reverse("admin:patients_account_two_factor", args=[newcomer.pk])

    page = client.get(reverse("admin:patients_account_change", args=[newcomer.pk]))
    refused = client.post(two_factor_url)
    listing = client.get(reverse("admin:patients_account_changelist"))

    assert two_factor_url not in page.content.decode()
    assert refused.status_code == 403
    assert "set_up_two_factor" not in listing.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer).exists()

    # with otp_totp.add_totpdevice they may
    clerk.user_permissions.add(Permission.objects.get(codename="add_totpdevice"))
    made = client.post(
        reverse("admin:patients_account_changelist"),
        {"action": "set_up_two_factor", "_selected_action": [newcomer.pk]},
    )
    assert made.status_code == 200
    assert "/admin/enrol/" in made.content.decode()
    assert TOTPDevice.objects.filter(user=newcomer, confirmed=False).count() == 1


def test_the_enrolment_page_needs_no_session_but_the_keepalive_does(client, newcomer):
    _device, token = services.totp_enrolment_start(account=newcomer)

    assert client.get(enrol_path(token)).status_code == 200
    assert client.get("/admin/keepalive").status_code == 302
