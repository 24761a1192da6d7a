"""FHIR R4 (read only) and SMART Scheduling Links, under /api/v1/fhir/.

Thin: parse the search, read through interop.selectors (or booking's), map with
interop.fhir, render. Schedule, Slot and the bulk files are public (no sign-in, cached
briefly); Appointment is the signed-in patient's own bookings. Bodies are
`application/fhir+json` (NDJSON files `application/fhir+ndjson`) whatever the Accept
header; refusals keep the API's one shape, {code, detail}.
"""

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from booking.selectors.bookings import booking_list_for_account
from booking.views.book import step_url
from core.api import ApiView, PatientAccount, Public, error_responses
from core.hospital import hospital_address, hospital_name
from interop import fhir, smart
from interop import selectors as interop_selectors
from interop.selectors import START_LOOKUPS, PublishedSlot

# --- rendering ------------------------------------------------------------------------------


class FhirJsonRenderer(JSONRenderer):
    media_type = fhir.FHIR_JSON
    format = "fhir"


class FhirNdjsonRenderer(BaseRenderer):
    """A bulk file (already NDJSON text); a refusal as one JSON line."""

    media_type = fhir.FHIR_NDJSON
    format = "ndjson"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, str):
            return data.encode("utf-8")
        return smart.ndjson([data]).encode("utf-8")


class OnlyRendererNegotiation(BaseContentNegotiation):
    """FHIR bodies have one type: answer it whatever the client accepts."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FhirApiView(ApiView):
    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = OnlyRendererNegotiation


class PublicFhirApiView(FhirApiView):
    """Public, cacheable reads: no sign-in is looked at."""

    authentication_classes: list = []
    access = {"GET": Public()}
    max_age = 60

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200:
            response["Cache-Control"] = f"public, max-age={self.max_age}"
        return response


def _absolute(request: Request, path: str) -> str:
    """`path` on the public site (YUYUE_PUBLIC_URL), else on the address asked."""
    public = settings.YUYUE_PUBLIC_URL.rstrip("/")
    return f"{public}{path}" if public else request.build_absolute_uri(path)


def _fhir_base(request: Request) -> str:
    return _absolute(request, reverse("api-fhir-schedules")).rsplit("/", 1)[0]


def _self_url(request: Request) -> str:
    query = request.META.get("QUERY_STRING", "")
    return _absolute(request, request.path) + (f"?{query}" if query else "")


def _booking_link(request: Request, published: PublishedSlot) -> str:
    """The patient site's page for this slot: its confirm step when free, else the
    session's slot step (what is left, and the alternatives)."""
    slot = published.slot
    session = slot.session
    choices = {"department": session.department_id, "doctor": session.doctor_id}
    if published.free:
        path = step_url("booking:confirm", **choices, session=session.pk, slot=slot.pk)
    else:
        path = step_url("booking:slot", **choices, session=session.pk)
    return _absolute(request, path)


def _slot_resources(request: Request, published: list[PublishedSlot]) -> list[dict]:
    return [
        fhir.slot(
            item.slot,
            free=item.free,
            places=item.places,
            booking_url=_booking_link(request, item),
            phone=fhir.department_phone(
                item.slot.session.department, hospital_phone=settings.YUYUE_HOSPITAL_PHONE
            ),
        )
        for item in published
    ]


def _schedule_resources() -> list[dict]:
    """Every department's Schedule, then every doctor's."""
    return [
        *(fhir.department_schedule(d) for d in interop_selectors.schedule_department_list()),
        *(fhir.doctor_schedule(d) for d in interop_selectors.schedule_doctor_list()),
    ]


# --- the schema's names for FHIR bodies ------------------------------------------------------


class FhirBundle(serializers.Serializer):
    """A FHIR R4 Bundle of type searchset: `entry[].resource` holds each match (a
    Schedule, Slot or Appointment resource, see https://hl7.org/fhir/R4/)."""

    resourceType = serializers.CharField(help_text='Always "Bundle".')
    type = serializers.CharField(help_text='Always "searchset".')
    total = serializers.IntegerField()
    link = serializers.ListField(child=serializers.DictField(), help_text="The self link.")
    entry = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each match: {fullUrl, resource, search: {mode: match}}.",
    )


class FhirSchedule(serializers.Serializer):
    """A FHIR R4 Schedule: a doctor's (`doctor-<id>`: actor Location then Practitioner)
    or a department's (`department-<id>`: actor Location)."""

    resourceType = serializers.CharField(help_text='Always "Schedule".')
    id = serializers.CharField()
    active = serializers.BooleanField()
    serviceType = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="The clinic level."
    )
    specialty = serializers.ListField(child=serializers.DictField())
    actor = serializers.ListField(child=serializers.DictField())
    comment = serializers.CharField()


class FhirAppointment(serializers.Serializer):
    """A FHIR R4 Appointment: one of the caller's bookings (`booking-<id>`)."""

    resourceType = serializers.CharField(help_text='Always "Appointment".')
    id = serializers.CharField()
    status = serializers.CharField(
        help_text="booked, checked-in, fulfilled, cancelled or noshow (FHIR's codes)."
    )
    start = serializers.CharField()
    end = serializers.CharField()
    participant = serializers.ListField(child=serializers.DictField())


class BulkPublishFile(serializers.Serializer):
    type = serializers.ChoiceField(choices=[(kind, kind) for kind in smart.BULK_TYPES])
    url = serializers.URLField(help_text="The NDJSON file's full URL.")


class BulkPublishManifest(serializers.Serializer):
    """The SMART Scheduling Links manifest (a FHIR bulk-publish manifest)."""

    transactionTime = serializers.CharField(help_text="When this data set was made (ISO 8601).")
    request = serializers.URLField(help_text="The manifest's own URL.")
    output = BulkPublishFile(many=True)
    error = serializers.ListField(child=serializers.DictField(), help_text="Always empty.")


# --- Schedule -------------------------------------------------------------------------------


class FhirScheduleSearchApi(PublicFhirApiView):
    @extend_schema(
        operation_id="fhir_schedule_search",
        summary="FHIR Schedule search",
        description="Every active department's Schedule and every active doctor's, as a "
        "FHIR searchset Bundle (application/fhir+json). Public.",
        responses={200: FhirBundle, **error_responses(generic=(405, 429))},
    )
    def get(self, request: Request) -> Response:
        resources = _schedule_resources()
        return Response(
            fhir.searchset(resources, base_url=_fhir_base(request), self_url=_self_url(request))
        )


class FhirScheduleReadApi(PublicFhirApiView):
    @extend_schema(
        operation_id="fhir_schedule_read",
        summary="FHIR Schedule read",
        description="One Schedule: `doctor-<id>` or `department-<id>`. Public.",
        parameters=[
            OpenApiParameter(
                "schedule_id",
                str,
                OpenApiParameter.PATH,
                description="doctor-<id> or department-<id>.",
            )
        ],
        responses={200: FhirSchedule, **error_responses(generic=(404, 405, 429))},
    )
    def get(self, request: Request, schedule_id: str) -> Response:
        parsed = fhir.parse_schedule_id(schedule_id)
        resource = None
        if parsed is not None:
            kind, pk = parsed
            if kind == "doctor":
                doctor = interop_selectors.schedule_doctor_get(doctor_id=pk)
                resource = fhir.doctor_schedule(doctor) if doctor else None
            else:
                department = interop_selectors.schedule_department_get(department_id=pk)
                resource = fhir.department_schedule(department) if department else None
        if resource is None:
            raise exceptions.NotFound()
        return Response(resource)


# --- Slot -----------------------------------------------------------------------------------


class FhirSlotSearchQuery(serializers.Serializer):
    schedule = serializers.CharField(required=False, max_length=80)
    start = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    status = serializers.ChoiceField(choices=[("free", "free"), ("busy", "busy")], required=False)

    def validate_schedule(self, value: str) -> tuple[str, int]:
        parsed = fhir.parse_schedule_id(value)
        if parsed is None:
            raise serializers.ValidationError(
                _("A schedule is doctor-<id> or department-<id>, e.g. doctor-12.")
            )
        return parsed

    def validate_start(self, values: list[str]) -> list[tuple[str, datetime.datetime]]:
        found: list[tuple[str, datetime.datetime]] = []
        for value in values:
            bounds = _start_bounds(value)
            if bounds is None:
                raise serializers.ValidationError(
                    _(
                        "A start is a date or a date and time with an optional prefix "
                        "ge, gt, le, lt or eq, e.g. ge2026-11-24."
                    )
                )
            found += bounds
        return found


def _start_bounds(value: str) -> list[tuple[str, datetime.datetime]] | None:
    """FHIR's date search on Slot.start as (lookup prefix, moment) pairs, a day being
    Beijing's whole day: "ge2026-11-24", "lt2026-11-25T12:00:00+08:00"; None if unreadable."""
    prefix = value[:2] if value[:2] in START_LOOKUPS else "eq"
    text = value[2:] if value[:2] in START_LOOKUPS else value
    try:
        # A date first: Python reads "2026-11-24" as a date-time at midnight too.
        day = parse_date(text)
        moment = None if day else parse_datetime(text)
    except ValueError:
        return None
    if moment is not None:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return [(prefix, moment)]
    if day is None:
        return None
    lower = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
    upper = timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
    )
    return {
        "eq": [("ge", lower), ("lt", upper)],
        "ge": [("ge", lower)],
        "gt": [("ge", upper)],
        "lt": [("lt", lower)],
        "le": [("lt", upper)],
    }[prefix]


class FhirSlotSearchApi(PublicFhirApiView):
    @extend_schema(
        operation_id="fhir_slot_search",
        summary="FHIR Slot search",
        description="The slots of the booking window that have not started, as a FHIR "
        "searchset Bundle. Free or busy from the ONLINE quota: free while online places "
        "are left and online booking is open, busy otherwise. Each Slot carries the "
        "patient site's booking page in `comment` and in the SMART booking-deep-link "
        "extension, the booking phone (booking-phone) and, when free, the places left "
        "(slot-capacity). Public.",
        parameters=[
            OpenApiParameter(
                "schedule",
                str,
                description="Only this Schedule's slots: doctor-<id> or department-<id> "
                "(a department's: its doctors' slots there). Unknown: an empty Bundle.",
            ),
            OpenApiParameter(
                "start",
                str,
                many=True,
                description="Slot start, FHIR date search: a date or date-time with an "
                "optional prefix ge, gt, le, lt or eq; repeat for a range "
                "(start=ge2026-11-24&start=lt2026-11-26). A date is Beijing's whole day.",
            ),
            OpenApiParameter("status", str, enum=["free", "busy"], description="Only these."),
        ],
        responses={200: FhirBundle, **error_responses(generic=(400, 405, 429))},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        query = {"start": params.getlist("start")}
        for name in ("schedule", "status"):
            if name in params:
                query[name] = params[name]
        data = FhirSlotSearchQuery(data=query)
        data.is_valid(raise_exception=True)
        search = data.validated_data
        owner = {}
        if "schedule" in search:
            kind, pk = search["schedule"]
            owner = {"doctor_id": pk} if kind == "doctor" else {"department_id": pk}
        published = interop_selectors.slot_list_published(
            now=timezone.now(), start=search.get("start", []), **owner
        )
        if "status" in search:
            published = [p for p in published if (p.free is (search["status"] == "free"))]
        resources = _slot_resources(request, published)
        return Response(
            fhir.searchset(resources, base_url=_fhir_base(request), self_url=_self_url(request))
        )


# --- Appointment ----------------------------------------------------------------------------


class FhirAppointmentSearchApi(FhirApiView):
    access = {"GET": PatientAccount()}

    @extend_schema(
        operation_id="fhir_appointment_search",
        summary="FHIR Appointment search: my bookings",
        description="The signed-in patient account's bookings (all its patients', every "
        "status), as a FHIR searchset Bundle. Never another account's.",
        responses={200: FhirBundle, **error_responses(generic=(401, 403, 405, 429))},
    )
    def get(self, request: Request) -> Response:
        bookings = booking_list_for_account(account=request.user)
        resources = [fhir.appointment(booking) for booking in bookings]
        return Response(
            fhir.searchset(resources, base_url=_fhir_base(request), self_url=_self_url(request))
        )


class FhirAppointmentReadApi(FhirApiView):
    access = {"GET": PatientAccount()}

    @extend_schema(
        operation_id="fhir_appointment_read",
        summary="FHIR Appointment read: one of my bookings",
        description="`booking-<id>`, one of the signed-in account's bookings; another "
        "account's answers 404, as an unknown one does.",
        parameters=[
            OpenApiParameter(
                "appointment_id", str, OpenApiParameter.PATH, description="booking-<id>."
            )
        ],
        responses={200: FhirAppointment, **error_responses(generic=(401, 403, 404, 405, 429))},
    )
    def get(self, request: Request, appointment_id: str) -> Response:
        prefix, _sep, pk = appointment_id.partition("-")
        booking = None
        if prefix == "booking" and pk.isdigit() and len(pk) < 19:
            booking = booking_list_for_account(account=request.user).filter(pk=int(pk)).first()
        if booking is None:
            raise exceptions.NotFound()
        return Response(fhir.appointment(booking))


# --- SMART Scheduling Links bulk publication -------------------------------------------------


class BulkPublishApi(PublicFhirApiView):
    """The `$bulk-publish` manifest: read every minute or so by aggregators."""

    renderer_classes = [JSONRenderer]
    max_age = smart.MANIFEST_MAX_AGE

    @extend_schema(
        operation_id="fhir_bulk_publish",
        summary="SMART Scheduling Links manifest",
        description="The `$bulk-publish` manifest of SMART Scheduling Links: links to the "
        "Location, Schedule and Slot NDJSON files. Public; cached for a minute.",
        responses={200: BulkPublishManifest, **error_responses(generic=(405, 429))},
    )
    def get(self, request: Request) -> Response:
        urls = {
            kind: _absolute(request, reverse(f"api-fhir-bulk-{kind.lower()}"))
            for kind in smart.BULK_TYPES
        }
        document = smart.manifest(
            transaction_time=timezone.now(),
            request_url=_absolute(request, request.path),
            file_urls=urls,
        )
        return Response(document)


class BulkFileApi(PublicFhirApiView):
    """One NDJSON file of the bulk publication: Location, Schedule or Slot."""

    renderer_classes = [FhirNdjsonRenderer]
    kind = "Slot"

    @property
    def max_age(self) -> int:
        return smart.SLOT_MAX_AGE if self.kind == "Slot" else smart.CATALOGUE_MAX_AGE

    @extend_schema(
        summary="SMART Scheduling Links file",
        description="One minified FHIR resource per line (application/fhir+ndjson). "
        "Location: one per department. Schedule: one per doctor (actor: the department's "
        "Location, then the Practitioner). Slot: the booking window's slots not started, "
        "free or busy from the online quota, with the booking-deep-link, booking-phone "
        "and (free) slot-capacity extensions. Public; cached for a minute (Slot) or five "
        "(Location, Schedule).",
        responses={
            200: OpenApiResponse(OpenApiTypes.STR, description="NDJSON lines."),
            **error_responses(generic=(405, 429)),
        },
    )
    def get(self, request: Request) -> Response:
        if self.kind == "Location":
            resources = [
                fhir.location(
                    department,
                    hospital_name=hospital_name(),
                    hospital_address=hospital_address(),
                    phone=fhir.department_phone(
                        department, hospital_phone=settings.YUYUE_HOSPITAL_PHONE
                    ),
                )
                for department in interop_selectors.schedule_department_list()
            ]
        elif self.kind == "Schedule":
            resources = [
                fhir.doctor_schedule(doctor) for doctor in interop_selectors.schedule_doctor_list()
            ]
        else:
            published = interop_selectors.slot_list_published(now=timezone.now())
            resources = _slot_resources(request, published)
        return Response(smart.ndjson(resources))


@extend_schema_view(get=extend_schema(operation_id="fhir_bulk_location_file"))
class BulkLocationFileApi(BulkFileApi):
    kind = "Location"


@extend_schema_view(get=extend_schema(operation_id="fhir_bulk_schedule_file"))
class BulkScheduleFileApi(BulkFileApi):
    kind = "Schedule"


@extend_schema_view(get=extend_schema(operation_id="fhir_bulk_slot_file"))
class BulkSlotFileApi(BulkFileApi):
    kind = "Slot"
