"""Load-balancer probes.

`/healthz` says the process answers; nothing more. `/readyz` says this instance can
serve: the database answers, Redis answers (when configured), a Celery worker beat
recently (when tasks do not run in-process), and the outbox is not backing up.
It answers 200 when every check passes, 503 otherwise, naming the failures.
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


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict] = {}
    for name, check in CHECKS.items():
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


def check_outbox() -> dict:
    return _from_outbox_health(outbox_health(), threshold=settings.YUYUE_READYZ_OUTBOX_BACKLOG)


def _from_outbox_health(health, *, threshold: int) -> dict:
    """Judge the notifications app's outbox counts against our threshold.

    A few late messages must not take every instance out of the load balancer (the
    outbox is shared, so all would fail together): a `backlog` count is held to
    YUYUE_READYZ_OUTBOX_BACKLOG. Without a count, the app's own `ok` decides.
    """
    if not isinstance(health, dict):
        return {"status": OK if health else FAIL}
    detail = {k: v for k, v in health.items() if isinstance(v, (str, int, float, bool, type(None)))}
    backlog = health.get("backlog")
    if isinstance(backlog, int) and not isinstance(backlog, bool):
        if backlog > threshold:
            return {**detail, "status": FAIL, "error": "backlog over threshold"}
        return {**detail, "status": OK}
    verdict = health.get("ok", health.get("healthy", True))
    return {**detail, "status": OK if verdict else FAIL}


CHECKS: dict[str, Callable[[], dict]] = {
    "database": check_database,
    "redis": check_redis,
    "worker": check_worker,
    "outbox": check_outbox,
}
