"""Small request helpers shared by the pages."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def on_site(request: HttpRequest, target: str) -> bool:
    """`target` is an address on this site (never another host, never `javascript:`):
    the only kind of `next` a page may send a visitor to."""
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def next_on_site(request: HttpRequest) -> str:
    """`next` from the form or the query string if it is on this site, else ""."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if on_site(request, target) else ""
