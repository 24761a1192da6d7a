"""A password alone reaches no staff page: every URL of the admin site and of the staff
API, with every method, refuses a session without a verified second factor."""

import re

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinics.models import Session
from tests.factories import PatientFactory, StaffFactory, slot_with_quotas
from tests.staff.conftest import sign_in_verified

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
# Open to everyone by design: the sign-in page, and signing out.
PUBLIC = {"/admin/login/", "/admin/logout/"}
_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@pytest.fixture
def objects(db):
    """One row of the models whose pages take an id, so each id names a real object."""
    slot = slot_with_quotas(online=2, walkin=1)
    staff = StaffFactory()
    return {
        "session": slot.session,
        "patient": PatientFactory(),
        "account": staff,
        "device": TOTPDevice.objects.create(user=staff, name="phone", confirmed=True),
    }


def _fill(route: str, values: dict[str, str]) -> str:
    return _PARAMETER.sub(lambda m: values.get(m.group("name"), "1"), route)


def _model_values(model) -> dict[str, str]:
    row = model._default_manager.order_by("pk").first() if model is not None else None
    pk = str(row.pk) if row is not None else "1"
    return {"object_id": pk, "pk": pk, "id": pk}


def admin_paths() -> list[str]:
    """Every URL the admin site serves, its parameters filled with existing ids."""
    session = Session.objects.order_by("pk").first()
    common = {
        "content_type_id": str(ContentType.objects.get_for_model(Session).pk),
        "session_id": str(session.pk),
        "booking_id": "1",
        "quota_id": str(session.slots.first().quotas.first().pk),
    }
    prefixes = {
        f"{model._meta.app_label}/{model._meta.model_name}/": model
        for model in admin.site._registry
    }
    labels = sorted({model._meta.app_label for model in admin.site._registry})
    paths: list[str] = []

    def walk(patterns, prefix: str, model) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                route = str(pattern.pattern)
                walk(pattern.url_patterns, prefix + route, prefixes.get(route, model))
                continue
            assert isinstance(pattern, URLPattern)
            if isinstance(pattern.pattern, RegexPattern):
                groups = pattern.pattern.regex.groupindex
                if "app_label" in groups:
                    paths.extend(f"{prefix}{label}/" for label in labels)
                elif "url" in groups:
                    paths.append(f"{prefix}no-such-page/")
                else:  # pragma: no cover - a new kind of pattern: look at it
                    raise AssertionError(f"unexpected admin pattern {pattern.pattern}")
                continue
            values = {**common, **_model_values(model)}
            paths.append(prefix + _fill(str(pattern.pattern), values))

    walk(admin.site.get_urls(), "/admin/", None)
    return sorted(set(paths))


def staff_api_paths() -> list[str]:
    """Every route under /api/v1/staff/, through the included URL modules."""
    paths = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/v1/staff/"):
                paths.append("/" + _fill(route, {}))

    walk(get_resolver().url_patterns, "")
    return paths


def test_the_walk_finds_the_pages_that_matter(objects):
    paths = admin_paths()

    assert "/admin/" in paths
    assert "/admin/booking/closure/add/" in paths
    assert f"/admin/clinics/session/{objects['session'].pk}/change/" in paths
    assert "/admin/frontdesk/queueticket/desk/walk-in/" in paths
    assert f"/admin/otp_totp/totpdevice/{objects['device'].pk}/config/" in paths
    assert f"/admin/patients/account/{objects['account'].pk}/two-factor/" in paths
    assert len(paths) > 150
    assert "/api/v1/staff/closures" in staff_api_paths()


def test_a_password_only_session_reaches_no_admin_page_and_no_staff_api(client, objects, settings):
    # given a superuser signed in with a password only (no second factor)
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    client.force_login(StaffFactory(is_superuser=True))

    # when every page is asked with every method
    answers = {}
    for path in [*admin_paths(), *staff_api_paths(), "/admin/keepalive"]:
        if path in PUBLIC:
            continue
        for method in METHODS:
            response = client.generic(method, path)
            answers[(method, path)] = (response.status_code, response.get("Location", ""))

    # then none answers: a redirect to sign in, or a refusal
    reached = {
        key: answer
        for key, answer in answers.items()
        if not (
            answer[0] in (403, 405) or (answer[0] == 302 and answer[1].startswith("/admin/login/"))
        )
    }
    assert reached == {}
    assert len(answers) > 1000


def test_the_same_session_with_its_second_factor_reaches_the_admin(client, objects, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    user = StaffFactory(is_superuser=True)
    sign_in_verified(client, user)

    assert client.get("/admin/").status_code == 200
    assert client.get("/api/v1/staff/closures").status_code == 200
    keepalive = client.get("/admin/keepalive")
    assert keepalive.status_code == 204
    assert keepalive["X-CSRFToken"]


def test_an_inactive_or_non_staff_verified_account_reaches_nothing(client, objects, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    former = StaffFactory(is_superuser=True)
    sign_in_verified(client, former)
    former.is_staff = False
    former.save()

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_production_settings_always_require_the_second_factor(monkeypatch):
    import importlib

    import config.settings as live

    monkeypatch.setenv("DJANGO_DEBUG", "false")
    monkeypatch.setenv("YUYUE_ADMIN_REQUIRE_OTP", "false")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "Jq8v-3kTz0_pWm7LrN2sYb5Hc9dXe4Fg6Ua1Ko-Vi8Qw3Zt7Rn2")
    monkeypatch.setenv("YUYUE_SMS_BACKEND", "http")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/x")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "yuyue.example.org")
    spec = importlib.util.spec_from_file_location("production_settings", live.__file__)
    production = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(production)

    assert production.DEBUG is False
    assert production.YUYUE_ADMIN_REQUIRE_OTP is True


def test_development_may_switch_it_off(monkeypatch):
    import importlib

    import config.settings as live

    monkeypatch.setenv("DJANGO_DEBUG", "true")
    monkeypatch.setenv("YUYUE_ADMIN_REQUIRE_OTP", "false")
    spec = importlib.util.spec_from_file_location("development_settings", live.__file__)
    development = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(development)

    assert development.YUYUE_ADMIN_REQUIRE_OTP is False
