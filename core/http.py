"""Small request helpers shared by the pages."""

import functools
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


@functools.cache
def _proxy_networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def is_trusted_proxy(address: str | None) -> bool:
    """`address` is one of our own proxies: listed in `YUYUE_TRUSTED_PROXIES`, by address
    or by network (`10.0.0.0/8`: a Kubernetes ingress's pods change address)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    entries = tuple(getattr(settings, "YUYUE_TRUSTED_PROXIES", ()) or ())
    return any(ip in network for network in _proxy_networks(entries))


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, for rate limits and lock-outs.

    REMOTE_ADDR, unless it is one of our own proxies (`YUYUE_TRUSTED_PROXIES`): then the
    right-most address of X-Forwarded-For that is not a trusted proxy. Addresses to its
    left were written by the client and may be anything, so they are never believed; a
    client that is not behind our proxy cannot choose its address by sending the header.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    if not is_trusted_proxy(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed chain: believe nothing in it
        if not is_trusted_proxy(hop):
            return hop
    return remote
