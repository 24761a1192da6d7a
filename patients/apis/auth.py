"""Patients sign in to the API with a phone code, as on the web pages, and get a token.

`POST auth/code` sends the code (sign_in_code_request), `POST auth/token` trades it for
a bearer token (sign_in_code_verify, then api_token_issue), `DELETE auth/token` ends the
token the request carries (patients' and staff's alike). Thin: the services judge; the
throttles (core.throttles, and the per-phone one here) come on top of the services' own limits.
"""

import hashlib

from django.utils import timezone, translation
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ApiView, Public, error_responses
from core.api_access import Access
from core.errors import YuyueError
from core.http import client_ip
from core.throttles import SignInAddressThrottle, SignInCodeAddressThrottle, YuyueRateThrottle
from patients import exceptions as errors
from patients.authentication import BearerTokenAuthentication
from patients.identity import mask_phone
from patients.models import Account, ApiToken
from patients.selectors import SIGN_IN_CODE_LIFETIME
from patients.services import (
    api_token_issue,
    api_token_revoke,
    sign_in_code_request,
    sign_in_code_verify,
    sign_in_phone_clean,
)


class SignInCodePhoneThrottle(YuyueRateThrottle):
    """Sign-in codes asked for one phone (default 5/hour), whatever the address: a
    script cannot flood one person's phone from many addresses."""

    scope = "sign_in_code_phone"

    def get_cache_key(self, request: Request, view) -> str | None:
        phone = phone_key(request)
        return self.key_for(phone) if phone else None


def phone_key(request: Request) -> str:
    """The phone a request asks a code for, normalised as the service does, so that
    "+86 138 0000 0000" and "13800000000" count together; "" when there is none."""
    data = request.data if isinstance(request.data, dict) else {}
    raw = data.get("phone")
    if not isinstance(raw, str) or not raw.strip():
        return ""
    try:
        return sign_in_phone_clean(raw)
    except YuyueError:  # refused by the view; still counted, under what was sent
        return "invalid:" + hashlib.sha256(raw.strip().encode()).hexdigest()[:32]


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>` in the schema (patients.authentication)."""

    target_class = "patients.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `POST /api/v1/auth/token` (patients, 30 days) or "
            "`POST /api/v1/auth/staff-token` (staff, 12 hours).",
        }


class BearerTokenHolder(Access):
    """A caller that sent a live bearer token (patient or staff): it may end that token."""

    label = "token"

    def allows(self, request: Request) -> bool:
        return isinstance(request.auth, ApiToken)


class AuthCodeSerializer(serializers.Serializer):
    phone = serializers.CharField(
        max_length=32,
        help_text="A mainland China mobile number, e.g. 13800138000 or +86 138 0013 8000.",
    )
    language = serializers.ChoiceField(
        choices=Account.Language.choices,
        required=False,
        help_text="The language of the SMS and of a new account; an existing account keeps "
        "its own. Default: the request's language.",
    )


class AuthCodeSentSerializer(serializers.Serializer):
    sent = serializers.BooleanField()
    expires_in = serializers.IntegerField(help_text="Seconds the code can be used for.")


class AuthCodeApi(ApiView):
    """Send a one-time sign-in code to a phone by SMS."""

    authentication_classes: list = []
    access = {"POST": Public()}
    throttle_classes = [SignInCodeAddressThrottle, SignInCodePhoneThrottle]

    @extend_schema(
        operation_id="auth_code_create",
        summary="Send a sign-in code",
        description=(
            "Sends a 6-digit code by SMS, good for 5 minutes. At most one code a minute "
            "and 10 a day per phone, 30 an hour per address; on top of that the API "
            "throttles code requests per phone and per address (`throttled`)."
        ),
        request=AuthCodeSerializer,
        responses={
            202: AuthCodeSentSerializer,
            **error_responses(
                errors.InvalidPhone,
                errors.CodeTooSoon,
                errors.CodeDailyLimit,
                errors.CodeIpLimit,
                generic=(400, 405, 415, 429),
            ),
        },
        examples=[
            OpenApiExample("sent", value={"sent": True, "expires_in": 300}, response_only=True)
        ],
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sign_in_code_request(
            phone=data["phone"],
            ip=client_ip(request),
            now=timezone.now(),
            language=data.get("language") or _request_language(),
        )
        body = {"sent": True, "expires_in": int(SIGN_IN_CODE_LIFETIME.total_seconds())}
        return Response(AuthCodeSentSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class AuthTokenCreateSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32)
    code = serializers.CharField(max_length=16, help_text="The code from the SMS.")


class TokenAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.SerializerMethodField(help_text="Masked: 138****5678.")
    language = serializers.ChoiceField(choices=Account.Language.choices)

    def get_phone(self, account: Account) -> str:
        return mask_phone(account.phone or "")


class AuthTokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="Send it as `Authorization: Bearer <token>`. Shown only this once."
    )
    expires_at = serializers.DateTimeField()
    account = TokenAccountSerializer()


class AuthTokenApi(ApiView):
    """POST: trade a phone and its code for a token. DELETE: end the token sent."""

    access = {"POST": Public(), "DELETE": BearerTokenHolder()}

    def get_authenticators(self):
        # Signing in needs no credentials (a stale token in the header must not stop it);
        # signing out ends a bearer token, never a browser session.
        if _method(self) == "POST":
            return []
        return [BearerTokenAuthentication()]

    def get_throttles(self):
        if _method(self) == "POST":
            return [SignInAddressThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="auth_token_create",
        summary="Sign in: a phone code for a token",
        description=(
            "The phone and the code it was sent. Returns a bearer token for 30 days. A "
            "wrong code counts one of 5 tries; the 5th locks the code (`code_locked`). "
            "The first sign-in of a phone creates its account. Staff sign in with "
            "`auth/staff-token` (`sign_in_not_allowed` here)."
        ),
        request=AuthTokenCreateSerializer,
        responses={
            201: AuthTokenSerializer,
            **error_responses(
                errors.InvalidPhone,
                errors.CodeExpired,
                errors.CodeWrong,
                errors.CodeLocked,
                errors.SignInNotAllowed,
                generic=(400, 405, 415, 429),
            ),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        account = sign_in_code_verify(
            phone=serializer.validated_data["phone"],
            code=serializer.validated_data["code"],
            now=now,
        )
        token, raw = api_token_issue(account=account, second_factor=False, now=now)
        body = {"token": raw, "expires_at": token.expires_at, "account": account}
        return Response(AuthTokenSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="auth_token_destroy",
        summary="Sign out: end this token",
        description="Ends the bearer token the request carries; it is refused from now on.",
        request=None,
        responses={204: None, **error_responses(generic=(401, 405, 429))},
        tags=["auth"],
    )
    def delete(self, request: Request) -> Response:
        api_token_revoke(token=request.auth, now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _method(view) -> str | None:
    # None while the schema is generated (drf-spectacular asks before a request is set).
    request = getattr(view, "request", None)
    return request.method.upper() if request is not None else None


def _request_language() -> str:
    language = translation.get_language() or ""
    return Account.Language.EN if language.startswith("en") else Account.Language.ZH_HANS
