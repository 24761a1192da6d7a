"""Small request helpers shared by the pages."""

import ipaddress

from django.conf import settings
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


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, for rate limits and lock-outs.

    REMOTE_ADDR, unless it is one of our own proxies (`YUYUE_TRUSTED_PROXIES`): then the
    right-most address of X-Forwarded-For that is not a trusted proxy. Addresses to its
    left were written by the client and may be anything, so they are never believed; a
    client that is not behind our proxy cannot choose its address by sending the header.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = set(getattr(settings, "YUYUE_TRUSTED_PROXIES", ()) or ())
    if remote is None or remote not in trusted:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed chain: believe nothing in it
        if hop not in trusted:
            return hop
    return remote
