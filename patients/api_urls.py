"""patients API routes, under /api/v1/ (config/api_urls.py)."""

from django.urls import path

from patients.apis import auth, family

urlpatterns: list = [
    path("auth/code", auth.AuthCodeApi.as_view(), name="api-auth-code"),
    path("auth/token", auth.AuthTokenApi.as_view(), name="api-auth-token"),
    path("patients", family.MyPatientListCreateApi.as_view(), name="api-patients"),
    path("patients/<int:patient_id>", family.MyPatientDetailApi.as_view(), name="api-patient"),
]
