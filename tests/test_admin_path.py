"""YUYUE_ADMIN_PATH moves the staff admin; everything reaches it through reverse()."""

import importlib.util
import sys

import pytest
from django.urls import clear_url_caches, reverse

from tests.factories import StaffFactory
from tests.staff.conftest import sign_in_verified

MOVED = "desk-7f3a/"


@pytest.fixture
def moved_admin(settings):
    """config/urls.py loaded afresh with the setting changed, as the URLconf."""
    settings.YUYUE_ADMIN_PATH = MOVED
    spec = importlib.util.find_spec("config.urls")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["tests._moved_admin_urls"] = module
    settings.ROOT_URLCONF = "tests._moved_admin_urls"
    clear_url_caches()
    yield
    del sys.modules["tests._moved_admin_urls"]
    clear_url_caches()


def test_the_default_is_admin(settings):
    assert settings.YUYUE_ADMIN_PATH == "admin/"
    assert reverse("admin:index") == "/admin/"


@pytest.mark.django_db
def test_the_admin_moves_with_the_setting(client, moved_admin, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True

    assert reverse("admin:index") == "/desk-7f3a/"
    assert reverse("admin:login") == "/desk-7f3a/login/"
    assert reverse("staff:keepalive") == "/desk-7f3a/keepalive"
    assert client.get("/admin/").status_code == 404

    # the sign-in redirect, the pages, the keep-alive (staff.middleware, yuyue-session.js)
    anonymous = client.get("/desk-7f3a/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/desk-7f3a/login/")
    sign_in_verified(client, StaffFactory(is_superuser=True))
    page = client.get("/desk-7f3a/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-keepalive-url="/desk-7f3a/keepalive"' in body
    assert 'href="/admin/' not in body
    assert client.get("/desk-7f3a/keepalive").status_code == 204
