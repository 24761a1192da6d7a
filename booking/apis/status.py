"""JSON endpoints of closures: the public status, and the staff's closure controls.

Thin: parse, call one service or selector, render. Refusals are YuyueErrors, rendered
by `config.errors.api_exception_handler` as {"code", "detail"}. The status document is
built by `booking.selectors.closures.status_document` (shared with the status page)
and rendered through the serializers below, which are also its schema.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from booking import exceptions as errors
from booking.apis import cache as response_cache
from booking.channels import CLOSABLE
from booking.models import Closure, Notice
from booking.selectors import closures as selectors
from booking.services import closures as services
from clinics.models import Department, Doctor, Session
from core.api import ApiView, Public, Staff, error_responses

CLOSABLE_CHANNEL_CHOICES = [(channel.value, channel.label) for channel in CLOSABLE]
CHANNEL_STATE_CHOICES = [
    (selectors.OPEN, "open"),
    (selectors.CLOSED, "closed"),
    (selectors.PARTIAL, "partial: some doctors or sessions of the department are closed"),
]


# --- the public status ------------------------------------------------------------------

# A text in both languages: {"zh-hans": ..., "en": ...}. The keys are not identifiers,
# so the fields are declared by name.
LocalizedTextSerializer = serializers.SerializerMetaclass(
    "LocalizedTextSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "A text in Simplified Chinese and in English.",
        "__module__": __name__,
        "zh-hans": serializers.CharField(),
        "en": serializers.CharField(),
    },
)


class ChannelStateSerializer(serializers.Serializer):
    """Whether a department's channel books now, and the closures that decide it."""

    state = serializers.ChoiceField(choices=CHANNEL_STATE_CHOICES)
    closures = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the closures in `closures`."
    )


DepartmentChannelsSerializer = serializers.SerializerMetaclass(
    "DepartmentChannelsSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "Each channel ops can close, and its state in the department.",
        "__module__": __name__,
        **{channel.value: ChannelStateSerializer() for channel in CLOSABLE},
    },
)


class DepartmentStatusSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField(help_text="The Chinese name while there is no English one.")
    parent = serializers.CharField(allow_null=True, help_text="The parent department's code.")
    channels = DepartmentChannelsSerializer()


class StatusClosureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    scope = serializers.ChoiceField(choices=Closure.Scope.choices)
    target = LocalizedTextSerializer(allow_null=True, help_text="None for the whole hospital.")
    department = serializers.CharField(
        allow_null=True, help_text="The code of the department concerned, if any."
    )
    channels = serializers.ListField(child=serializers.ChoiceField(CLOSABLE_CHANNEL_CHOICES))
    reason = serializers.ChoiceField(choices=Closure.Reason.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True, help_text="None: until reopened.")
    current = serializers.BooleanField(help_text="In force now; false: planned.")
    notice = LocalizedTextSerializer()


class StatusNoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    severity = serializers.ChoiceField(choices=Notice.Severity.choices)
    title = LocalizedTextSerializer()
    body = LocalizedTextSerializer()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)


class StatusSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    status_page = serializers.CharField(help_text="The status page for people.")
    departments = DepartmentStatusSerializer(many=True)
    closures = StatusClosureSerializer(many=True)
    notices = StatusNoticeSerializer(many=True)


class StatusApi(ApiView):
    """Each department's channels, current and planned closures, notices. No sign-in."""

    authentication_classes: list = []
    access = {"GET": Public()}

    @extend_schema(
        operation_id="status_retrieve",
        summary="Channel states, closures and notices",
        description="The status page as JSON, in both languages. Times in Asia/Shanghai.",
        responses={200: StatusSerializer, **error_responses(generic=(405, 406, 429))},
        auth=[],
        tags=["status"],
    )
    def get(self, request: Request) -> HttpResponse:
        # Cached on the server like availability (booking/apis/cache.py); the body holds
        # both languages, so one entry serves every reader.
        def build() -> bytes:
            document = selectors.status_document(now=timezone.now())
            return JSONRenderer().render(StatusSerializer(document).data)

        key = response_cache.response_key(request, by_language=False)
        body = response_cache.cached_body(key, build)
        return HttpResponse(body, content_type="application/json")


# --- the staff's closures ---------------------------------------------------------------

_TARGET_MODELS = {
    Closure.Scope.DEPARTMENT: Department,
    Closure.Scope.DOCTOR: Doctor,
    Closure.Scope.SESSION: Session,
}


class ClosureSerializer(serializers.ModelSerializer):
    scope = serializers.ChoiceField(choices=Closure.Scope.choices)
    reason = serializers.ChoiceField(choices=Closure.Reason.choices)
    channels = serializers.ListField(
        child=serializers.ChoiceField(CLOSABLE_CHANNEL_CHOICES), read_only=True
    )
    target_id = serializers.SerializerMethodField(
        help_text="The department, doctor or session closed; null for the whole hospital."
    )
    is_active = serializers.SerializerMethodField(help_text="In force now.")
    sign_url = serializers.SerializerMethodField(help_text="The printable sign (staff).")

    class Meta:
        model = Closure
        fields = [
            "id",
            "scope",
            "target_id",
            "channels",
            "starts_at",
            "ends_at",
            "reopened_at",
            "reason",
            "notice",
            "notice_en",
            "release_places",
            "return_places",
            "is_active",
            "sign_url",
        ]
        read_only_fields = fields

    def get_target_id(self, obj: Closure) -> int | None:
        return obj.department_id or obj.doctor_id or obj.session_id

    def get_is_active(self, obj: Closure) -> bool:
        return selectors.closure_is_active(obj, now=self.context["now"])

    def get_sign_url(self, obj: Closure) -> str:
        return reverse("sign-closure", args=[obj.pk])


class ClosureCreateSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=Closure.Scope.choices)
    target_id = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The department, doctor or session to close; none for the whole hospital.",
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(CLOSABLE_CHANNEL_CHOICES),
        help_text="At least one (closure_no_channel).",
    )
    starts_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Default: now."
    )
    ends_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="None: until reopened."
    )
    reason = serializers.ChoiceField(choices=Closure.Reason.choices)
    notice = serializers.CharField(
        allow_blank=True, trim_whitespace=True, help_text="The public notice in Chinese."
    )
    notice_en = serializers.CharField(
        allow_blank=True, trim_whitespace=True, help_text="The public notice in English."
    )
    release_places = serializers.BooleanField(
        default=False,
        help_text="Move the unbooked online and phone places of the closed sessions to walk-in.",
    )


CLOSURE_CREATE_ERRORS = (
    errors.ClosureNoChannel,
    errors.ClosureTargetMismatch,
    errors.ClosureEndsBeforeStart,
    errors.ClosureAlreadyOver,
    errors.ClosureNoticeMissing,
    errors.ClosureNoticeTooLong,
)


class StaffClosureListCreateApi(ApiView):
    """GET: current and planned closures. POST: close channels (closure_create)."""

    access = {"GET": Staff("booking.view_closure"), "POST": Staff("booking.add_closure")}

    @extend_schema(
        operation_id="staff_closures_list",
        summary="Current and planned closures",
        responses={
            200: ClosureSerializer(many=True),
            **error_responses(generic=(401, 403, 405, 406, 429)),
        },
        tags=["staff"],
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        closures = selectors.closure_list_current_and_planned(now=now)
        data = ClosureSerializer(closures, many=True, context={"now": now}).data
        return Response(data)

    @extend_schema(
        operation_id="staff_closures_create",
        summary="Close channels",
        description=(
            "Closes channels for the whole hospital, a department (and its sub-clinics), "
            "a doctor or one session, now or later. The notice shows on the status page, "
            "the banner and the printable sign."
        ),
        request=ClosureCreateSerializer,
        responses={
            201: ClosureSerializer,
            **error_responses(*CLOSURE_CREATE_ERRORS, generic=(400, 401, 403, 405, 415, 429)),
        },
        examples=[
            OpenApiExample(
                "department",
                request_only=True,
                value={
                    "scope": "department",
                    "target_id": 1,
                    "channels": ["online"],
                    "ends_at": "2026-11-23T18:00:00+08:00",
                    "reason": "capacity",
                    "notice": "眼科线上预约暂停。",
                    "notice_en": "Online booking is paused.",
                    "release_places": False,
                },
            )
        ],
        tags=["staff"],
    )
    def post(self, request: Request) -> Response:
        serializer = ClosureCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        model = _TARGET_MODELS.get(data["scope"])
        target_id = data["target_id"]
        if model is None and target_id is not None:
            raise errors.ClosureTargetMismatch(scope=Closure.Scope(data["scope"]).label)
        # An unknown id leaves no target: the service refuses with what the scope needs.
        target = model.objects.filter(pk=target_id).first() if model and target_id else None
        now = timezone.now()
        closure = services.closure_create(
            scope=data["scope"],
            target=target,
            channels=list(data["channels"]),
            starts_at=data["starts_at"] or now,
            ends_at=data["ends_at"],
            reason=data["reason"],
            notice=data["notice"],
            notice_en=data["notice_en"],
            release_places=data["release_places"],
            created_by=request.user,
        )
        output = ClosureSerializer(closure, context={"now": now}).data
        return Response(output, status=status.HTTP_201_CREATED)


class ClosureReopenSerializer(serializers.Serializer):
    return_places = serializers.BooleanField(
        default=False,
        help_text="Move released places still unbooked at walk-in back to their channels, "
        "for sessions more than 2 hours ahead.",
    )


class StaffClosureReopenApi(ApiView):
    """POST: end the closure now (closure_reopen)."""

    access = {"POST": Staff("booking.change_closure")}

    @extend_schema(
        operation_id="staff_closures_reopen",
        summary="Reopen: end a closure now",
        description="Reopening a closure already reopened returns it as it is.",
        request=ClosureReopenSerializer,
        responses={
            200: ClosureSerializer,
            **error_responses(
                errors.ClosureAlreadyEnded, generic=(400, 401, 403, 404, 405, 415, 429)
            ),
        },
        tags=["staff"],
    )
    def post(self, request: Request, closure_id: int) -> Response:
        closure = get_object_or_404(Closure, pk=closure_id)
        data = ClosureReopenSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        now = timezone.now()
        closure = services.closure_reopen(
            closure=closure,
            reopened_by=request.user,
            return_places=data.validated_data["return_places"],
            now=now,
        )
        return Response(ClosureSerializer(closure, context={"now": now}).data)
