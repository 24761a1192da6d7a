"""A database that does not answer is a 503, not a 500.

While PostgreSQL restarts or fails over, every query raises OperationalError (or
InterfaceError on a connection it closed). That is not a bug in the request: the user
gets "try again in a moment" in their language, with `Retry-After`, and the log gets one
warning line instead of a stack trace per request. Under /api/ the answer is the API's
error shape, `{"code": "database_unavailable", "detail": ...}`; elsewhere a standalone
page (templates/503.html: the site's base template runs context processors that query
the database).

Django closes the broken connection at the end of the request (its errors_occurred
flag), and CONN_HEALTH_CHECKS checks a kept one before reuse, so the next request
reconnects by itself.

A view's exception reaches `process_exception`; DRF views answer through
config.errors.api_exception_handler, which calls `database_unavailable_api_response`.
An exception raised inside another middleware (a session read in
AuthenticationMiddleware's user) never reaches `process_exception`: Django turns it into
a 500 first. The `got_request_exception` receiver marks such a request, and `__call__`
replaces its 500 with the 503.
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

logger = logging.getLogger("yuyue.database")

DATABASE_ERRORS = (OperationalError, InterfaceError)
CODE = "database_unavailable"
RETRY_AFTER_SECONDS = 10
_MARK = "_yuyue_database_unavailable"


def detail_message() -> str:
    return gettext("The service is briefly unavailable. Please try again in a moment.")


def _log(request: HttpRequest, exc: BaseException) -> None:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    logger.warning(
        "database unavailable: %s %s: %s: %s",
        request.method,
        request.path,
        type(exc).__name__,
        first_line,
    )


def database_unavailable_api_response(request: HttpRequest, exc: BaseException):
    """The API's answer (a DRF Response, rendered by the view's renderer)."""
    from rest_framework.response import Response

    _log(request, exc)
    response = Response(
        {"code": CODE, "detail": detail_message()},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    response._has_been_logged = True  # logged above, in one line
    return response


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The plain Django answer: JSON under /api/, the standalone page elsewhere, in the
    request's language (LocaleMiddleware may not have run when a middleware failed)."""
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(
        request
    )
    with translation.override(language):
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"code": CODE, "detail": detail_message()}, status=503
            )
        else:
            response = HttpResponse(
                render_to_string("503.html", {"detail": detail_message()}), status=503
            )
        response["Content-Language"] = language
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response._has_been_logged = True
    return response


def _mark_database_failure(sender, request: HttpRequest | None = None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_ERRORS):
        setattr(request, _MARK, exc)


got_request_exception.connect(_mark_database_failure, dispatch_uid="yuyue-database-unavailable")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        exc = getattr(request, _MARK, None)
        if exc is not None and response.status_code == 500:
            _log(request, exc)
            return database_unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DATABASE_ERRORS):
            _log(request, exception)
            return database_unavailable_response(request)
        return None
