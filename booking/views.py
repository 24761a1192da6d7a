"""Public status page and the printable signs for the doors and windows. Thin: read, render."""

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from booking.models import Closure
from booking.selectors import closures as selectors
from clinics.models import Channel, Session


def status(request: HttpRequest) -> HttpResponse:
    """Each department's channels, current and planned closures, notices. No sign-in."""
    now = timezone.now()
    language = translation.get_language() or settings.LANGUAGE_CODE
    chinese = language.startswith("zh")
    rows = [
        {
            "department": row["department"],
            "name": row["department"].name
            if chinese or not row["department"].name_en
            else row["department"].name_en,
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


def _is_verified_staff(user) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    return not settings.YUYUE_ADMIN_REQUIRE_OTP or user.is_verified()


staff_required = user_passes_test(_is_verified_staff, login_url="admin:login")


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
    return render(request, "signs/session.html", {"session": session, **_sign_context(request)})


def _sign_context(request: HttpRequest) -> dict:
    status_path = reverse("status")
    base = settings.YUYUE_PUBLIC_URL.rstrip("/")
    status_url = f"{base}{status_path}" if base else request.build_absolute_uri(status_path)
    return {
        "status_url": status_url,
        "qr_svg": qr_svg(status_url),
        "hospital_name": settings.YUYUE_HOSPITAL_NAME,
        "hospital_phone": settings.YUYUE_HOSPITAL_PHONE,
        "walkin_windows": settings.YUYUE_WALKIN_WINDOWS,
        "walkin_hours": settings.YUYUE_WALKIN_HOURS,
        "printed_at": timezone.now(),
    }


def qr_svg(text: str) -> str:
    """`text` as a QR code, an inline SVG element (no image file, no script, no CDN)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(text, image_factory=SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    # Size comes from the sign's stylesheet; the label tells a screen reader what it is.
    svg = svg.replace(
        "<svg ",
        '<svg class="sign__qr-code" role="img" aria-label="QR code: {}" '.format(
            text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        ),
        1,
    )
    return mark_safe(svg)  # noqa: S308 - generated here from an escaped URL
