from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from booking import apis as booking_apis
from booking import views as booking_views
from config import health
from core import views as core_views
from frontdesk.views import board

urlpatterns = [
    path("", booking_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("status", booking_views.status, name="status"),
    path("clinics/", booking_views.browse, name="browse"),
    path("clinics/<slug:code>/", booking_views.browse_department, name="browse-department"),
    path("text-size", core_views.text_size, name="text-size"),
    path("signs/closure/<int:closure_id>", booking_views.sign_closure, name="sign-closure"),
    path("signs/session/<int:session_id>", booking_views.sign_session, name="sign-session"),
    path("board/<slug:room_code>/", board.board_page, name="queue-board"),
    path("board/<slug:room_code>/data", board.board_data, name="queue-board-data"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("patients.urls")),
    path("book/", include("booking.urls")),
    # Before the admin's own URLs (its catch-all): the enrolment link and the keep-alive.
    path("admin/", include("staff.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/status", booking_apis.StatusApi.as_view(), name="api-status"),
    path(
        "api/v1/staff/closures",
        booking_apis.StaffClosureListCreateApi.as_view(),
        name="api-staff-closures",
    ),
    path(
        "api/v1/staff/closures/<int:closure_id>/reopen",
        booking_apis.StaffClosureReopenApi.as_view(),
        name="api-staff-closure-reopen",
    ),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
]
