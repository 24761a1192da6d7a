"""JSON endpoints of closures: the public status, and the staff's closure controls.

Thin: parse, call one service or selector, render. Refusals are YuyueErrors, rendered
by `config.errors.api_exception_handler` as {"code", "detail"}.
"""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from booking import exceptions as errors
from booking.models import Closure
from booking.selectors import closures as selectors
from booking.services import closures as services
from clinics.models import Department, Doctor, Session


class IsVerifiedStaff(BasePermission):
    """Staff, with a verified second factor wherever the admin asks for one, holding the
    model permissions the view names for the method (the ops role), as in the admin."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        if settings.YUYUE_ADMIN_REQUIRE_OTP and not user.is_verified():
            return False
        needed = getattr(view, "required_perms", {}).get(request.method, ())
        return user.has_perms(needed)


class StatusApi(APIView):
    """Each department's channels, current and planned closures, notices. No sign-in."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        # Documents the shape for the schema; the document is built by the selector.
        generated_at = serializers.DateTimeField()
        status_page = serializers.CharField()
        departments = serializers.ListField(child=serializers.DictField())
        closures = serializers.ListField(child=serializers.DictField())
        notices = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(selectors.status_document(now=timezone.now()))


_TARGET_MODELS = {
    Closure.Scope.DEPARTMENT: Department,
    Closure.Scope.DOCTOR: Doctor,
    Closure.Scope.SESSION: Session,
}


class ClosureOutputSerializer(serializers.ModelSerializer):
    channels = serializers.SerializerMethodField()
    target_id = serializers.SerializerMethodField()
    is_active = serializers.SerializerMethodField()
    sign_url = serializers.SerializerMethodField()

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

    def get_channels(self, obj: Closure) -> list[str]:
        return obj.channels()

    def get_target_id(self, obj: Closure) -> int | None:
        return obj.department_id or obj.doctor_id or obj.session_id

    def get_is_active(self, obj: Closure) -> bool:
        return selectors.closure_is_active(obj, now=self.context["now"])

    def get_sign_url(self, obj: Closure) -> str:
        return reverse("sign-closure", args=[obj.pk])


class StaffClosureListCreateApi(APIView):
    """GET: current and planned closures. POST: close channels (closure_create)."""

    permission_classes = [IsVerifiedStaff]
    required_perms = {"GET": ("booking.view_closure",), "POST": ("booking.add_closure",)}

    class InputSerializer(serializers.Serializer):
        scope = serializers.ChoiceField(choices=Closure.Scope.choices)
        target_id = serializers.IntegerField(required=False, allow_null=True, default=None)
        channels = serializers.ListField(child=serializers.CharField(max_length=10))
        starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        reason = serializers.CharField(max_length=20)
        notice = serializers.CharField(allow_blank=True, trim_whitespace=True)
        notice_en = serializers.CharField(allow_blank=True, trim_whitespace=True)
        release_places = serializers.BooleanField(default=False)

    @extend_schema(responses=ClosureOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        now = timezone.now()
        closures = selectors.closure_list_current_and_planned(now=now)
        data = ClosureOutputSerializer(closures, many=True, context={"now": now}).data
        return Response(data)

    @extend_schema(request=InputSerializer, responses={201: ClosureOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
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
        output = ClosureOutputSerializer(closure, context={"now": now}).data
        return Response(output, status=status.HTTP_201_CREATED)


class ReopenInputSerializer(serializers.Serializer):
    return_places = serializers.BooleanField(
        default=False,
        help_text="Move released places still unbooked at walk-in back to their channels, "
        "for sessions more than 2 hours ahead.",
    )


class StaffClosureReopenApi(APIView):
    """POST: end the closure now (closure_reopen)."""

    permission_classes = [IsVerifiedStaff]
    required_perms = {"POST": ("booking.change_closure",)}

    @extend_schema(request=ReopenInputSerializer, responses=ClosureOutputSerializer)
    def post(self, request: Request, closure_id: int) -> Response:
        closure = get_object_or_404(Closure, pk=closure_id)
        data = ReopenInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        now = timezone.now()
        closure = services.closure_reopen(
            closure=closure,
            reopened_by=request.user,
            return_places=data.validated_data["return_places"],
            now=now,
        )
        return Response(ClosureOutputSerializer(closure, context={"now": now}).data)
