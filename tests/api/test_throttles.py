"""The API's throttles: per address, per phone, per account; 429 in the one error shape
with Retry-After. The rates are lowered here; the defaults are in settings."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from core.api import ApiView, PatientAccount, Public
from core.throttles import AnonReadThrottle, BookingWriteThrottle
from patients.models import SignInCode
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rates(settings):
    """Every rate at 2 per period, so the third call is throttled."""

    def lower(**overrides):
        defaults = {
            "anon_read": "2/min",
            "sign_in_code_phone": "2/hour",
            "sign_in_code_address": "2/hour",
            "sign_in_address": "2/min",
            "booking_write": "2/min",
        }
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**defaults, **overrides},
        }

    lower()
    return lower


def assert_throttled(response, seconds: int) -> None:
    assert response.status_code == 429
    assert response.json() == {
        "code": "throttled",
        "detail": f"Request was throttled. Expected available in {seconds} seconds.",
    }
    assert response["Retry-After"] == str(seconds)


def test_the_default_rates():
    assert django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "anon_read": "120/min",
        "sign_in_code_phone": "5/hour",
        "sign_in_code_address": "30/hour",
        "sign_in_address": "20/min",
        "booking_write": "30/min",
    }
    assert django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "core.throttles.AnonReadThrottle"
    ]


def test_anonymous_reads_are_throttled_per_address(clock, rates, client):
    answers = [client.get("/api/v1/status").status_code for _ in range(2)]

    throttled = client.get("/api/v1/status")
    elsewhere = client.get("/api/v1/status", REMOTE_ADDR="10.1.1.1")

    assert answers == [200, 200]
    assert_throttled(throttled, 60)
    assert elsewhere.status_code == 200
    clock.move_to(NOW + MINUTE)
    assert client.get("/api/v1/status").status_code == 200


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(clock, rates, client):
    for n in range(2):
        client.get("/api/v1/status", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")

    response = client.get("/api/v1/status", HTTP_X_FORWARDED_FOR="10.9.9.99")

    assert response.status_code == 429


def test_behind_our_proxy_each_client_address_is_counted(clock, rates, client, settings):
    settings.YUYUE_TRUSTED_PROXIES = ["10.0.0.1"]
    proxied = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(2):
        client.get("/api/v1/status", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxied)

    same = client.get("/api/v1/status", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxied)
    other = client.get("/api/v1/status", HTTP_X_FORWARDED_FOR="203.0.113.6", **proxied)

    assert same.status_code == 429
    assert other.status_code == 200


def code(client, phone: str, address: str = "127.0.0.1"):
    return client.post(
        "/api/v1/auth/code", {"phone": phone}, content_type="application/json", REMOTE_ADDR=address
    )


def test_sign_in_codes_are_throttled_per_phone_across_addresses(clock, rates, client):
    first = code(client, "13800138000", "10.0.0.1")
    clock.move_to(NOW + 2 * MINUTE)
    second = code(client, "+86 138 0013 8000", "10.0.0.2")
    clock.move_to(NOW + 4 * MINUTE)
    before = SignInCode.objects.count()

    third = code(client, "138-0013-8000", "10.0.0.3")
    other_phone = code(client, "13900139000", "10.0.0.3")

    assert (first.status_code, second.status_code) == (202, 202)
    assert_throttled(third, 3360)  # an hour after the first
    assert SignInCode.objects.count() == before + 1  # only the other phone's
    assert other_phone.status_code == 202


def test_sign_in_codes_are_throttled_per_address(clock, rates, client):
    answers = [code(client, f"1380013800{n}").status_code for n in range(2)]

    throttled = code(client, "13800138009")

    assert answers == [202, 202]
    assert_throttled(throttled, 3600)
    assert SignInCode.objects.count() == 2


def test_refused_code_requests_count_too(clock, rates, client):
    code(client, "13800138000")
    code(client, "13800138000")  # code_too_soon, still counted

    assert code(client, "13800138000").json()["code"] == "throttled"


def test_token_tries_are_throttled_per_address(clock, rates, client):
    def try_code(address="127.0.0.1"):
        return client.post(
            "/api/v1/auth/token",
            {"phone": "13800138000", "code": "000000"},
            content_type="application/json",
            REMOTE_ADDR=address,
        )

    answers = [try_code().json()["code"] for _ in range(2)]

    assert answers == ["code_expired", "code_expired"]
    assert_throttled(try_code(), 60)
    assert try_code("10.0.0.9").json()["code"] == "code_expired"


def test_staff_token_tries_are_throttled_per_address(clock, rates, client):
    def try_password():
        return client.post(
            "/api/v1/auth/staff-token",
            {"username": "nobody", "password": "x", "otp_token": ""},
            content_type="application/json",
        )

    answers = [try_password().json()["code"] for _ in range(2)]

    assert answers == ["invalid_credentials"] * 2
    assert_throttled(try_password(), 60)


class WriteApi(ApiView):
    """A booking-like endpoint, as other engineers put the throttle on theirs."""

    access = {"GET": Public(), "POST": PatientAccount()}
    throttle_classes = [AnonReadThrottle, BookingWriteThrottle]

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True}, status=201)


def call(method: str, account=None, address: str = "127.0.0.1"):
    request = getattr(APIRequestFactory(), method)("/x", {}, format="json", REMOTE_ADDR=address)
    if account is not None:
        force_authenticate(request, user=account)
    return WriteApi.as_view()(request)


def test_booking_writes_are_throttled_per_account(clock, rates):
    a = factories.AccountFactory()
    b = factories.AccountFactory()

    answers = [call("post", a).status_code for _ in range(2)]
    throttled = call("post", a, address="10.0.0.5")
    reads = [call("get", a).status_code for _ in range(3)]
    other = call("post", b)

    assert answers == [201, 201]
    assert throttled.status_code == 429
    assert throttled.data == {
        "code": "throttled",
        "detail": "Request was throttled. Expected available in 60 seconds.",
    }
    assert throttled["Retry-After"] == "60"
    assert reads == [200, 200, 200]  # signed-in reads: neither throttle counts them
    assert other.status_code == 201
    clock.move_to(NOW + MINUTE)
    assert call("post", a).status_code == 201


def test_booking_writes_without_an_account_are_counted_per_address(clock, rates):
    request = APIRequestFactory().post("/x", {}, format="json")
    throttle = BookingWriteThrottle()
    drf_request = Request(request)
    drf_request.user = AnonymousUser()

    assert throttle.get_cache_key(drf_request, None) == "throttle_booking_write_address:127.0.0.1"
