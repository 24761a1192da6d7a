"""Site-wide settings a visitor chooses: the text size. Works without JavaScript: a POST
form in the header, a cookie, a redirect back to the page the visitor was on."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.http import on_site

# The cookie that remembers the choice, and the choices (css/site.css sizes each).
TEXT_SIZE_COOKIE = "text_size"
TEXT_SIZES = ("normal", "large", "xlarge")
TEXT_SIZE_DEFAULT = "normal"
TEXT_SIZE_COOKIE_AGE = 365 * 24 * 60 * 60


def text_size_of(request: HttpRequest | None) -> str:
    """The text size the visitor chose, or the default (an unknown value counts as none)."""
    value = request.COOKIES.get(TEXT_SIZE_COOKIE) if request is not None else None
    return value if value in TEXT_SIZES else TEXT_SIZE_DEFAULT


def _safe_next(request: HttpRequest) -> str:
    """Where to go back to: `next` if it is a path on this site, else the start page."""
    target = request.POST.get("next", "")
    if on_site(request, target):
        return target
    return reverse("home")


@require_POST
def text_size(request: HttpRequest) -> HttpResponse:
    """Remember the chosen text size in a cookie and go back. An unknown size changes
    nothing; an off-site `next` goes to the start page."""
    response = HttpResponseRedirect(_safe_next(request))
    size = request.POST.get("size", "")
    if size in TEXT_SIZES:
        response.set_cookie(
            TEXT_SIZE_COOKIE,
            size,
            max_age=TEXT_SIZE_COOKIE_AGE,
            samesite="Lax",
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response
