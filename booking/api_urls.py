"""Booking's API routes, under /api/v1/ (config/api_urls.py)."""

from django.urls import path

from booking.apis import catalogue, mine, status
from notifications.apis import MyMessageListApi

urlpatterns = [
    path("status", status.StatusApi.as_view(), name="api-status"),
    path(
        "staff/closures",
        status.StaffClosureListCreateApi.as_view(),
        name="api-staff-closures",
    ),
    path(
        "staff/closures/<int:closure_id>/reopen",
        status.StaffClosureReopenApi.as_view(),
        name="api-staff-closure-reopen",
    ),
    # The patient's own bookings, waitlist entries and messages (booking/apis/mine.py).
    path("bookings", mine.MyBookingListCreateApi.as_view(), name="api-bookings"),
    path("bookings/<int:booking_id>", mine.MyBookingDetailApi.as_view(), name="api-booking"),
    path(
        "bookings/<int:booking_id>/cancel",
        mine.MyBookingCancelApi.as_view(),
        name="api-booking-cancel",
    ),
    path(
        "bookings/<int:booking_id>/reschedule",
        mine.MyBookingRescheduleApi.as_view(),
        name="api-booking-reschedule",
    ),
    path("waitlist", mine.MyWaitlistListCreateApi.as_view(), name="api-waitlist"),
    path("waitlist/<int:entry_id>", mine.MyWaitlistEntryApi.as_view(), name="api-waitlist-entry"),
    path("messages", MyMessageListApi.as_view(), name="api-messages"),
    path("departments", catalogue.DepartmentListApi.as_view(), name="api-departments"),
    path(
        "departments/<slug:department_code>",
        catalogue.DepartmentDetailApi.as_view(),
        name="api-department",
    ),
    path("doctors", catalogue.DoctorListApi.as_view(), name="api-doctors"),
    path("doctors/<int:doctor_id>", catalogue.DoctorDetailApi.as_view(), name="api-doctor"),
    path("sessions", catalogue.SessionListApi.as_view(), name="api-sessions"),
    path(
        "sessions/<int:session_id>/slots",
        catalogue.SessionSlotListApi.as_view(),
        name="api-session-slots",
    ),
]
