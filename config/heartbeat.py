"""A Celery worker's heartbeat: beat runs this task every 30 s; `/healthz/background`
reads the key.

If no worker runs (or none reaches the cache), the key grows old and the monitor's check
fails (readiness does not: every instance shares the workers).
"""

import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "yuyue:worker-heartbeat"
# Kept a little longer than readiness tolerates, so a stale beat still reads as stale.
HEARTBEAT_TTL_SECONDS = 600


@shared_task(ignore_result=True)
def worker_heartbeat_task() -> float:
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=HEARTBEAT_TTL_SECONDS)
    return now


def last_heartbeat() -> float | None:
    """Seconds since the epoch of the last beat, or None when there was none."""
    value = cache.get(HEARTBEAT_KEY)
    return float(value) if value is not None else None
