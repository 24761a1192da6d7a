"""Sign-in by phone and one-time SMS code, and sign-out.

Page 1 asks for the phone (and the language a new account gets) and sends a code; page 2
takes the code. The phone travels between them in the session, never in the URL; `next`
(a same-site address only) travels in the query string and hidden fields, so the page
the patient was on — a booking step — is opened again after signing in.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import YuyueError
from core.http import client_ip, on_site
from patients.exceptions import CodeTooSoon
from patients.forms import SignInCodeForm, SignInPhoneForm
from patients.selectors import sign_in_code_wait_seconds
from patients.services import sign_in_code_request, sign_in_code_verify

# Patients have no password: the code is checked by sign_in_code_verify, and the session
# is opened with the plain model backend (never django-axes' backend, which is for staff).
SIGN_IN_BACKEND = "django.contrib.auth.backends.ModelBackend"
SESSION_PHONE = "patients.sign_in_phone"
SESSION_LANGUAGE = "patients.sign_in_language"


def _next_url(request: HttpRequest) -> str:
    """`next` from the form or the query string, if it is an address on this site.

    A `next` that is itself a sign-in page (the header's "sign in" link followed from
    the sign-in page) is unwrapped to its own `next`: back to a sign-in page after
    signing in would be a loop.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    sign_in_pages = (reverse("patients:sign-in"), reverse("patients:sign-out"))
    for _depth in range(3):
        if not on_site(request, target):
            return ""
        path, _sep, query = target.partition("?")
        if not path.startswith(sign_in_pages):
            return target
        target = QueryDict(query).get("next", "")
    return ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url or reverse("home"))
    form = SignInPhoneForm(
        request.POST if request.method == "POST" else None,
        initial={"language": translation.get_language()},
    )
    if form.is_valid():
        phone = form.cleaned_data["phone"]
        language = form.cleaned_data["language"]
        try:
            sign_in_code_request(
                phone=phone,
                ip=client_ip(request),
                now=timezone.now(),
                language=language,
            )
        except CodeTooSoon:
            pass  # a code went to this phone less than a minute ago: page 2 takes it
        except YuyueError as error:
            form.add_error("phone", error.detail)
        if form.is_valid():
            request.session[SESSION_PHONE] = phone
            request.session[SESSION_LANGUAGE] = language
            return HttpResponseRedirect(_with_next(reverse("patients:sign-in-code"), next_url))
    return render(request, "patients/sign_in.html", {"form": form, "next_url": next_url})


@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    phone = request.session.get(SESSION_PHONE)
    if not phone:
        return HttpResponseRedirect(_with_next(reverse("patients:sign-in"), next_url))
    resend = request.method == "POST" and "resend" in request.POST
    form = SignInCodeForm(request.POST if request.method == "POST" and not resend else None)
    resend_error = ""
    if resend:
        try:
            sign_in_code_request(
                phone=phone,
                ip=client_ip(request),
                now=timezone.now(),
                language=request.session.get(SESSION_LANGUAGE),
            )
        except YuyueError as error:
            resend_error = error.detail
        else:
            url = _with_next(reverse("patients:sign-in-code"), next_url)
            return HttpResponseRedirect(url + ("&" if "?" in url else "?") + "sent=1")
    elif form.is_valid():
        try:
            account = sign_in_code_verify(
                phone=phone, code=form.cleaned_data["code"], now=timezone.now()
            )
        except YuyueError as error:
            form.add_error("code", error.detail)
        else:
            # login() gives the session a new key (no fixation) and keeps its data.
            login(request, account, backend=SIGN_IN_BACKEND)
            # Idle expiry: SESSION_SAVE_EVERY_REQUEST moves it on with each request.
            request.session.set_expiry(settings.YUYUE_PATIENT_SESSION_IDLE_SECONDS)
            request.session.pop(SESSION_PHONE, None)
            request.session.pop(SESSION_LANGUAGE, None)
            response = HttpResponseRedirect(next_url or reverse("home"))
            # The site speaks the account's language from now on.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                account.language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
            return response
    wait = sign_in_code_wait_seconds(phone=phone, now=timezone.now())
    return render(
        request,
        "patients/sign_in_code.html",
        {
            "form": form,
            "next_url": next_url,
            "phone_end": phone[-4:],
            "wait_seconds": wait,
            "resend_error": resend_error,
            "sent_again": request.GET.get("sent") == "1" and not resend_error,
        },
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(reverse("home"))
