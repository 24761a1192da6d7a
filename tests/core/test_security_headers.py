"""Content-Security-Policy, Referrer-Policy and Permissions-Policy on every kind of
response: a patient page, an API response, an admin page, and the API docs page (which
alone may use inline style and blob workers, for Redoc)."""

import pytest

from tests.factories import StaffFactory
from tests.staff.conftest import sign_in_verified

SITE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = [part.strip().split(" ", 1) for part in header.split(";") if part.strip()]
    return {name: value for name, value in parts}


def assert_hardened(response) -> None:
    assert directives(response) == SITE_POLICY
    assert response["Referrer-Policy"] == "same-origin"
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy.split(", ")


@pytest.mark.django_db
def test_a_patient_page(client):
    response = client.get("/")

    assert response.status_code == 200
    assert_hardened(response)


@pytest.mark.django_db
def test_an_api_response(client):
    response = client.get("/api/v1/status")

    assert response.status_code == 200
    assert_hardened(response)


@pytest.mark.django_db
def test_admin_pages(client, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    assert_hardened(client.get("/admin/login/"))

    sign_in_verified(client, StaffFactory(is_superuser=True))
    response = client.get("/admin/")

    assert response.status_code == 200
    assert_hardened(response)


@pytest.mark.django_db
def test_no_page_template_has_inline_script_or_style(client):
    """Under script-src/style-src 'self' an inline block would be refused by the browser."""
    body = client.get("/").content.decode()

    assert "<script>" not in body
    assert "<style" not in body
    assert " onclick=" not in body


@pytest.mark.django_db
def test_the_api_docs_page_loosens_style_for_itself_only(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == "'self'"  # Redoc's bundle is a static file
    assert policy["style-src"] == "'self' 'unsafe-inline'"  # Redoc injects its styles
    assert policy["worker-src"] == "'self' blob:"  # Redoc's search index
    body = response.content.decode()
    assert "<script>" not in body
    assert "fonts.googleapis.com" not in body
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in body
