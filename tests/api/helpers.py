"""The API's map, generated from the URL configuration, and what each caller may expect.

`api_endpoints()` walks every route under /api/v1/ (through every include), so a new
endpoint is in the authorisation matrix and the fuzzing the moment it is routed.
`expected_status(...)` reads the view's own `access` map (core.api.ApiView.access_for):
the matrix tests that the views do what they declare, and the declarations are what a
reviewer reads.
"""

import dataclasses
import json
import re
from collections.abc import Iterator

from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.authentication import SessionAuthentication

from core.api import ApiView
from core.api_access import PatientAccount, Public, Staff
from patients.authentication import BearerTokenAuthentication

API_PREFIX = "api/v1/"
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")

# Views under /api/v1/ that are not ApiViews on purpose: the schema and its docs pages
# (drf-spectacular), public and read-only.
NOT_API_VIEWS = {
    "drf_spectacular.views.SpectacularAPIView",
    "drf_spectacular.views.SpectacularJSONAPIView",
    "drf_spectacular.views.SpectacularYAMLAPIView",
    "drf_spectacular.views.SpectacularRedocView",
    "drf_spectacular.views.SpectacularSwaggerView",
    "drf_spectacular.views.SpectacularSwaggerOauthRedirectView",
    # Redoc under the site's Content-Security-Policy (config/api_docs.py).
    "config.api_docs.ApiDocsView",
}

# Objects a path parameter can name. "Owned" ones belong to a patient account: the
# matrix fills them with the caller's own object and with the other patient's.
OWNED_KINDS = (
    "patient",
    "booking",
    "booking_code",
    "waitlist_entry",
    "message",
    "fhir_appointment",
)
SHARED_KINDS = (
    "department",
    "department_code",
    "doctor",
    "session",
    "slot",
    "closure",
    "queue_ticket",
    "room",
    "fhir_schedule",
)

# Parameter names → the object they name, whatever the view.
PARAM_KINDS = {
    "patient_id": "patient",
    "family_id": "patient",
    "member_id": "patient",
    "booking_id": "booking",
    # FHIR ids are typed strings: Appointment/booking-<pk>, Schedule/doctor-<pk>.
    "appointment_id": "fhir_appointment",
    "schedule_id": "fhir_schedule",
    "code": "booking_code",
    "booking_code": "booking_code",
    "entry_id": "waitlist_entry",
    "waitlist_id": "waitlist_entry",
    "waitlist_entry_id": "waitlist_entry",
    "message_id": "message",
    "notification_id": "message",
    "department_id": "department",
    "department_code": "department_code",
    "doctor_id": "doctor",
    "session_id": "session",
    "slot_id": "slot",
    "closure_id": "closure",
    "ticket_id": "queue_ticket",
    "queue_ticket_id": "queue_ticket",
    "room_id": "room",
}
# Generic names (pk, id) → the kind named by the view's model or by its URL name.
GENERIC_PARAMS = ("pk", "id", "object_id")
MODEL_KINDS = {
    "patients.patient": "patient",
    "booking.booking": "booking",
    "booking.waitlistentry": "waitlist_entry",
    "notifications.outboxmessage": "message",
    "clinics.department": "department",
    "clinics.doctor": "doctor",
    "clinics.session": "session",
    "clinics.slot": "slot",
    "booking.closure": "closure",
    "frontdesk.queueticket": "queue_ticket",
}
NAME_KINDS = (  # first match wins: "waitlist" before "booking" ("booking-waitlist-...")
    ("waitlist", "waitlist_entry"),
    ("message", "message"),
    ("notification", "message"),
    ("appointment", "booking"),
    ("booking", "booking"),
    ("family", "patient"),
    ("patient", "patient"),
    ("closure", "closure"),
    ("slot", "slot"),
    ("session", "session"),
    ("doctor", "doctor"),
    ("department", "department"),
    ("ticket", "queue_ticket"),
    ("queue", "queue_ticket"),
)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    route: str  # under /api/v1/, as written in the URLconf: "bookings/<int:booking_id>"
    name: str | None  # "namespace:name" for reverse()
    view: type | None
    params: tuple[str, ...]

    literals: tuple[tuple[str, str], ...] = ()  # params whose converter matches one text

    @property
    def label(self) -> str:
        return self.route or "/"

    @property
    def view_path(self) -> str:
        return f"{self.view.__module__}.{self.view.__qualname__}" if self.view else "?"

    def kinds(self) -> dict[str, str | None]:
        """Each path parameter's object kind; None when nothing says what it names."""
        fixed = dict(self.literals)
        return {
            param: f"literal:{fixed[param]}" if param in fixed else param_kind(self, param)
            for param in self.params
        }

    def unmapped(self) -> list[str]:
        return [param for param, kind in self.kinds().items() if kind is None]

    def owned(self) -> bool:
        return any(kind in OWNED_KINDS for kind in self.kinds().values())


def view_class(callback) -> type | None:
    return getattr(callback, "view_class", None) or getattr(callback, "cls", None)


def _literals(pattern) -> list[tuple[str, str]]:
    """Parameters whose converter matches exactly one text (`$bulk-publish`)."""
    return [
        (param, re.sub(r"\\(.)", r"\1", converter.regex))
        for param, converter in getattr(pattern, "converters", {}).items()
        if re.fullmatch(r"(?:\\.|[\w-])+", converter.regex)
    ]


def _pattern_params(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return list(pattern.regex.groupindex)
    return []


def _walk(
    resolver: URLResolver, prefix: str, namespace: str, params: list[str], literals: list
) -> Iterator:
    for item in resolver.url_patterns:
        route = prefix + _route_text(item.pattern)
        here = params + _pattern_params(item.pattern)
        fixed = literals + _literals(item.pattern)
        if isinstance(item, URLPattern):
            # A parameter the URLconf fixes with a default ({"operation": "$bulk-publish"}).
            fixed += [(k, str(v)) for k, v in item.default_args.items() if k in here]
        if isinstance(item, URLResolver):
            ns = namespace
            if item.namespace:
                ns = f"{namespace}{item.namespace}:"
            yield from _walk(item, route, ns, here, fixed)
        elif isinstance(item, URLPattern):
            name = f"{namespace}{item.name}" if item.name else None
            yield route, name, item.callback, here, fixed


def _route_text(pattern) -> str:
    """A route as written; a regular expression without its anchors and escapes."""
    text = str(pattern)
    if isinstance(pattern, RegexPattern):
        text = text.removeprefix("^")
        text = re.sub(r"(?<!\\)(?:\$|\\Z)$", "", text)
        text = re.sub(r"\\(.)", r"\1", text)
    return text


def api_endpoints() -> list[Endpoint]:
    """Every route under /api/v1/, found by walking the root URLconf."""
    found = []
    for route, name, callback, params, literals in _walk(get_resolver(), "", "", [], []):
        if not route.startswith(API_PREFIX):
            continue
        found.append(
            Endpoint(
                route=route.removeprefix(API_PREFIX),
                name=name,
                view=view_class(callback),
                params=tuple(params),
                literals=tuple(literals),
            )
        )
    return found


def param_kind(endpoint: Endpoint, param: str) -> str | None:
    if param in PARAM_KINDS:
        return PARAM_KINDS[param]
    if param not in GENERIC_PARAMS:
        return None
    view = endpoint.view
    model = getattr(view, "model", None)
    queryset = getattr(view, "queryset", None)
    if model is None and queryset is not None:
        model = queryset.model
    if model is not None:
        return MODEL_KINDS.get(model._meta.label_lower)
    name = (endpoint.name or "").rsplit(":", 1)[-1]
    for word, kind in NAME_KINDS:
        if word in name:
            return kind
    return None


def is_api_view(endpoint: Endpoint) -> bool:
    return endpoint.view is not None and issubclass(endpoint.view, ApiView)


def build_path(endpoint: Endpoint, values: dict[str, object]) -> str:
    """The endpoint's path with each parameter filled from `values` (kind → value)."""
    kwargs = {
        param: kind.removeprefix("literal:") if kind.startswith("literal:") else values[kind]
        for param, kind in endpoint.kinds().items()
    }
    if endpoint.name:
        try:
            return reverse(endpoint.name, kwargs=kwargs)
        except Exception:  # noqa: S110 - an ambiguous name: fill the route by hand
            pass
    path = endpoint.route
    for param, value in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{param}>|\(\?P<{param}>[^)]*\)", str(value), path)
    return "/" + API_PREFIX + path


# --- expectations -----------------------------------------------------------------------

ALLOWED = "allowed"  # past authorisation: not 401/403/404/405, not 5xx
PUBLIC = "public"  # anyone: not 401/403, not 5xx


@dataclasses.dataclass(frozen=True)
class Expectation:
    status: int | str  # an exact status, ALLOWED or PUBLIC
    why: str

    def met_by(self, status: int) -> bool:
        if status >= 500:
            return False
        if self.status == PUBLIC:
            return status not in (401, 403)
        if self.status == ALLOWED:
            return status not in (401, 403, 404, 405)
        return status == self.status

    def __str__(self) -> str:
        return f"{self.status} ({self.why})"


def _authenticates(view: type, method: str, caller) -> bool:
    """Whether the view reads the caller's credentials for `method` at all (a view may
    accept bearer tokens only: a session is then anonymous there)."""
    wanted = BearerTokenAuthentication if caller.token else SessionAuthentication
    instance = view()
    instance.request = HttpRequest()
    instance.request.method = method
    instance.args, instance.kwargs = (), {}
    return any(isinstance(a, wanted) for a in instance.get_authenticators())


def expected_status(view: type, method: str, *, caller, ownership: str, owned: bool) -> Expectation:
    """What `caller` must get for `method` on `view`, by the view's `access` map.

    `ownership` is "own" or "other": the path names the caller's own objects or the other
    patient's (for callers who are not patients: patient A's or patient B's).
    """
    access = view.access_for(method)
    handler = "get" if method == "HEAD" else method.lower()
    if access is None or not hasattr(view, handler):
        return Expectation(405, "method not in access")
    if isinstance(access, Public):
        return Expectation(PUBLIC, "Public")
    if caller.kind == "anonymous" or not _authenticates(view, method, caller):
        return Expectation(401, f"{type(access).__name__}, anonymous to this view")
    if isinstance(access, PatientAccount):
        if caller.kind != "patient":
            return Expectation(403, "PatientAccount, not a patient")
        if owned and ownership == "other":
            return Expectation(404, "PatientAccount, another account's object")
        return Expectation(ALLOWED, "PatientAccount, own")
    if isinstance(access, Staff):
        if caller.kind != "staff":
            return Expectation(403, f"Staff{access.perms}, {caller.kind}")
        if not caller.account.has_perms(access.perms):
            return Expectation(403, f"Staff{access.perms}, lacks a permission")
        return Expectation(ALLOWED, f"Staff{access.perms}, holds them")
    # Another Access subclass (e.g. "holds a bearer token"): ask it, as DRF would.
    if not access.allows(caller.as_request()):
        return Expectation(403, f"{type(access).__name__} refuses {caller.kind}")
    if caller.kind == "patient" and owned and ownership == "other":
        return Expectation(404, f"{type(access).__name__}, another account's object")
    return Expectation(ALLOWED, f"{type(access).__name__} allows {caller.kind}")


def body_text(content: bytes) -> str:
    """The body as text, JSON re-encoded without escapes so Chinese names are findable."""
    text = content.decode("utf-8", errors="replace")
    try:
        return text + json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text
