"""The DRF exception handler: every refusal renders as {"code": ..., "detail": ...}.

A YuyueError keeps its own code. DRF's refusals get their default code (not_found,
not_authenticated, throttled...); a validation error is {"code": "invalid", "detail":
the first message, "fields": {field: [messages]}} so a form can show each field's.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.database_unavailable import DATABASE_ERRORS, database_unavailable_api_response
from core.errors import YuyueError
from core.metrics import api_refusal


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, YuyueError):
        # yuyue_booking_refusals_total{code}, for a booking API's refusal (core/metrics.py).
        api_refusal(exc, context)
        response = Response({"code": exc.code, "detail": exc.detail}, status=exc.http_status)
        # A refusal by the rules (slot_full, channel_closed...) is an answer, not a fault:
        # Django's "Conflict: /api/v1/bookings" warning for each would flood the log at the
        # release minute. Other 4xx (not found, not authenticated...) are still logged.
        response._has_been_logged = True
        return response
    if isinstance(exc, DATABASE_ERRORS):
        # PostgreSQL restarting or failing over: "try again shortly" (503), not a 500.
        return database_unavailable_api_response(context["request"], exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": "invalid", "detail": _first_message(fields), "fields": fields}
    else:
        response.data = {"code": exc.default_code, "detail": str(exc.detail)}
        codes = exc.get_codes()
        if isinstance(codes, str):
            response.data["code"] = codes
    return response


def _first_message(detail) -> str:
    while isinstance(detail, dict | list) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail) if detail else ""


def not_found(request, exception=None):
    """Django's 404 for a URL no route matches: under /api/ the API's error shape (a
    client reading JSON must never get an HTML page), elsewhere the site's page."""
    from django.http import JsonResponse
    from django.utils.translation import gettext
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)
