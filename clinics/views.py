"""Public clinic pages. Thin: read through `clinics.selectors`, render."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinics import selectors

# The home page shows the booking window's default length (DESIGN.md: up to 7 days ahead).
HOME_DAYS = 7


def home(request: HttpRequest) -> HttpResponse:
    """The hospital, its clinics and doctors, and the coming week's sessions."""
    today = timezone.localdate()
    return render(
        request,
        "home.html",
        {
            "hospital_name": settings.YUYUE_HOSPITAL_NAME,
            "hospital_phone": settings.YUYUE_HOSPITAL_PHONE,
            "hospital_address": settings.YUYUE_HOSPITAL_ADDRESS,
            "today": today,
            "departments": selectors.department_list(),
            "doctors": selectors.doctor_list(),
            "sessions": selectors.session_list_upcoming(start=today, days=HOME_DAYS),
        },
    )
