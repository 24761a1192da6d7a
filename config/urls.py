from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from booking import views as booking_views
from config import health
from config.metrics import metrics_view
from core import views as core_views
from frontdesk.views import board

urlpatterns = [
    path("", booking_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("healthz/background", health.background, name="healthz-background"),
    # For the Prometheus scraper only: YUYUE_METRICS_ALLOWED_IPS, 403 for anyone else.
    path("metrics", metrics_view, name="metrics"),
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
    # YUYUE_ADMIN_PATH: everything else reaches these through reverse(), never "/admin/".
    path(settings.YUYUE_ADMIN_PATH, include("staff.urls")),
    path(settings.YUYUE_ADMIN_PATH, admin.site.urls),
    path("api/v1/", include("config.api_urls")),
]
handler404 = "config.errors.not_found"
