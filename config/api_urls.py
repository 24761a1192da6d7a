"""Everything under /api/v1/: each app's routes, the schema and its docs page.

The docs page's scripts are this project's static files (drf-spectacular-sidecar).
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.api_docs import ApiDocsView

urlpatterns = [
    path("", include("patients.api_urls")),
    path("", include("staff.api_urls")),
    path("", include("booking.api_urls")),
    path("", include("frontdesk.api_urls")),
    path("", include("interop.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
]
