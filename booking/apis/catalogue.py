"""The catalogue and availability, read-only and public: departments, doctors, sessions
and their slots, with the places per channel the caller may use.

Channels shown (`places`, `availability`):
- anonymous callers and patients: `online`, the channel they book through, and `walkin`
  as information (places at the registration windows on the day, for whoever cannot
  book online); `has_places` and `bookable_now` judge the online channel only. The
  phone quota is the call centre's, booked by staff: not shown to the public;
- staff with a verified second factor (`core.api_access.Staff` without permissions):
  `online`, `phone` and `walkin`; `has_places` judges all three.
The `reserved` quota (the doctor's follow-ups) is never shown.

Availability reads (sessions, slots) answer with an `ETag` (a hash of the body) and
`Cache-Control: max-age=5` (public for anonymous callers, private otherwise);
`If-None-Match` with the current tag answers 304 with no body. The catalogue (departments,
doctors) does the same with `max-age=60`. Places come from the quota rows
(booking/selectors/api_catalogue.py), never from the booking table.

The rendered bodies are also cached on the server (booking/apis/cache.py): keyed by
path, query, caller class, language and the minute, invalidated by the availability
generation (clinics.cache), served for up to a second after a change under churn. A hit
runs no query.

Thin: parse the query, call one selector, render.
"""

import datetime
import hashlib

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from booking import channels as booking_channels
from booking import exceptions as errors
from booking.apis import cache as response_cache
from booking.apis.status import CLOSABLE_CHANNEL_CHOICES
from booking.selectors import api_catalogue as selectors
from booking.selectors.availability import State
from clinics import selectors as clinic_selectors
from clinics.models import Channel, ClinicLevel, Doctor, HalfDay, Session
from core.api import ApiView, Public, Staff, error_responses

# What each kind of caller sees and may book (module docstring).
PUBLIC_CHANNELS = (Channel.ONLINE, Channel.WALKIN)
PUBLIC_BOOKABLE = (Channel.ONLINE,)
STAFF_CHANNELS = booking_channels.PATIENT_FACING
AVAILABILITY_MAX_AGE = 5
CATALOGUE_MAX_AGE = 60
# The longest date range one sessions request may ask for.
MAX_RANGE_DAYS = 31
# Dates asked for lie within a year of today.
MAX_DISTANCE_DAYS = 366
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

AVAILABILITY_STATE_CHOICES = [
    (State.OPEN.value, "open: places can be taken now"),
    (State.FULL.value, "full: none left in the slots still to come"),
    (State.ENDED.value, "ended: every slot has started"),
    (State.STOPPED.value, "stopped: the doctor does not see patients in this session"),
    (State.PAUSED.value, "paused: a closure switches the channel off now"),
    (State.NOT_RELEASED.value, "not_released: the day opens at `opens_at`"),
]
SLOT_REFUSALS = (
    errors.SessionStopped,
    errors.SlotStarted,
    errors.OutsideWindow,
    errors.NotYetReleased,
    errors.ChannelClosed,
    errors.SlotFull,
)
SLOT_REFUSAL_CHOICES = [(error.code, error.code) for error in SLOT_REFUSALS]


def _is_staff(request: Request) -> bool:
    return Staff().allows(request)


def _channels(request: Request) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(channels shown, channels judged bookable) for the caller."""
    if _is_staff(request):
        return tuple(STAFF_CHANNELS), tuple(STAFF_CHANNELS)
    return PUBLIC_CHANNELS, PUBLIC_BOOKABLE


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def render_json(data) -> bytes:
    return JSONRenderer().render(data)


def cached_response(request: Request, body: bytes, *, max_age: int) -> HttpResponse:
    """The JSON `body` with an ETag and a short Cache-Control; 304 when the caller's
    `If-None-Match` holds the tag (weak comparison, as RFC 9110 asks for GET)."""
    tag = etag_of(body)
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    if "*" in wanted or tag in [t.removeprefix("W/") for t in wanted]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = tag
    # A staff caller's body shows more channels: never in a shared cache.
    if request.user and request.user.is_authenticated:
        patch_cache_control(response, private=True, max_age=max_age)
    else:
        patch_cache_control(response, public=True, max_age=max_age)
    patch_vary_headers(response, ("Accept-Language", "Authorization", "Cookie"))
    return response


def cached_read(request: Request, build, *, max_age: int, by_caller: bool = False) -> HttpResponse:
    """`build()` (the data to render) through the server-side cache, then
    `cached_response`. `by_caller`: the body differs for verified staff (more channels)."""
    caller = ("staff" if _is_staff(request) else "public") if by_caller else ""
    key = response_cache.response_key(request, caller=caller)
    body = response_cache.cached_body(key, lambda: render_json(build()))
    return cached_response(request, body, max_age=max_age)


IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag of an earlier answer: 304 with no body while it is unchanged.",
)
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified: the ETag still matches.")}
READ_ERRORS = (401, 405, 406, 429)


# --- serializers (the schema's components) -----------------------------------------------


class DepartmentRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language (Accept-Language).")


class DepartmentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language (Accept-Language).")
    parent = serializers.CharField(
        source="parent.code", allow_null=True, help_text="The parent department's code."
    )
    location = serializers.CharField(help_text="In the request's language; may be empty.")
    phone = serializers.CharField(help_text="The department's phone; may be empty.")
    sub_clinics = serializers.SerializerMethodField(help_text="Codes of active sub-clinics.")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_sub_clinics(self, department) -> list[str]:
        return [clinic.code for clinic in department.sub_clinics.all()]


class DoctorRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="In English: the name in pinyin.")
    title = serializers.ChoiceField(choices=Doctor.Title.choices)


class DoctorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="In English: the name in pinyin.")
    title = serializers.ChoiceField(choices=Doctor.Title.choices)
    level = serializers.ChoiceField(choices=ClinicLevel.choices)
    fee = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="Yuan.")
    specialties = serializers.CharField(help_text="In the request's language; may be empty.")
    bio = serializers.CharField(help_text="In the request's language; may be empty.")
    department = DepartmentRefSerializer()


def _places_serializer(name: str, doc: str):
    return serializers.SerializerMetaclass(
        name,
        (serializers.Serializer,),
        {
            "__doc__": doc,
            "__module__": __name__,
            **{
                channel.value: serializers.IntegerField(
                    required=False,
                    min_value=0,
                    help_text="Present when the caller may see this channel"
                    + (" (staff only)." if channel not in PUBLIC_CHANNELS else "."),
                )
                for channel in STAFF_CHANNELS
            },
        },
    )


ChannelPlacesSerializer = _places_serializer(
    "ChannelPlacesSerializer",
    "Places left per channel the caller may see: online and walkin for everyone, phone for staff.",
)


class ChannelAvailabilitySerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=CLOSABLE_CHANNEL_CHOICES)
    state = serializers.ChoiceField(choices=AVAILABILITY_STATE_CHOICES)
    places = serializers.IntegerField(help_text="Places that can be taken now (open only).")
    opens_at = serializers.DateTimeField(
        allow_null=True, help_text="not_released: when the channel starts taking this day."
    )


class SessionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    doctor = DoctorRefSerializer()
    department = DepartmentRefSerializer()
    date = serializers.DateField()
    half_day = serializers.ChoiceField(choices=HalfDay.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    level = serializers.ChoiceField(choices=ClinicLevel.choices)
    fee = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="Yuan.")
    status = serializers.ChoiceField(
        choices=Session.Status.choices, help_text="stopped: the doctor stopped it [停诊]."
    )
    places = serializers.SerializerMethodField(
        help_text="Places left per channel in the slots not yet started."
    )
    availability = serializers.SerializerMethodField(
        help_text="Each channel's state, in the order online, phone, walkin."
    )

    @extend_schema_field(ChannelPlacesSerializer)
    def get_places(self, session: Session) -> dict:
        return {str(c): session.places_left[c] for c in session.availability}

    @extend_schema_field(ChannelAvailabilitySerializer(many=True))
    def get_availability(self, session: Session) -> list:
        return ChannelAvailabilitySerializer(session.availability.values(), many=True).data


class SessionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Sessions matching the filters, all pages.")
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="The next page, if any.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, if any.")
    results = SessionSummarySerializer(many=True)


class SlotRefusalSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=SLOT_REFUSAL_CHOICES)
    detail = serializers.CharField(help_text="Why, in the request's language.")


class SlotAvailabilitySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="slot.pk")
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    places = ChannelPlacesSerializer()
    bookable_now = serializers.BooleanField(
        help_text="A patient could book it online now (their own limits aside)."
    )
    refusal = serializers.SerializerMethodField(
        help_text="What a patient booking it online now would be refused with; null when "
        "bookable_now. Their own limits (one booking per department and day...) aside."
    )

    @extend_schema_field(SlotRefusalSerializer(allow_null=True))
    def get_refusal(self, item: selectors.SlotAvailability) -> dict | None:
        if item.refusal is None:
            return None
        return {"code": item.refusal.code, "detail": item.refusal.detail}


# --- filters ---------------------------------------------------------------------------


class DepartmentField(serializers.SlugField):
    """A department code, turned into the active department (invalid when none)."""

    def run_validation(self, data=serializers.empty):
        code = super().run_validation(data)
        if code is serializers.empty or code is None:
            return code
        department = selectors.department_get_plain(code=code)
        if department is None:
            raise serializers.ValidationError(_("No department has this code."))
        return department


class DoctorFilterSerializer(serializers.Serializer):
    department = DepartmentField(
        required=False,
        help_text="A department code: its doctors and those of its sub-clinics.",
    )
    level = serializers.ChoiceField(choices=ClinicLevel.choices, required=False)


class SessionFilterSerializer(serializers.Serializer):
    department = DepartmentField(
        required=False,
        help_text="A department code: its sessions and those of its sub-clinics.",
    )
    doctor = serializers.IntegerField(
        required=False, min_value=1, help_text="A doctor's id (an unknown id lists nothing)."
    )
    level = serializers.ChoiceField(choices=ClinicLevel.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="Default: today (Beijing).")
    date_to = serializers.DateField(
        required=False,
        help_text="Inclusive. Default: the end of each department's booking window (and "
        f"the day after, once its sessions exist). At most {MAX_RANGE_DAYS} days from date_from; "
        "dates within a year of today.",
    )
    has_places = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only sessions where a channel the caller may book through "
        "(online; staff: online, phone, walkin) is open now; false: the others.",
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text=f"Page size, default {DEFAULT_LIMIT}, at most {MAX_LIMIT}.",
    )
    offset = serializers.IntegerField(
        required=False, default=0, min_value=0, help_text="Sessions to skip."
    )

    def validate(self, data: dict) -> dict:
        today = timezone.localdate()
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day is not None and abs((day - today).days) > MAX_DISTANCE_DAYS:
                raise serializers.ValidationError(
                    {name: [_("Choose a date within a year of today.")]}
                )
        start = data.get("date_from") or today
        end = data.get("date_to")
        if end is not None and end < start:
            raise serializers.ValidationError(
                {"date_to": [_("The end date is before the start date.")]}
            )
        # Without date_to the range ends with the booking window, about a week ahead.
        if (end or today) - start >= datetime.timedelta(days=MAX_RANGE_DAYS):
            field = "date_to" if end is not None else "date_from"
            message = _("Ask for at most %(days)s days at a time.") % {"days": MAX_RANGE_DAYS}
            raise serializers.ValidationError({field: [message]})
        return data


def _query(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- views -----------------------------------------------------------------------------


class DepartmentListApi(ApiView):
    """GET: the active departments in display order."""

    access = {"GET": Public()}

    @extend_schema(
        operation_id="departments_list",
        summary="Departments",
        description="Active departments and sub-clinics in display order, names in the "
        "request's language (Accept-Language: zh-hans or en).",
        parameters=[IF_NONE_MATCH],
        responses={
            200: DepartmentSerializer(many=True),
            **NOT_MODIFIED,
            **error_responses(generic=READ_ERRORS),
        },
        tags=["catalogue"],
    )
    def get(self, request: Request) -> Response:
        return cached_read(
            request,
            lambda: DepartmentSerializer(clinic_selectors.department_list(), many=True).data,
            max_age=CATALOGUE_MAX_AGE,
        )


class DepartmentDetailApi(ApiView):
    """GET: one active department by its code."""

    access = {"GET": Public()}

    @extend_schema(
        operation_id="departments_retrieve",
        summary="A department",
        parameters=[
            OpenApiParameter(
                "department_code",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The department's code, e.g. cataract.",
            ),
            IF_NONE_MATCH,
        ],
        responses={
            200: DepartmentSerializer,
            **NOT_MODIFIED,
            **error_responses(generic=(401, 404, 405, 406, 429)),
        },
        tags=["catalogue"],
    )
    def get(self, request: Request, department_code: str) -> Response:
        def build():
            department = selectors.department_get(code=department_code)
            if department is None:
                raise Http404
            return DepartmentSerializer(department).data

        return cached_read(request, build, max_age=CATALOGUE_MAX_AGE)


class DoctorListApi(ApiView):
    """GET: the active doctors, by department and clinic level."""

    access = {"GET": Public()}

    @extend_schema(
        operation_id="doctors_list",
        summary="Doctors",
        description="Active doctors of active departments, by department and name.",
        parameters=[DoctorFilterSerializer, IF_NONE_MATCH],
        responses={
            200: DoctorSerializer(many=True),
            **NOT_MODIFIED,
            **error_responses(generic=(400, 401, 405, 406, 429)),
        },
        tags=["catalogue"],
    )
    def get(self, request: Request) -> Response:
        def build():
            query = _query(DoctorFilterSerializer, request)
            doctors = selectors.doctor_list_for_api(
                department=query.get("department"), level=query.get("level")
            )
            return DoctorSerializer(doctors, many=True).data

        return cached_read(request, build, max_age=CATALOGUE_MAX_AGE)


class DoctorDetailApi(ApiView):
    """GET: one active doctor."""

    access = {"GET": Public()}

    @extend_schema(
        operation_id="doctors_retrieve",
        summary="A doctor",
        parameters=[IF_NONE_MATCH],
        responses={
            200: DoctorSerializer,
            **NOT_MODIFIED,
            **error_responses(generic=(401, 404, 405, 406, 429)),
        },
        tags=["catalogue"],
    )
    def get(self, request: Request, doctor_id: int) -> Response:
        def build():
            doctor = selectors.doctor_get(doctor_id=doctor_id)
            if doctor is None:
                raise Http404
            return DoctorSerializer(doctor).data

        return cached_read(request, build, max_age=CATALOGUE_MAX_AGE)


class SessionListApi(ApiView):
    """GET: sessions with their places per channel, filtered, a page at a time."""

    access = {"GET": Public()}

    @extend_schema(
        operation_id="sessions_list",
        summary="Sessions and their places",
        description=(
            "Open and stopped sessions in time order, with the places left per channel the "
            "caller may see (anonymous callers and patients: online, and walk-in as "
            "information; verified staff: online, phone, walk-in) and each channel's "
            "state. Paginated with `limit` and `offset`; `next` and `previous` link the "
            "pages. Cached for 5 seconds; send `If-None-Match` for a 304."
        ),
        parameters=[SessionFilterSerializer, IF_NONE_MATCH],
        responses={
            200: SessionPageSerializer,
            **NOT_MODIFIED,
            **error_responses(generic=(400, 401, 405, 406, 429)),
        },
        tags=["availability"],
    )
    def get(self, request: Request) -> Response:
        return cached_read(
            request, lambda: self.page(request), max_age=AVAILABILITY_MAX_AGE, by_caller=True
        )

    def page(self, request: Request) -> dict:
        query = _query(SessionFilterSerializer, request)
        shown, bookable = _channels(request)
        sessions = selectors.session_list_for_api(
            now=timezone.now(),
            channels=shown,
            bookable=bookable,
            department=query.get("department"),
            doctor_id=query.get("doctor"),
            level=query.get("level"),
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
            has_places=query["has_places"],
        )
        limit, offset = query["limit"], query["offset"]
        page = sessions[offset : offset + limit]
        url = request.build_absolute_uri()
        return {
            "count": len(sessions),
            "limit": limit,
            "offset": offset,
            "next": _page_url(url, limit, offset + limit)
            if offset + limit < len(sessions)
            else None,
            "previous": _page_url(url, limit, max(offset - limit, 0)) if offset > 0 else None,
            "results": SessionSummarySerializer(page, many=True).data,
        }


def _page_url(url: str, limit: int, offset: int) -> str:
    url = replace_query_param(url, "limit", limit)
    if offset == 0:
        return remove_query_param(url, "offset")
    return replace_query_param(url, "offset", offset)


class SessionSlotListApi(ApiView):
    """GET: a session's slots with their places and whether a patient could book now."""

    access = {"GET": Public()}

    @extend_schema(
        operation_id="sessions_slots_list",
        summary="A session's slots and their places",
        description=(
            "Each slot's places per channel the caller may see, and whether a patient "
            "could book it online now: `refusal` is the code and message the booking "
            "would be refused with (session_stopped, slot_started, outside_window, "
            "not_yet_released, channel_closed, slot_full), the patient's own limits aside. "
            "Cached for 5 seconds; send `If-None-Match` for a 304."
        ),
        parameters=[IF_NONE_MATCH],
        responses={
            200: SlotAvailabilitySerializer(many=True),
            **NOT_MODIFIED,
            **error_responses(generic=(401, 404, 405, 406, 429)),
        },
        tags=["availability"],
    )
    def get(self, request: Request, session_id: int) -> Response:
        def build():
            session = selectors.session_get_for_api(session_id=session_id)
            if session is None:
                raise Http404
            shown, _bookable = _channels(request)
            slots = selectors.slot_list_for_api(session=session, channels=shown, now=timezone.now())
            return SlotAvailabilitySerializer(slots, many=True).data

        return cached_read(request, build, max_age=AVAILABILITY_MAX_AGE, by_caller=True)
