"""The client's address: REMOTE_ADDR, or what our own proxy says it forwarded."""

import pytest
from django.test import RequestFactory

from core.http import client_ip

PROXY = "10.0.0.254"


def request(remote="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_a_proxy_it_is_the_remote_address(settings):
    settings.YUYUE_TRUSTED_PROXIES = []

    assert client_ip(request(forwarded="203.0.113.9")) == "198.51.100.7"


def test_a_client_that_is_not_our_proxy_cannot_choose_its_address(settings):
    settings.YUYUE_TRUSTED_PROXIES = [PROXY]

    assert client_ip(request(remote="198.51.100.7", forwarded="203.0.113.9")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        # the client wrote the left part itself: only the hop our proxy added counts
        ("1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # two proxies of ours in a row
        (f"1.2.3.4, 203.0.113.9, {PROXY}", "203.0.113.9"),
        ("", PROXY),
        ("not-an-address", PROXY),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_behind_our_proxy_it_is_the_right_most_untrusted_hop(settings, forwarded, expected):
    settings.YUYUE_TRUSTED_PROXIES = [PROXY]

    assert client_ip(request(remote=PROXY, forwarded=forwarded)) == expected


def test_axes_and_the_patients_code_limits_use_it(settings):
    from axes.helpers import get_client_ip_address

    settings.YUYUE_TRUSTED_PROXIES = [PROXY]

    assert settings.AXES_CLIENT_IP_CALLABLE == "core.http.client_ip"
    assert get_client_ip_address(request(remote=PROXY, forwarded="203.0.113.9")) == ("203.0.113.9")
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.django_db
def test_the_patients_sign_in_code_records_the_real_address(client, settings):
    from django.urls import reverse

    from patients.models import SignInCode

    settings.YUYUE_TRUSTED_PROXIES = []

    response = client.post(
        reverse("patients:sign-in"),
        {"phone": "13800138000", "language": "zh-hans"},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )

    assert response.status_code == 302
    assert list(SignInCode.objects.values_list("requested_ip", flat=True)) == ["198.51.100.7"]
