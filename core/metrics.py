"""Prometheus counters of the domain: bookings made and refused. The gauges read from
the apps' tables at scrape time, and `/metrics` itself, are config/metrics.py's (core
imports no app).

django-prometheus counts requests, responses by status and latencies; this adds what
the hospital asks about: bookings made and refused, the outbox, the queues, release runs.

Counters live in the process that counts them. gunicorn runs several workers: without
PROMETHEUS_MULTIPROC_DIR a scrape reaches one worker and sees that worker's counts
(each correct for its process; rate() over the sum of scrapes is still meaningful only
per process). With PROMETHEUS_MULTIPROC_DIR set (an empty directory, wiped before
gunicorn starts, config/gunicorn.py) every worker writes its counters there and a scrape
sums them all. The gauges are read from the database on each scrape, so they are the
same whichever worker answers.
"""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from prometheus_client import Counter

logger = logging.getLogger(__name__)

BOOKINGS = Counter("yuyue_bookings", "Bookings created (committed), by channel.", ["channel"])
REFUSALS = Counter(
    "yuyue_booking_refusals",
    "Booking requests refused by a rule (slot_full, channel_closed...), by code.",
    ["code"],
)


# --- counters ------------------------------------------------------------------------


def booking_refused(code: str) -> None:
    REFUSALS.labels(code=code).inc()


def api_refusal(exc: Exception, context: dict) -> None:
    """From config.errors: a YuyueError answered by a booking API (booking.apis.*).

    Other apps' refusals (a wrong sign-in code, a queue action) are not booking
    refusals; django-prometheus counts every response by status anyway.
    """
    view = context.get("view") if context else None
    if view is not None and type(view).__module__.startswith("booking."):
        booking_refused(getattr(exc, "code", "error"))


def _booking_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """Counted at commit, so a rolled-back booking is never counted. No query."""
    if created and not raw:
        channel = str(instance.channel)
        transaction.on_commit(lambda: BOOKINGS.labels(channel=channel).inc())


def connect_booking_signals() -> None:
    """Called from booking's AppConfig.ready()."""
    post_save.connect(_booking_saved, sender="booking.Booking", dispatch_uid="yuyue_metrics")
