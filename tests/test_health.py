"""Probes: /healthz (process up), /readyz (this instance can serve: its database) and
/healthz/background (the monitor's: Redis, worker, beat, outbox), failures named."""

import datetime
import types

import pytest
import time_machine
from django.utils import timezone

from config import health
from config import health as health_module
from config.heartbeat import HEARTBEAT_KEY, worker_heartbeat_task
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_cache(settings):
    """A private in-memory cache, so no other test (or worker) shares the heartbeat key."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "readyz-tests",
        }
    }
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def in_process(settings):
    """Development: no Redis, tasks in-process, so no worker to wait for."""
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_in_development(client, in_process):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "failures": [],
        "checks": {"database": {"status": "ok"}},
    }


def test_background_in_development(client, in_process):
    response = client.get("/healthz/background")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "failures": [],
        "checks": {
            "redis": {"status": "skipped"},
            "worker": {"status": "skipped", "reason": "tasks run in-process"},
            "beat": {"status": "skipped", "reason": "tasks run in-process"},
            "outbox": {
                "status": "ok",
                "ok": True,
                "backlog": 0,
                "failed": 0,
                "failed_last_day": 0,
                "stuck_sending": 0,
                "oldest_backlog_seconds": 0,
                "backlog_minutes": 10,
            },
        },
    }


def test_readyz_fails_when_the_database_does_not_answer(client, in_process, monkeypatch):
    def broken():
        raise health.connection.OperationalError("connection refused")

    broken_connection = types.SimpleNamespace(
        cursor=broken, OperationalError=type("OperationalError", (Exception,), {})
    )
    monkeypatch.setattr(health, "connection", broken_connection)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failures"] == ["database"]
    assert body["checks"]["database"] == {"status": "fail", "error": "OperationalError"}


def test_readyz_stays_ready_when_only_shared_background_work_is_down(client, settings):
    """Redis refusing, no worker, no beat, the outbox backed up: every instance shares
    them, so none is taken out of service; the monitor's endpoint says what is wrong."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.YUYUE_HEALTH_OUTBOX_BACKLOG = 0
    _pending(1, age=datetime.timedelta(minutes=30))

    ready = client.get("/readyz")
    background = client.get("/healthz/background")

    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": {"status": "ok"}}
    assert background.status_code == 503
    assert background.json()["failures"] == ["redis", "worker", "beat", "outbox"]


def test_background_fails_when_redis_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/healthz/background")

    assert response.status_code == 503
    assert response.json()["failures"] == ["redis"]
    assert response.json()["checks"]["redis"] == {"status": "fail", "error": "ConnectionError"}


@pytest.mark.redis
def test_background_pings_a_real_redis(client, settings):
    import os

    settings.REDIS_URL = os.environ.get("REDIS_URL", settings.REDIS_URL)
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/healthz/background")

    assert response.json()["checks"]["redis"] == {"status": "ok"}
    assert response.status_code == 200


def _beat_ran(when: datetime.datetime) -> None:
    """What beat saves after sending the heartbeat entry (its run time)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="worker-heartbeat",
        defaults={
            "task": "config.heartbeat.worker_heartbeat_task",
            "interval": every,
            "last_run_at": when,
        },
    )


def test_background_needs_a_recent_worker_heartbeat(client, settings):
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    start = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)

    with time_machine.travel(start, tick=False) as clock:
        _beat_ran(start)
        # no worker has ever beaten
        missing = client.get("/healthz/background")
        assert missing.status_code == 503
        assert missing.json()["failures"] == ["worker"]
        assert missing.json()["checks"]["worker"] == {"status": "fail", "error": "no heartbeat"}

        # a worker beats (beat runs the task every 30 s)
        worker_heartbeat_task()
        clock.shift(datetime.timedelta(seconds=30))
        _beat_ran(timezone.now())
        fresh = client.get("/healthz/background")
        assert fresh.status_code == 200
        assert fresh.json()["checks"]["worker"] == {"status": "ok", "age_seconds": 30}

        # two minutes is the limit; past it the worker is taken for gone
        clock.shift(datetime.timedelta(seconds=90))
        _beat_ran(timezone.now())
        assert client.get("/healthz/background").status_code == 200
        clock.shift(datetime.timedelta(seconds=1))
        stale = client.get("/healthz/background")
        assert stale.status_code == 503
        assert stale.json()["checks"]["worker"] == {
            "status": "fail",
            "error": "heartbeat too old",
            "age_seconds": 121,
        }
        # and this instance still serves
        assert client.get("/readyz").status_code == 200


def test_background_needs_beat_to_have_run_recently(client, settings):
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    start = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)

    with time_machine.travel(start, tick=False) as clock:
        worker_heartbeat_task()
        never = client.get("/healthz/background")
        assert never.json()["checks"]["beat"] == {"status": "fail", "error": "never ran"}

        _beat_ran(start)
        clock.shift(datetime.timedelta(seconds=300))
        worker_heartbeat_task()
        ok = client.get("/healthz/background")
        assert ok.status_code == 200
        assert ok.json()["checks"]["beat"] == {"status": "ok", "age_seconds": 300}

        # beat saves run times every 3 minutes: past 5, it is not running
        clock.shift(datetime.timedelta(seconds=1))
        worker_heartbeat_task()
        stale = client.get("/healthz/background")
        assert stale.status_code == 503
        assert stale.json()["failures"] == ["beat"]
        assert stale.json()["checks"]["beat"] == {
            "status": "fail",
            "error": "last run too old",
            "age_seconds": 301,
        }


def test_heartbeat_task_writes_the_time(settings):
    from django.core.cache import cache

    with time_machine.travel(datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC), tick=False):
        worker_heartbeat_task()
        assert (
            cache.get(HEARTBEAT_KEY)
            == datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC).timestamp()
        )


def test_heartbeat_is_in_the_beat_schedule():
    from config.celery import app

    entry = app.conf.beat_schedule["worker-heartbeat"]
    assert entry == {"task": "config.heartbeat.worker_heartbeat_task", "schedule": 30.0}
    assert health.BEAT_PROBE_ENTRY == "worker-heartbeat"


def _pending(count: int, *, age: datetime.timedelta) -> None:
    for n in range(count):
        OutboxMessage.objects.create(
            kind="booking_confirmed",
            dedupe_key=f"readyz:{age}:{n}",
            channel="sms",
            recipient="13800000000",
        )
    OutboxMessage.objects.filter(dedupe_key__startswith=f"readyz:{age}:").update(
        created_at=timezone.now() - age, due_at=timezone.now() - age
    )


def test_background_fails_when_the_outbox_backs_up(client, settings, in_process):
    settings.YUYUE_HEALTH_OUTBOX_BACKLOG = 2
    settings.YUYUE_OUTBOX_BACKLOG_MINUTES = 5
    _pending(2, age=datetime.timedelta(minutes=6))
    _pending(5, age=datetime.timedelta(minutes=1))  # young: still on their way

    assert client.get("/healthz/background").status_code == 200

    _pending(1, age=datetime.timedelta(minutes=10))
    response = client.get("/healthz/background")

    assert response.status_code == 503
    assert response.json()["failures"] == ["outbox"]
    outbox = response.json()["checks"]["outbox"]
    assert (outbox["status"], outbox["backlog"], outbox["error"]) == (
        "fail",
        3,
        "backlog over threshold",
    )
    assert client.get("/readyz").status_code == 200


def test_background_fails_when_one_message_is_too_late(client, settings, in_process):
    settings.YUYUE_HEALTH_OUTBOX_BACKLOG = 100
    settings.YUYUE_HEALTH_OUTBOX_OLDEST_SECONDS = 1800
    _pending(1, age=datetime.timedelta(minutes=29))

    assert client.get("/healthz/background").status_code == 200

    _pending(1, age=datetime.timedelta(minutes=31))
    response = client.get("/healthz/background")

    assert response.status_code == 503
    outbox = response.json()["checks"]["outbox"]
    assert (outbox["backlog"], outbox["error"]) == (2, "oldest message too late")
    assert outbox["oldest_backlog_seconds"] >= 31 * 60


@pytest.mark.parametrize(
    ("health", "code", "outbox"),
    [
        (
            {"ok": False, "backlog": 999, "stuck_sending": 0},
            503,
            {
                "status": "fail",
                "error": "backlog over threshold",
                "ok": False,
                "backlog": 999,
                "stuck_sending": 0,
            },
        ),
        # a few late messages: the threshold, not the first late one, decides
        (
            {"ok": False, "backlog": 3, "stuck_sending": 0},
            200,
            {"status": "ok", "ok": False, "backlog": 3, "stuck_sending": 0},
        ),
        ({"ok": False}, 503, {"status": "fail", "ok": False}),
    ],
)
def test_background_uses_the_notifications_outbox_health_when_there_is_one(
    client, in_process, monkeypatch, settings, health, code, outbox
):
    settings.YUYUE_HEALTH_OUTBOX_BACKLOG = 100
    monkeypatch.setattr(health_module, "outbox_health", lambda: dict(health))

    response = client.get("/healthz/background")

    assert response.status_code == code
    assert response.json()["checks"]["outbox"] == outbox
    assert response.json()["failures"] == ([] if code == 200 else ["outbox"])


def test_background_with_the_real_outbox_health(client, in_process):
    response = client.get("/healthz/background")

    assert response.status_code == 200
    assert response.json()["checks"]["outbox"]["status"] == "ok"


@pytest.mark.parametrize(
    ("path", "checks"),
    [("/readyz", "READINESS_CHECKS"), ("/healthz/background", "BACKGROUND_CHECKS")],
)
def test_a_check_that_raises_is_a_named_failure(client, in_process, monkeypatch, path, checks):
    def exploding() -> dict:
        raise RuntimeError("boom")

    monkeypatch.setitem(getattr(health, checks), "exploding", exploding)

    response = client.get(path)

    assert response.status_code == 503
    assert response.json()["checks"]["exploding"] == {"status": "fail", "error": "RuntimeError"}
