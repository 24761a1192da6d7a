"""Everything under /api/v1/: each app's routes, the schema and its docs page.

The docs page's scripts are this project's static files (drf-spectacular-sidecar).
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

urlpatterns = [
    path("", include("patients.api_urls")),
    path("", include("staff.api_urls")),
    path("", include("booking.api_urls")),
    path("", include("frontdesk.api_urls")),
    path("", include("interop.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
]
