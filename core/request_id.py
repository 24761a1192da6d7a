"""A request id on every log line: the proxy's X-Request-ID, or one of our own.

The id lives in a contextvar, so a log line written anywhere while a request (or a
Celery task, config/celery.py) runs carries it: `RequestIdFilter` puts it on each record
as `request_id`, "-" outside any request. Only our own proxies (YUYUE_TRUSTED_PROXIES)
may choose it: a client talking to gunicorn directly could otherwise make its lines look
like another request's, or fill the log with whatever it sends.
"""

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from core.http import is_trusted_proxy

NO_REQUEST = "-"
HEADER = "X-Request-ID"
# What a proxy's id may look like (nginx's $request_id, a UUID, a trace id): anything
# else is replaced, so a header cannot break a log line or a JSON field.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "yuyue_request_id", default=NO_REQUEST
)


def get_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token | None = None) -> None:
    if token is not None:
        try:
            _request_id.reset(token)
            return
        except ValueError:  # set in another context (another thread's task)
            pass
    _request_id.set(NO_REQUEST)


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_for(request: HttpRequest) -> str:
    """The proxy's id when the request comes from a trusted proxy, else a new one."""
    if is_trusted_proxy(request.META.get("REMOTE_ADDR")):
        given = request.META.get("HTTP_X_REQUEST_ID", "").strip()
        if _ACCEPTABLE.match(given):
            return given
    return new_request_id()


class RequestIdMiddleware:
    """Early in the chain, so every line the request causes carries its id.

    The id stays set until Django's request_finished: Django logs a 4xx/5xx ("Not Found:
    /x") after the middleware has returned, and gunicorn writes its access line before
    closing the response; both belong to this request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        set_request_id(request.request_id)
        response = self.get_response(request)
        response.headers[HEADER] = request.request_id
        return response


def _request_over(**kwargs) -> None:
    reset_request_id()


request_finished.connect(_request_over, dispatch_uid="yuyue_request_id_reset")


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (the current request's or task's, "-" outside)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get()
        return True
