"""The domain's gauges, read from the database at scrape time, and `/metrics` for the
scraper only (YUYUE_METRICS_ALLOWED_IPS). The counters are core/metrics.py's.

Counters live in the process that counts them. gunicorn runs several workers: without
PROMETHEUS_MULTIPROC_DIR a scrape reaches one worker and sees that worker's counts. With
PROMETHEUS_MULTIPROC_DIR set (an empty directory, wiped before gunicorn starts,
config/gunicorn.py) every worker writes its counters there and a scrape sums them all.
The gauges are read from the database on each scrape, so they are the same whichever
worker answers.
"""

import ipaddress
import logging
import os
from functools import cache

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)


# --- gauges, read at scrape time -----------------------------------------------------


class DomainCollector:
    """One query per metric family; a failing query leaves its family out of the
    scrape (a scrape must answer while the database is down: django-prometheus's own
    metrics still say so)."""

    def collect(self):
        for build in (_outbox, _queues, _release_runs):
            try:
                yield from build()
            except Exception as exc:  # a scrape reports what it can, it never raises
                logger.warning("metrics: %s failed: %s", build.__name__, type(exc).__name__)

    def describe(self):
        return []  # collected at scrape time only, never at registration


def _outbox():
    from notifications.models import OutboxMessage

    now = timezone.now()
    counts = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).aggregate(
        pending=Count("pk"),
        due=Count("pk", filter=Q(due_at__lte=now)),
        oldest=Min("due_at", filter=Q(due_at__lte=now)),
    )
    pending = GaugeMetricFamily(
        "yuyue_outbox_pending",
        "Outbox messages pending, by whether they are due.",
        labels=["due"],
    )
    pending.add_metric(["yes"], counts["due"])
    pending.add_metric(["no"], counts["pending"] - counts["due"])
    yield pending
    oldest = counts["oldest"]
    yield GaugeMetricFamily(
        "yuyue_outbox_oldest_pending_seconds",
        "Seconds since the oldest due pending outbox message was due (0: none).",
        value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
    )


def _queues():
    from frontdesk.models import QueueTicket

    today = timezone.localdate()
    rows = (
        QueueTicket.objects.filter(state=QueueTicket.State.WAITING, session__date=today)
        .values_list("room__code")
        .annotate(waiting=Count("pk"))
        .order_by()
    )
    family = GaugeMetricFamily(
        "yuyue_queue_waiting",
        "Patients checked in and waiting today, by room.",
        labels=["room"],
    )
    for room, waiting in rows:
        family.add_metric([room], waiting)
    yield family


def _release_runs():
    from booking.models import ReleaseRun

    rows = ReleaseRun.objects.values_list("kind", "status").annotate(n=Count("pk")).order_by()
    total = CounterMetricFamily(
        "yuyue_release_runs",
        "Release engine runs started (ReleaseRun rows), by kind.",
        labels=["kind"],
    )
    by_status = GaugeMetricFamily(
        "yuyue_release_runs_by_status",
        "Release runs by kind and current status.",
        labels=["kind", "status"],
    )
    kinds: dict[str, int] = {kind: 0 for kind in ReleaseRun.Kind.values}
    for kind, status, n in rows:
        kinds[kind] = kinds.get(kind, 0) + n
        by_status.add_metric([kind, status], n)
    for kind, n in kinds.items():
        total.add_metric([kind], n)
    yield total
    yield by_status


_DOMAIN = DomainCollector()
REGISTRY.register(_DOMAIN)


# --- the endpoint ----------------------------------------------------------------------


@cache
def _allowed_networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(a.strip(), strict=False) for a in allowed if a.strip())


def scraper_allowed(request: HttpRequest) -> bool:
    """The connecting address (REMOTE_ADDR, never X-Forwarded-For: the scraper talks to
    the pod directly) is in YUYUE_METRICS_ALLOWED_IPS."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = _allowed_networks(tuple(settings.YUYUE_METRICS_ALLOWED_IPS))
    return any(address in network for network in networks)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scraper_allowed(request):
        return HttpResponseForbidden("", content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_DOMAIN)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
