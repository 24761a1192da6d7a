import datetime
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def clock():
    """Time stands still at NOW unless a test moves it (`clock.move_to(...)`)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def otp_required(settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True


def staff_with_password(**kwargs):
    user = StaffFactory(**kwargs)
    user.set_password(PASSWORD)
    user.save()
    return user


def totp_device(user, *, confirmed: bool = True) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=confirmed)


def code_now(device: TOTPDevice) -> str:
    """The code the person's app shows now (under time-machine: the frozen now)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def sign_in_verified(client, user) -> None:
    """A session signed in with a password and a second factor (what the login makes)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Sign-in tests check many passwords; the real hasher's cost is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
