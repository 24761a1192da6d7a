"""Request and response hardening that applies to every page, API call and admin page."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.http import is_trusted_proxy

# Headers a client could send to claim a scheme, an address or a host it does not have.
# Only our own proxy (YUYUE_TRUSTED_PROXIES) writes them; from anyone else they are lies.
PROXY_HEADERS = (
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


class TrustedProxyMiddleware:
    """First in the chain: drop the proxy headers unless the request comes from one of
    `YUYUE_TRUSTED_PROXIES`, so that SECURE_PROXY_SSL_HEADER (is_secure, the HTTPS
    redirect, secure cookies) and core.http.client_ip believe only our own proxy. A client
    that reaches gunicorn directly cannot claim HTTPS by sending X-Forwarded-Proto."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for header in PROXY_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Permissions-Policy on every response: no page of Yuyue uses the camera, the
    microphone, the location or payment, so a script that got in cannot either."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        features = getattr(settings, "YUYUE_PERMISSIONS_POLICY", {})
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})" for feature, allowed in features.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
