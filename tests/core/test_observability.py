"""Observability (issue 12): a request id on every log line and response, JSON log
lines still masked, and /metrics for the scraper only, with the domain's counters and
gauges (core/request_id.py, core/logformat.py, core/metrics.py)."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.signals import request_finished
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.logformat import JsonFormatter
from core.request_id import NO_REQUEST, RequestIdMiddleware, get_request_id
from notifications.models import OutboxMessage
from tests.booking.conftest import clock  # noqa: F401 (a fixture)
from tests.booking.test_create import slot_in
from tests.booking.test_query_counts import _api_book, api  # noqa: F401 (a fixture)

PROXY = "10.0.0.5"
CLIENT = "203.0.113.7"
PHONE = "13812345678"


@pytest.fixture
def behind_proxy(settings):
    settings.YUYUE_TRUSTED_PROXIES = [PROXY]


# --- request id ------------------------------------------------------------------------


def _through_middleware(remote_addr: str, **headers) -> tuple[HttpResponse, str]:
    seen = {}

    def view(request):
        seen["id"] = get_request_id()
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)
    return RequestIdMiddleware(view)(request), seen["id"]


def test_a_trusted_proxys_request_id_is_kept(behind_proxy):
    response, seen = _through_middleware(PROXY, HTTP_X_REQUEST_ID="edge-7f3a.42")

    assert response["X-Request-ID"] == seen == "edge-7f3a.42"


def test_an_untrusted_clients_request_id_is_replaced(behind_proxy):
    response, seen = _through_middleware(CLIENT, HTTP_X_REQUEST_ID="edge-7f3a.42")

    assert response["X-Request-ID"] == seen != "edge-7f3a.42"
    assert len(seen) == 32 and int(seen, 16) >= 0


def test_a_malformed_id_from_the_proxy_is_replaced(behind_proxy):
    response, _ = _through_middleware(PROXY, HTTP_X_REQUEST_ID='a" "b\nforged line')

    assert len(response["X-Request-ID"]) == 32


def test_every_response_has_an_id_and_it_ends_with_the_request(client):
    response = client.get("/healthz")

    assert len(response["X-Request-ID"]) == 32
    assert get_request_id() == NO_REQUEST


# --- JSON log lines ----------------------------------------------------------------------


@pytest.fixture
def console_as_json():
    """The configured console handler (its filters as settings.LOGGING sets them),
    writing JSON into a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream, formatter = io.StringIO(), handler.formatter
    old_stream = handler.setStream(stream)
    handler.setFormatter(JsonFormatter())
    try:
        yield stream
    finally:
        handler.setStream(old_stream)
        handler.setFormatter(formatter)


@pytest.mark.django_db  # request_finished closes old database connections
def test_a_json_line_carries_the_request_id_and_a_masked_phone(console_as_json, behind_proxy):
    def view(request):
        logging.getLogger("yuyue.tests").warning("code sent to %s", PHONE)
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_REQUEST_ID="req-1")
    RequestIdMiddleware(view)(request)
    request_finished.send(sender=None)  # as Django's handler does when the response closes
    logging.getLogger("yuyue.tests").warning("after the request")

    during, after = (json.loads(line) for line in console_as_json.getvalue().splitlines())
    assert during["message"] == "code sent to 138****5678"
    assert PHONE not in console_as_json.getvalue()
    assert during["request_id"] == "req-1"
    assert (during["level"], during["logger"]) == ("WARNING", "yuyue.tests")
    assert during["time"].endswith("+00:00")
    assert after["request_id"] == NO_REQUEST


def test_a_json_line_carries_the_masked_traceback(console_as_json):
    try:
        raise ValueError(f"duplicate key (phone)=({PHONE})")
    except ValueError:
        logging.getLogger("yuyue.tests").exception("insert failed")

    line = json.loads(console_as_json.getvalue())
    assert "(phone)=(138****5678)" in line["exception"]
    assert PHONE not in console_as_json.getvalue()


# --- /metrics ------------------------------------------------------------------------------


def _samples(response) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_are_refused_to_anyone_not_allowed(client, settings):
    settings.YUYUE_METRICS_ALLOWED_IPS = ["127.0.0.1"]

    assert client.get("/metrics", REMOTE_ADDR=CLIENT).status_code == 403
    # Not even through a trusted proxy's X-Forwarded-For: the connecting address counts.
    settings.YUYUE_TRUSTED_PROXIES = [PROXY]
    refused = client.get("/metrics", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert refused.status_code == 403


def test_metrics_allow_a_listed_network(client, settings):
    settings.YUYUE_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


@pytest.mark.django_db
def test_metrics_count_bookings_and_refusals_and_read_the_outbox(
    clock,  # noqa: F811
    patient,
    api,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    def scrape():
        response = api.get("/metrics", REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200
        return _samples(response)

    before = scrape()
    refused = _api_book(api, patient, slot_in(1, online=0), "k1")
    assert refused.status_code == 409
    # Counted at commit: the test's transaction never commits, so run its callbacks.
    with django_capture_on_commit_callbacks(execute=True):
        assert _api_book(api, patient, slot_in(2), "k2").status_code == 201
    after = scrape()

    def grew(name, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("yuyue_booking_refusals_total", code="slot_full") == 1
    assert grew("yuyue_bookings_total", channel="online") == 1
    assert ("yuyue_release_runs_total", (("kind", "closure"),)) in after
    assert ("yuyue_outbox_oldest_pending_seconds", ()) in after
    # And django-prometheus's own.
    assert any(name.startswith("django_http_responses_total") for name, _ in after)


@pytest.mark.django_db
def test_the_outbox_gauges(clock, client):  # noqa: F811
    now = timezone.now()
    for n, due in enumerate((now - timedelta(minutes=12), now - timedelta(minutes=1))):
        OutboxMessage.objects.create(
            kind="booking_confirmed",
            dedupe_key=f"due-{n}",
            channel="sms",
            recipient="x",
            due_at=due,
        )
    OutboxMessage.objects.create(  # quiet hours: pending, not yet due
        kind="reminder",
        dedupe_key="later",
        channel="sms",
        recipient="x",
        due_at=now + timedelta(hours=9),
    )
    OutboxMessage.objects.create(
        kind="booking_confirmed",
        dedupe_key="sent",
        channel="sms",
        recipient="x",
        status=OutboxMessage.Status.SENT,
        due_at=now - timedelta(hours=1),
    )

    after = _samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1"))

    assert after[("yuyue_outbox_pending", (("due", "yes"),))] == 2
    assert after[("yuyue_outbox_pending", (("due", "no"),))] == 1
    assert after[("yuyue_outbox_oldest_pending_seconds", ())] == 12 * 60


@pytest.mark.django_db
def test_a_rolled_back_booking_is_not_counted(clock, patient):  # noqa: F811
    from django.db import transaction

    from booking import services
    from clinics.models import Channel
    from core.metrics import BOOKINGS

    counted = BOOKINGS.labels(channel="online")._value.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.booking_create(
            patient=patient, slot=slot_in(1), channel=Channel.ONLINE, requested_by=patient.account
        )
        raise RuntimeError("rolled back")

    assert BOOKINGS.labels(channel="online")._value.get() == counted


@pytest.mark.django_db
def test_the_queue_gauge_counts_today_waiting_by_room(client):
    from prometheus_client import REGISTRY

    from config.metrics import DomainCollector

    names = {family.name for family in DomainCollector().collect()}
    assert {"yuyue_outbox_pending", "yuyue_queue_waiting", "yuyue_release_runs"} <= names
    assert REGISTRY.get_sample_value("yuyue_outbox_oldest_pending_seconds") == 0
