"""Public pages: the start page, browsing the clinics, the status page and the printable signs for the doors and
windows. Thin: read, render."""

import unicodedata

from django.conf import settings
from django.contrib.auth.decorators import permission_required, user_passes_test
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation

from booking.models import Closure
from booking.selectors import browse as browse_selectors
from booking.selectors import closures as selectors
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Session
from clinics.translation import texts
from core.access import is_verified_staff
from core.hospital import hospital_name
from core.qr import qr_svg


def home(request: HttpRequest) -> HttpResponse:
    """The start page: one phone screen with the red-flag check in short, where to book,
    my bookings, the clinic phone and today's notices (the banner). No query of its own
    and nothing written: everyone reloads it at 07:00."""
    return render(
        request,
        "home.html",
        {
            "walkin_windows": settings.YUYUE_WALKIN_WINDOWS,
            "walkin_hours": settings.YUYUE_WALKIN_HOURS,
        },
    )


def browse(request: HttpRequest) -> HttpResponse:
    """The clinics, each a link to its page of doctors."""
    return render(
        request,
        "booking/browse_departments.html",
        {"departments": clinic_selectors.department_list()},
    )


def browse_department(request: HttpRequest, code: str) -> HttpResponse:
    """One clinic's doctors, each with when its next place is and the sessions of the
    booking window, in words (booking's rules decide the states: `selectors.browse`)."""
    now = timezone.now()
    page = browse_selectors.department_page(code=code, now=now)
    if page is None:
        raise Http404
    return render(
        request,
        "booking/browse_department.html",
        {
            "page": page,
            "department": page.department,
            "today": timezone.localdate(now),
            "walkin_windows": settings.YUYUE_WALKIN_WINDOWS,
            "walkin_hours": settings.YUYUE_WALKIN_HOURS,
        },
    )


def status(request: HttpRequest) -> HttpResponse:
    """Each department's channels, current and planned closures, notices. No sign-in."""
    now = timezone.now()
    language = translation.get_language() or settings.LANGUAGE_CODE
    rows = [
        {
            "department": row["department"],
            "name": row["department"].name,
            "channels": [
                {
                    "value": channel,
                    "label": Channel(channel).label,
                    "state": state["state"],
                    "closures": [c.pk for c in state["closures"]],
                }
                for channel, state in row["channels"].items()
            ],
        }
        for row in selectors.channel_states(now=now)
    ]
    closures = selectors.closure_list_current_and_planned(now=now)
    notices = selectors.notice_list_active(now=now)
    return render(
        request,
        "status.html",
        {
            "now": now,
            "rows": rows,
            "current_closures": [
                selectors.closure_for_display(c, language=language)
                for c in closures
                if c.is_current
            ],
            "planned_closures": [
                selectors.closure_for_display(c, language=language)
                for c in closures
                if not c.is_current
            ],
            "notices": [selectors.notice_for_display(n, language=language) for n in notices],
            "hospital_phone": settings.YUYUE_HOSPITAL_PHONE,
            "walkin_windows": settings.YUYUE_WALKIN_WINDOWS,
            "walkin_hours": settings.YUYUE_WALKIN_HOURS,
        },
    )


def staff_required(view):
    """Verified staff (else to sign in) holding booking.print_sign (else 403: sending a
    signed-in person to sign in again would only bring them back here)."""
    return user_passes_test(is_verified_staff, login_url="admin:login")(
        permission_required("booking.print_sign", raise_exception=True)(view)
    )


@staff_required
def sign_closure(request: HttpRequest, closure_id: int) -> HttpResponse:
    """An A4 sign for a closure: both languages, what to do instead, a QR of /status."""
    closure = get_object_or_404(
        Closure.objects.select_related(
            "department", "doctor", "session__doctor", "session__department"
        ),
        pk=closure_id,
    )
    names = selectors.closure_target_names(closure)
    return render(
        request,
        "signs/closure.html",
        {
            "closure": closure,
            "target_zh": names["zh-hans"],
            "target_en": names["en"],
            "until": selectors.closure_effective_end(closure),
            "channel_labels": [Channel(value).label for value in closure.channels()],
            "text_size": sign_text_size(
                headings=(names["zh-hans"], names["en"]),
                notices=(closure.notice, closure.notice_en),
            ),
            **_sign_context(request),
        },
    )


@staff_required
def sign_session(request: HttpRequest, session_id: int) -> HttpResponse:
    """An A4 sign for a stopped session [停诊]: both languages, alternatives, a QR of /status."""
    session = get_object_or_404(
        Session.objects.select_related("doctor", "department", "room"),
        pk=session_id,
        status=Session.Status.STOPPED,
    )
    context = {
        "session": session,
        # Each half names the clinic and the doctor, and gives the reason, in its language.
        "text_size": sign_text_size(
            headings=(
                *texts(session.department, "name").values(),
                *texts(session.doctor, "name").values(),
            ),
            notices=(session.stop_reason, session.stop_reason),
        ),
        **_sign_context(request),
    }
    return render(request, "signs/session.html", context)


def _sign_context(request: HttpRequest) -> dict:
    status_path = reverse("status")
    base = settings.YUYUE_PUBLIC_URL.rstrip("/")
    status_url = f"{base}{status_path}" if base else request.build_absolute_uri(status_path)
    return {
        "status_url": status_url,
        "qr_svg": qr_svg(status_url, css_class="sign__qr-code", label=f"QR code: {status_url}"),
        # A sign speaks both languages: the name in each, once if they are the same.
        "hospital_name": " ".join(
            dict.fromkeys(hospital_name(code) for code, _name in settings.LANGUAGES)
        ),
        "hospital_phone": settings.YUYUE_HOSPITAL_PHONE,
        "walkin_windows": settings.YUYUE_WALKIN_WINDOWS,
        "walkin_hours": settings.YUYUE_WALKIN_HOURS,
        "printed_at": timezone.now(),
    }


# From these sizes on css/sign.css sets smaller type (sign--long, sign--longest), so that
# the longest names and notices the forms allow still fit one A4 sheet; measured by
# printing in Chromium (tests/e2e/test_signs_browser.py).
SIGN_TEXT_LONG = 140
SIGN_TEXT_LONGEST = 300


def sign_text_size(*, headings: tuple[str, ...] = (), notices: tuple[str, ...]) -> str:
    """The type size that keeps a sign on one A4 sheet: "", "long" or "longest".

    Estimates the area a sign's variable texts take, in square ems of the notice's type:
    a Chinese character is about one em wide, a Latin letter or a space about half, and
    a heading (the closed clinic's name), set 1.5 times larger, takes 1.5² times as much.
    """

    def ems(text: str) -> float:
        return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text)

    area = sum(map(ems, notices)) + 2.25 * sum(map(ems, headings))
    if area >= SIGN_TEXT_LONGEST:
        return "longest"
    if area >= SIGN_TEXT_LONG:
        return "long"
    return ""
