"""FHIR R4 and SMART Scheduling Links routes, under /api/v1/ (config/api_urls.py)."""

from django.urls import path, re_path

from interop import apis

urlpatterns = [
    path("fhir/Schedule", apis.FhirScheduleSearchApi.as_view(), name="api-fhir-schedules"),
    path(
        "fhir/Schedule/<str:schedule_id>",
        apis.FhirScheduleReadApi.as_view(),
        name="api-fhir-schedule",
    ),
    path("fhir/Slot", apis.FhirSlotSearchApi.as_view(), name="api-fhir-slots"),
    path("fhir/Appointment", apis.FhirAppointmentSearchApi.as_view(), name="api-fhir-appointments"),
    path(
        "fhir/Appointment/<str:appointment_id>",
        apis.FhirAppointmentReadApi.as_view(),
        name="api-fhir-appointment",
    ),
    path(
        "fhir/bulk/Location.ndjson",
        apis.BulkLocationFileApi.as_view(),
        name="api-fhir-bulk-location",
    ),
    path(
        "fhir/bulk/Schedule.ndjson",
        apis.BulkScheduleFileApi.as_view(),
        name="api-fhir-bulk-schedule",
    ),
    path("fhir/bulk/Slot.ndjson", apis.BulkSlotFileApi.as_view(), name="api-fhir-bulk-slot"),
    # A regular expression with an escaped "$": the schema generator drops the "$" of a
    # plain route (it reads routes as regular expressions) and would name another address.
    re_path(r"^fhir/\$bulk-publish$", apis.BulkPublishApi.as_view(), name="api-fhir-bulk-publish"),
]
