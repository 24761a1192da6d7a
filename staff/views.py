"""Staff sign-in, setting up a second factor by link, and keeping a session alive.

Thin: the forms judge, staff.services writes, the templates explain.
"""

from base64 import b32encode

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import login as otp_login

from core.http import next_on_site
from core.qr import qr_svg
from staff import services
from staff.forms import EnrolForm, StaffLoginForm
from staff.middleware import staff_session_start


@sensitive_post_parameters("password", "otp_token")
@csrf_protect
@never_cache
def login(request: HttpRequest, *, site, extra_context=None) -> HttpResponse:
    """Name, password and code in one step; on success a session that ends with the
    browser (and after the idle limit), verified by the device that took the code."""
    next_url = next_on_site(request) or reverse("admin:index", current_app=site.name)
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(next_url)
    form = StaffLoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        auth_login(request, form.user)
        if form.device is not None:
            otp_login(request, form.device)
        staff_session_start(request)
        return HttpResponseRedirect(next_url)
    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        "form": form,
        REDIRECT_FIELD_NAME: next_url,
        **(extra_context or {}),
    }
    request.current_app = site.name
    return render(request, "admin/login.html", context)


@sensitive_post_parameters("password", "otp_token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind the one-time link: the QR code, then password and a first code.

    Reachable without a session (the person has no second factor yet); it shows and
    changes nothing but the one unconfirmed device the signed link names."""
    device = services.totp_enrolment_device(token=token)
    if device is None:
        return render(request, "staff/enrol_invalid.html", status=410)
    form = EnrolForm(request, device, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        codes = services.totp_enrolment_confirm(device=device)
        return render(
            request,
            "staff/enrol_done.html",
            {"codes": codes, "login_url": reverse("admin:login"), "account": device.user},
        )
    return render(
        request,
        "staff/enrol.html",
        {
            "form": form,
            "account": device.user,
            "qr_svg": qr_svg(device.config_url),
            "secret": _base32_secret(device),
        },
    )


@never_cache
@require_GET
def keepalive(request: HttpRequest) -> HttpResponse:
    """204: the session is alive, and now for another idle period. Guarded by the admin
    site (wrapped in urls), so only a verified staff session gets here. Carries the CSRF
    token, which a sign-in in another tab renews, for the page's open forms."""
    response = HttpResponse(status=204)
    response["X-CSRFToken"] = get_token(request)
    return response


def _base32_secret(device) -> str:
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
