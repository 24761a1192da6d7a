"""What every desk page shares: its permission check and the admin page's context."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def require_any(request: HttpRequest, *permissions: str) -> None:
    """403 unless the user holds one of `permissions`."""
    if not any(request.user.has_perm(p) for p in permissions):
        raise PermissionDenied


def admin_context(request: HttpRequest, model_admin, *, title: str, **extra) -> dict:
    """The admin site's context (header, sidebar, sign-out) for a desk page."""
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        **extra,
    }
