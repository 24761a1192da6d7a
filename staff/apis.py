"""Staff get an API token with name, password and second factor, as at the admin login.

The judging is `staff.forms.StaffLoginForm`'s, so the API and the admin login refuse the
same way: one generic answer for every failure, each failure counted by django-axes
towards the lock-out of the pair of name and address.
"""

from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ApiView, Public, error_responses
from core.throttles import SignInAddressThrottle
from patients.services import api_token_issue
from staff.exceptions import InvalidCredentials
from staff.forms import StaffLoginForm


class StaffTokenCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    otp_token = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        default="",
        help_text="The 6-digit code from the authenticator app, or a backup code. "
        "Required wherever a second factor is (always in production).",
    )


class StaffTokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="Send it as `Authorization: Bearer <token>`. Shown only this once."
    )
    expires_at = serializers.DateTimeField()
    second_factor = serializers.BooleanField(
        help_text="Issued after a verified code: the token reaches staff endpoints."
    )


@method_decorator(sensitive_post_parameters("password", "otp_token"), name="dispatch")
class StaffTokenApi(ApiView):
    """Name, password and code for a staff token that lasts 12 hours."""

    authentication_classes: list = []
    access = {"POST": Public()}
    throttle_classes = [SignInAddressThrottle]

    @extend_schema(
        operation_id="auth_staff_token_create",
        summary="Staff sign-in: a token for name, password and code",
        description=(
            "For active staff with a confirmed authenticator app (or backup codes). Any "
            "failure — unknown name, wrong password, wrong or missing code, locked out "
            "after repeated failures — answers `invalid_credentials` alike. Where no "
            "second factor is required (development only) a token without a code is "
            "issued with `second_factor` false."
        ),
        request=StaffTokenCreateSerializer,
        responses={
            201: StaffTokenSerializer,
            **error_responses(InvalidCredentials, generic=(400, 405, 415, 429)),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = StaffTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The DRF request, not the Django one: django-axes records the failure through it,
        # and its lock-out flag stays on it, so the answer stays this JSON one.
        form = StaffLoginForm(request, data=serializer.validated_data)
        if not form.is_valid():
            raise InvalidCredentials()
        token, raw = api_token_issue(
            account=form.user, second_factor=form.device is not None, now=timezone.now()
        )
        body = {"token": raw, "expires_at": token.expires_at, "second_factor": token.second_factor}
        return Response(StaffTokenSerializer(body).data, status=status.HTTP_201_CREATED)
