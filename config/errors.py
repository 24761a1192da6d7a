"""The DRF exception handler: every YuyueError renders as {"code": ..., "detail": ...}."""

from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import YuyueError


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, YuyueError):
        return Response({"code": exc.code, "detail": exc.detail}, status=exc.http_status)
    return exception_handler(exc, context)
