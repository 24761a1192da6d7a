"""frontdesk API routes, under /api/v1/ (config/api_urls.py)."""

from django.urls import path

from frontdesk import apis

urlpatterns = [
    path("staff/bookings", apis.StaffBookingCreateApi.as_view(), name="api-staff-bookings"),
    path("staff/check-ins", apis.StaffCheckInApi.as_view(), name="api-staff-check-ins"),
    path(
        "staff/sessions/<str:session_id>/queue",
        apis.StaffSessionQueueApi.as_view(),
        name="api-staff-session-queue",
    ),
]
