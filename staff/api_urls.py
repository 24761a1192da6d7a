"""staff API routes, under /api/v1/ (config/api_urls.py)."""

from django.urls import path

from staff import apis

urlpatterns = [
    path("auth/staff-token", apis.StaffTokenApi.as_view(), name="api-auth-staff-token"),
]
