"""The API's shared parts: who may call each method, the one error shape, its documentation.

Deny by default: an `ApiView` lists, per HTTP method, who may call it (`access`); any
method not listed — HEAD follows GET, OPTIONS is never implied — is refused with 405
before authentication or permissions are even looked at. Every refusal, ours
(`YuyueError`) or DRF's (validation, authentication, throttling), renders as
`{"code": ..., "detail": ...}` (config.errors.api_exception_handler), and
`error_responses(...)` documents the codes a view can answer, with examples.
"""

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api_access import Access, AccessPermission, PatientAccount, Public, Staff
from core.errors import YuyueError


class ApiView(APIView):
    """Base of every Yuyue API view: `access = {"GET": Public(), "POST": Staff("app.perm")}`."""

    access: dict[str, Access] = {}
    permission_classes = [AccessPermission]

    @classmethod
    def access_for(cls, method: str) -> Access | None:
        method = method.upper()
        if method == "HEAD":
            method = "GET"
        return cls.access.get(method)

    @property
    def allowed_methods(self) -> list[str]:
        methods = [m for m in self.access if hasattr(self, m.lower())]
        if "GET" in methods:
            methods.append("HEAD")
        return methods

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Before authentication: a method nobody may call is refused the same way for all.
        method = request.method.upper()
        handler_name = "get" if method == "HEAD" else method.lower()
        if self.access_for(method) is None or not hasattr(self, handler_name):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a stable code for programs, a sentence for people."""

    code = serializers.CharField(help_text=str(_("A stable error code, e.g. slot_full.")))
    detail = serializers.CharField(
        help_text=str(_("What went wrong and what to do, in the request's language."))
    )


# DRF's own refusals, by status, as config.errors renders them.
GENERIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid", "This field is required."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", 'Method "DELETE" not allowed.'),
    406: ("not_acceptable", "Could not satisfy the request Accept header."),
    415: ("unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    429: ("throttled", "Request was throttled. Expected available in 60 seconds."),
}


def error_responses(
    *errors: type[YuyueError], generic: Iterable[int] = (400, 401, 403, 404, 405, 429)
) -> dict[int, OpenApiResponse]:
    """The `responses` entries of every error a view can answer: each YuyueError class
    under its HTTP status with an example, plus DRF's generic refusals."""
    by_status: dict[int, list[OpenApiExample]] = {}
    for status_code in generic:
        code, detail = GENERIC_ERRORS[status_code]
        by_status.setdefault(status_code, []).append(
            OpenApiExample(code, value={"code": code, "detail": detail})
        )
    for error in errors:
        example = OpenApiExample(
            error.code, value={"code": error.code, "detail": str(error.message)}
        )
        by_status.setdefault(error.http_status, []).append(example)
    return {
        status_code: OpenApiResponse(ErrorSerializer, examples=examples)
        for status_code, examples in sorted(by_status.items())
    }


__all__ = [
    "Access",
    "AccessPermission",
    "ApiView",
    "ErrorSerializer",
    "PatientAccount",
    "Public",
    "Staff",
    "error_responses",
]
