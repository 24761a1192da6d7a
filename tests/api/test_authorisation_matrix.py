"""The authorisation matrix, generated from the URL configuration (DESIGN.md invariant 6).

Every endpoint under /api/v1/ × every method (HEAD and OPTIONS included) × every caller
(anonymous, patient A, patient B, front desk, ops, doctor, staff without a second factor
by session and by token) × {the caller's own objects, the other patient's} → the status
the view's `access` map promises, and no body holding another patient's name, phone or
booking code. Nothing is listed by hand: a new route is in the matrix when it is routed.

Each request runs in a savepoint that is rolled back, so one caller's DELETE never
changes what the next caller sees.
"""

import pytest
from django.db import transaction
from django.urls import path
from rest_framework.response import Response

from booking.models import Booking
from core.api import ApiView, PatientAccount
from tests.api.helpers import (
    METHODS,
    NOT_API_VIEWS,
    Endpoint,
    api_endpoints,
    body_text,
    build_path,
    expected_status,
    is_api_view,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = api_endpoints()
API_VIEWS = [e for e in ENDPOINTS if is_api_view(e)]
CALLERS = (
    "anonymous",
    "patient_a",
    "patient_b",
    "front_desk",
    "ops",
    "doctor",
    "staff_session_no_otp",
    "staff_token_no_otp",
)


def test_the_url_walk_finds_the_api():
    routes = {e.route for e in ENDPOINTS}
    assert {"status", "schema", "docs"} <= routes, sorted(routes)


def test_every_view_under_api_v1_is_an_api_view():
    """Deny by default holds only for ApiView subclasses; the schema and its docs pages
    (drf-spectacular's own views, read-only and public) are the listed exceptions."""
    strays = [
        f"{e.label} → {e.view_path}"
        for e in ENDPOINTS
        if not is_api_view(e) and e.view_path not in NOT_API_VIEWS
    ]
    assert strays == []


def test_every_path_parameter_names_a_known_object():
    """A parameter the matrix cannot fill is an endpoint it cannot test: name it after
    its object (booking_id, patient_id, entry_id...) or teach tests/api/helpers.py."""
    unmapped = {f"{e.label} ({e.view_path})": e.unmapped() for e in API_VIEWS if e.unmapped()}
    assert unmapped == {}


def _request(caller, method: str, path: str):
    kwargs = {}
    if method in ("POST", "PUT", "PATCH"):
        kwargs = {"data": "{}", "content_type": "application/json"}
    with transaction.atomic():
        response = caller.client.generic(method, path, **kwargs)
        transaction.set_rollback(True)
    return response


def _forbidden_secrets(world, caller, status: int) -> list[str]:
    """What `caller` must not read: the other patient's data for a patient, everyone's
    for a caller who is not staff past authorisation."""
    if caller.kind == "patient":
        other = "b" if caller.patient_key == "a" else "a"
        return world.side(other).secrets()
    if caller.kind == "staff" and 200 <= status < 300:
        return []  # staff holding the permission read patients' data by design
    return world.a.secrets() + world.b.secrets()


def _param_id(value) -> str:
    if isinstance(value, Endpoint):
        return value.label
    return str(value)


@pytest.mark.parametrize("endpoint", API_VIEWS, ids=_param_id)
def test_authorisation_matrix(endpoint: Endpoint, api_world):
    """One endpoint, every method × caller × ownership (one world per endpoint: the
    requests roll back, so the methods cannot disturb one another)."""
    if endpoint.unmapped():
        pytest.skip(f"path parameters {endpoint.unmapped()} name no known object")
    known = api_world.values(api_world.a)
    missing = [
        k for k in endpoint.kinds().values() if k not in known and not k.startswith("literal:")
    ]
    if missing:
        pytest.skip(f"api_world has no {missing} object (tests/api/conftest.py)")
    failures = []
    for method in METHODS:
        failures += _matrix_row(endpoint, method, api_world)
    assert failures == [], "\n".join(failures)


def _matrix_row(endpoint: Endpoint, method: str, api_world) -> list[str]:
    failures = []
    for caller_name in CALLERS:
        caller = api_world.callers[caller_name]
        for ownership in ("own", "other") if endpoint.owned() else ("own",):
            if caller.kind == "patient":
                mine = caller.patient_key
                side_key = mine if ownership == "own" else ("b" if mine == "a" else "a")
            else:
                side_key = "a" if ownership == "own" else "b"
            path = build_path(endpoint, api_world.values(api_world.side(side_key)))
            expected = expected_status(
                endpoint.view, method, caller=caller, ownership=ownership, owned=endpoint.owned()
            )
            response = _request(caller, method, path)
            where = f"{method} {path} as {caller_name} ({ownership})"
            if not expected.met_by(response.status_code):
                failures.append(
                    f"{where}: expected {expected}, got {response.status_code} "
                    f"{response.content[:200]!r}"
                )
            text = body_text(response.content)
            secrets = _forbidden_secrets(api_world, caller, response.status_code)
            leaked = [s for s in secrets if s in text]
            if leaked:
                failures.append(f"{where}: body holds another patient's {leaked}")
    return failures


def test_an_undeclared_method_is_refused_before_anything_else(api_world):
    """The rule the matrix leans on: ApiView answers 405 to a method its access map does
    not list, whoever asks (here: the status page's DELETE, anonymous and as ops)."""
    assert ApiView.access_for("DELETE") is None
    for caller in ("anonymous", "ops"):
        response = api_world.callers[caller].client.delete("/api/v1/status")
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"


class _LeakyBookingApi(ApiView):
    """A view that forgets to scope its lookup to the caller's account."""

    access = {"GET": PatientAccount()}

    def get(self, request, booking_id: int):
        booking = Booking.objects.select_related("patient").get(pk=booking_id)
        return Response({"code": booking.code, "patient": booking.patient.real_name})


urlpatterns = [
    path("api/v1/leaky/<int:booking_id>", _LeakyBookingApi.as_view(), name="leaky-booking"),
]


@pytest.mark.urls("tests.api.test_authorisation_matrix")
def test_the_matrix_catches_a_view_that_shows_another_accounts_booking(api_world):
    """The matrix can fail: a view missing its ownership check is reported, both the
    status (200 for another account's booking, not 404) and the leaked data."""
    (endpoint,) = api_endpoints()

    failures = _matrix_row(endpoint, "GET", api_world)

    b = api_world.b
    assert (
        f"GET /api/v1/leaky/{b.booking.pk} as patient_a (other): expected 404 "
        "(PatientAccount, another account's object), got 200" in "\n".join(failures)
    )
    leaked = [f for f in failures if "body holds another patient's" in f]
    secrets = [b.patient.real_name, b.booking.code]
    expected = f"GET /api/v1/leaky/{b.booking.pk} as patient_a (other): body holds another "
    assert expected + f"patient's {secrets}" in leaked
    assert len(leaked) == 2  # A reads B's, B reads A's
