"""The API's throttles: how often one address, phone or account may call.

DRF throttles on the default cache (Redis when REDIS_URL is set, so every worker
shares the counts). They slow down scripts; they never protect capacity, which the
database's constraints do. The rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`
under each class's `scope`, read when a request is judged (so a test can lower them).
The address is `core.http.client_ip`, the one rule for "who is calling from where"
(X-Forwarded-For is believed only from our own proxies).

A throttled request answers 429 {"code": "throttled", "detail": ...} with Retry-After
(config.errors.api_exception_handler).

- `AnonReadThrottle`: reads (GET, HEAD) without sign-in, per address; the default for
  every view.
- `SignInCodePhoneThrottle`, `SignInCodeAddressThrottle`: asking for a sign-in code, per
  phone and per address, on top of the service's own limits.
- `SignInAddressThrottle`: trying a code or a password for a token, per address.
- `BookingWriteThrottle`: writes by one signed-in account (per account; per address
  for a caller without one); put it on booking endpoints:
  `throttle_classes = [AnonReadThrottle, BookingWriteThrottle]`.
"""

import hashlib

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.errors import YuyueError
from core.http import client_ip

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class YuyueRateThrottle(SimpleRateThrottle):
    """A DRF rate throttle whose address is `client_ip` and whose rate is read from the
    settings now (DRF's own reads them once, at import)."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or "unknown"

    def key_for(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonReadThrottle(YuyueRateThrottle):
    """Reads by a caller without sign-in, per address (default 120/min)."""

    scope = "anon_read"

    def get_cache_key(self, request: Request, view) -> str | None:
        if request.method not in SAFE_METHODS or request.user.is_authenticated:
            return None
        return self.key_for(self.get_ident(request))


class SignInCodePhoneThrottle(YuyueRateThrottle):
    """Sign-in codes asked for one phone (default 5/hour), whatever the address: a
    script cannot flood one person's phone from many addresses."""

    scope = "sign_in_code_phone"

    def get_cache_key(self, request: Request, view) -> str | None:
        phone = phone_key(request)
        return self.key_for(phone) if phone else None


class SignInCodeAddressThrottle(YuyueRateThrottle):
    """Sign-in codes asked for from one address (default 30/hour)."""

    scope = "sign_in_code_address"

    def get_cache_key(self, request: Request, view) -> str | None:
        return self.key_for(self.get_ident(request))


class SignInAddressThrottle(YuyueRateThrottle):
    """Tries for a token (a phone code, or a staff password and code) from one address
    (default 20/min). The 5-try lock per code and django-axes still apply."""

    scope = "sign_in_address"

    def get_cache_key(self, request: Request, view) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        return self.key_for(self.get_ident(request))


class BookingWriteThrottle(YuyueRateThrottle):
    """Writes (POST, PUT, PATCH, DELETE) per signed-in account (default 30/min); a
    caller without an account is counted by address."""

    scope = "booking_write"

    def get_cache_key(self, request: Request, view) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        user = request.user
        if user and user.is_authenticated:
            return self.key_for(f"account:{user.pk}")
        return self.key_for(f"address:{self.get_ident(request)}")


def phone_key(request: Request) -> str:
    """The phone a request asks a code for, normalised as the service does, so that
    "+86 138 0000 0000" and "13800000000" count together; "" when there is none."""
    from patients.services import sign_in_phone_clean  # core must not import apps at load

    data = request.data if isinstance(request.data, dict) else {}
    raw = data.get("phone")
    if not isinstance(raw, str) or not raw.strip():
        return ""
    try:
        return sign_in_phone_clean(raw)
    except YuyueError:  # refused by the view; still counted, under what was sent
        return "invalid:" + hashlib.sha256(raw.strip().encode()).hexdigest()[:32]
