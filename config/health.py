"""Probes: what the load balancer asks, and what the monitor asks.

`/healthz` says the process answers; nothing more. `/readyz` says *this instance* can
serve: only what it needs to answer pages and bookings, its database. Redis down (the
cache fails open, bookings wait in the outbox), a dead worker or beat, a backed-up outbox
are shared by every instance: failing readiness for them would take every instance out
of the load balancer together while pages and bookings still work.

`/healthz/background` is for the monitor: Redis, a worker's heartbeat, beat, and the
outbox backlog, each judged against its threshold. 200 when every check passes, 503
otherwise, naming the failures, so the monitor alerts a person; no load balancer acts on
it. Both answer JSON: `status`, `failures`, `checks`.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from config.heartbeat import last_heartbeat
from notifications.selectors import outbox_health

OK = "ok"
SKIPPED = "skipped"
FAIL = "fail"

# beat runs the heartbeat every 30 s: four missed beats mean no worker is working.
HEARTBEAT_MAX_AGE_SECONDS = 120
# Beat saves its entries' run times every 3 minutes (celery's sync_every); the heartbeat
# entry runs every 30 s: its saved run older than this means beat is not running.
BEAT_MAX_AGE_SECONDS = 300
BEAT_PROBE_ENTRY = "worker-heartbeat"


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    return _answer(READINESS_CHECKS)


def background(request: HttpRequest) -> JsonResponse:
    return _answer(BACKGROUND_CHECKS)


def _answer(checks_to_run: dict[str, Callable[[], dict]]) -> JsonResponse:
    checks: dict[str, dict] = {}
    for name, check in checks_to_run.items():
        try:
            checks[name] = check()
        except Exception as exc:  # a probe reports, it never raises
            checks[name] = {"status": FAIL, "error": type(exc).__name__}
    failures = [name for name, result in checks.items() if result["status"] == FAIL]
    return JsonResponse(
        {"status": FAIL if failures else OK, "failures": failures, "checks": checks},
        status=503 if failures else 200,
    )


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": OK}


def check_redis() -> dict:
    url = settings.REDIS_URL
    if not url:
        return {"status": SKIPPED}
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return {"status": FAIL, "error": type(exc).__name__}
    finally:
        client.close()
    return {"status": OK}


def check_worker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": SKIPPED, "reason": "tasks run in-process"}
    beat = last_heartbeat()
    if beat is None:
        return {"status": FAIL, "error": "no heartbeat"}
    age = max(0, round(time.time() - beat))
    if age > HEARTBEAT_MAX_AGE_SECONDS:
        return {"status": FAIL, "error": "heartbeat too old", "age_seconds": age}
    return {"status": OK, "age_seconds": age}


def check_beat() -> dict:
    """Beat is alive when it recently saved a run of the heartbeat entry. Read from the
    database, so a dead beat and a dead worker tell apart (`worker` fails for both)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": SKIPPED, "reason": "tasks run in-process"}
    from django_celery_beat.models import PeriodicTask

    last_run = (
        PeriodicTask.objects.filter(name=BEAT_PROBE_ENTRY)
        .values_list("last_run_at", flat=True)
        .first()
    )
    if last_run is None:
        return {"status": FAIL, "error": "never ran"}
    age = max(0, round(time.time() - last_run.timestamp()))
    if age > BEAT_MAX_AGE_SECONDS:
        return {"status": FAIL, "error": "last run too old", "age_seconds": age}
    return {"status": OK, "age_seconds": age}


def check_outbox() -> dict:
    return _from_outbox_health(
        outbox_health(),
        threshold=settings.YUYUE_HEALTH_OUTBOX_BACKLOG,
        oldest_seconds=settings.YUYUE_HEALTH_OUTBOX_OLDEST_SECONDS,
    )


def _from_outbox_health(health, *, threshold: int, oldest_seconds: int | None = None) -> dict:
    """Judge the notifications app's outbox counts against our thresholds.

    A few late messages are not an alert: a `backlog` count is held to
    YUYUE_HEALTH_OUTBOX_BACKLOG, and the oldest late one to
    YUYUE_HEALTH_OUTBOX_OLDEST_SECONDS. Without a count, the app's own `ok` decides.
    """
    if not isinstance(health, dict):
        return {"status": OK if health else FAIL}
    detail = {k: v for k, v in health.items() if isinstance(v, (str, int, float, bool, type(None)))}
    backlog = health.get("backlog")
    if isinstance(backlog, int) and not isinstance(backlog, bool):
        if backlog > threshold:
            return {**detail, "status": FAIL, "error": "backlog over threshold"}
        oldest = health.get("oldest_backlog_seconds")
        if oldest_seconds is not None and isinstance(oldest, int) and oldest > oldest_seconds:
            return {**detail, "status": FAIL, "error": "oldest message too late"}
        return {**detail, "status": OK}
    verdict = health.get("ok", health.get("healthy", True))
    return {**detail, "status": OK if verdict else FAIL}


# What this instance needs to serve: the load balancer acts on these.
READINESS_CHECKS: dict[str, Callable[[], dict]] = {
    "database": check_database,
}

# Shared by every instance: the monitor alerts on these; no instance is taken out.
BACKGROUND_CHECKS: dict[str, Callable[[], dict]] = {
    "redis": check_redis,
    "worker": check_worker,
    "beat": check_beat,
    "outbox": check_outbox,
}
