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
- `SignInCodeAddressThrottle`: asking for a sign-in code, per address, on top of the
  service's own limits (the per-phone one is patients.apis.auth's: it knows phones).
- `SignInAddressThrottle`: trying a code or a password for a token, per address.
- `BookingWriteThrottle`: writes by one signed-in account (per account; per address
  for a caller without one); put it on booking endpoints:
  `throttle_classes = [AnonReadThrottle, BookingWriteThrottle]`.
"""

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.http import client_ip

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class YuyueRateThrottle(SimpleRateThrottle):
    """A DRF rate throttle whose address is `client_ip` and whose rate is read from the
    settings now (DRF's own reads them once, at import).

    Counted in fixed windows of the rate's period: one INCR per request on a counter
    that expires with its window. DRF's own keeps the list of every request's time and
    reads and writes it back whole on each request, two round trips and a list as long
    as the rate — at the release minute the throttle cost more than the cached read it
    guarded. A caller may make up to twice the rate across a window's edge; throttles
    slow scripts down, they never protect capacity.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{self.key}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first request
            if self.cache.add(key, 1, timeout=self.duration + 1):
                return True
            count = self.cache.incr(key)
        # None: the cache is down (django-redis ignores errors): let the caller through.
        return count is None or count <= self.num_requests

    def wait(self) -> float:
        return max(self.window_ends - self.now, 0.0)

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
