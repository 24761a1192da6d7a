"""X-Forwarded-Proto (and the other proxy headers) count only from YUYUE_TRUSTED_PROXIES:
a client that reaches gunicorn directly cannot claim HTTPS (core.middleware)."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from core.middleware import TrustedProxyMiddleware

PROXY = "10.0.0.5"
CLIENT = "203.0.113.7"


@pytest.fixture
def production_proxy_settings(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    settings.YUYUE_TRUSTED_PROXIES = [PROXY]


def seen_by_the_view(remote_addr: str, **headers) -> dict:
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        seen["meta"] = dict(request.META)
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)
    TrustedProxyMiddleware(view)(request)
    return seen


def test_an_untrusted_client_cannot_claim_https(production_proxy_settings):
    seen = seen_by_the_view(
        CLIENT,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_FORWARDED="for=1.2.3.4;proto=https",
    )

    assert seen["secure"] is False
    for header in ("PROTO", "FOR", "HOST"):
        assert f"HTTP_X_FORWARDED_{header}" not in seen["meta"]
    assert "HTTP_FORWARDED" not in seen["meta"]


def test_the_trusted_proxy_can(production_proxy_settings):
    seen = seen_by_the_view(PROXY, HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR=CLIENT)

    assert seen["secure"] is True
    assert seen["meta"]["HTTP_X_FORWARDED_FOR"] == CLIENT


def test_with_no_trusted_proxy_nobody_can(production_proxy_settings, settings):
    settings.YUYUE_TRUSTED_PROXIES = []

    assert seen_by_the_view(PROXY, HTTP_X_FORWARDED_PROTO="https")["secure"] is False


def test_through_the_whole_stack_an_untrusted_claim_is_redirected(
    client, production_proxy_settings
):
    # given SECURE_SSL_REDIRECT on: a request that is not HTTPS goes to https://
    response = client.get("/healthz-not-exempt", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR=CLIENT)

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_through_the_whole_stack_the_proxy_is_believed(client, production_proxy_settings):
    response = client.get("/healthz-not-exempt", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR=PROXY)

    assert response.status_code == 404  # served (no such page), not redirected


def test_the_middleware_runs_before_the_security_middleware(settings):
    chain = settings.MIDDLEWARE

    assert chain[0] == "core.middleware.TrustedProxyMiddleware"
    assert chain.index("django.middleware.security.SecurityMiddleware") > 0


def test_the_client_address_follows_the_same_rule(production_proxy_settings):
    from core.http import client_ip

    def ip(remote):
        out = {}

        def view(request):
            out["ip"] = client_ip(request)
            return HttpResponse()

        TrustedProxyMiddleware(view)(
            RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR="198.51.100.9")
        )
        return out["ip"]

    assert ip(CLIENT) == CLIENT
    assert ip(PROXY) == "198.51.100.9"


def test_a_proxy_network_is_trusted_by_range(production_proxy_settings, settings):
    """An ingress's pods change address: a network covers them all, and nothing else."""
    settings.YUYUE_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]

    assert seen_by_the_view("10.42.7.9", HTTP_X_FORWARDED_PROTO="https")["secure"] is True
    assert seen_by_the_view("fd00::1", HTTP_X_FORWARDED_PROTO="https")["secure"] is True
    assert seen_by_the_view(CLIENT, HTTP_X_FORWARDED_PROTO="https")["secure"] is False
