"""PostgreSQL restarting under bookings: no booking answered 201 is lost, a request during
the restart gets a clean 503 in the user's language (core/database_unavailable.py),
`/readyz` says so, and service resumes by itself.

The drill runs gunicorn with production settings against a PostgreSQL cluster of its
own (initdb into a temporary directory, on a port of 8860–8869), books from several
threads, and restarts the cluster in the middle. The fast tests at the end check the 503
itself, on SQLite, without a cluster.
"""

import json
import os
import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from tests.faults.conftest import (
    ROOT,
    PostgresCluster,
    free_port,
    postgres_cluster_missing,
    wait_until,
)

PATIENTS = 600
THREADS = 4
DRILL_SECONDS = 20
RESTART_AFTER_SECONDS = 7
RECOVERY_LIMIT_SECONDS = 30
# Refusals by the booking rules are answers, not faults.
KNOWN_REFUSALS = {"slot_full", "already_booked_session", "duplicate_department_day"}

SEED = """
import datetime, json
from django.utils import timezone
from clinics.models import Channel
from patients.services import api_token_issue
from tests.factories import (
    BookingPolicyFactory, PatientFactory, SessionFactory, slot_with_quotas,
)
day = timezone.localdate() + datetime.timedelta(days=2)
session = SessionFactory(date=day)
BookingPolicyFactory(department=session.department)
slots = [
    slot_with_quotas(
        session=session,
        starts_at=session.starts_at + datetime.timedelta(minutes=10 * i),
        **{Channel.ONLINE: 100},
    ).pk
    for i in range(10)
]
now = timezone.now()
people = []
for n in range(PATIENTS):
    patient = PatientFactory(
        account__username=f"1390{n:07d}", id_sequence=n % 999 + 1,
        birth_date=datetime.date(1950 + n // 999, 1, 1),
    )
    _row, token = api_token_issue(account=patient.account, second_factor=False, now=now)
    people.append({"patient": patient.pk, "token": token})
print(json.dumps({"slots": slots, "people": people}))
"""


def _env(cluster: PostgresCluster, tmp_path, port: int) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_URL": cluster.url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48) + "-drill",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "YUYUE_SMS_BACKEND": "notifications.backends.FileSMSBackend",
        "YUYUE_SMS_FILE_PATH": str(tmp_path / "sms.jsonl"),
        "API_RATE_BOOKING_WRITE": "1000000/min",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "YUYUE_BIND": f"127.0.0.1:{port}",
        "YUYUE_WEB_LOG_LEVEL": "warning",
    }


def _call(url: str, *, method: str = "GET", body: dict | None = None, headers=None):
    """(status, json or None, error name or None); a 10 s timeout: a hang is a failure."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 (our server)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status, raw, headers_ = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, headers_ = error.code, error.read(), error.headers
    except (OSError, urllib.error.URLError) as error:
        return None, None, type(getattr(error, "reason", error)).__name__, {}
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None
    return status, payload, None, headers_


@pytest.mark.postgres
@pytest.mark.redis
def test_bookings_ride_through_a_database_restart(tmp_path):
    missing = postgres_cluster_missing()
    if missing:
        pytest.skip(missing)
    cluster = PostgresCluster(database="dbrdrill", port=free_port(), prefix="yuyue-dbr-pg-")
    web_port = free_port()
    python = str(ROOT / ".venv" / "bin" / "python")
    gunicorn = None
    try:
        cluster.init()
        env = _env(cluster, tmp_path, web_port)
        run = {"cwd": ROOT, "env": env, "check": True, "timeout": 120, "capture_output": True}
        subprocess.run([python, "manage.py", "migrate", "-v0"], **run)  # noqa: S603
        seeded = subprocess.run(  # noqa: S603
            [python, "manage.py", "shell", "-c", SEED.replace("PATIENTS", str(PATIENTS))],
            **run,
            text=True,
        )
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        log = tmp_path / "gunicorn.log"
        gunicorn = subprocess.Popen(  # noqa: S603
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.py"],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{web_port}"
        wait_until(
            lambda: _call(f"{base}/readyz")[0] == 200, timeout=30, interval=0.2, what="gunicorn"
        )
        figures = _drill(base, cluster, seed)
        stored = _stored_bookings(cluster, python, env)
    except BaseException:
        if gunicorn is not None:
            print(f"\ngunicorn's log:\n{(tmp_path / 'gunicorn.log').read_text()[-4000:]}")
        raise
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, 15)
            try:
                gunicorn.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(gunicorn.pid, 9)
                gunicorn.wait(timeout=10)
        cluster.remove()

    # every booking answered 201 is in the database afterwards
    missing_ids = set(figures["created"]) - set(stored)
    assert not missing_ids, f"answered 201 but not stored: {sorted(missing_ids)}"
    # nothing but 201, a known refusal or a clean 503: no 500, no reset, no hang
    assert not figures["faults"], figures["faults"][:10]
    assert figures["unavailable"] >= 1, "no request met the restart"
    assert figures["readyz_503"] >= 1, "/readyz never said the database was down"
    assert figures["readyz_after"] == 200
    assert figures["recovered_after"] is not None, "no booking succeeded after the restart"
    assert figures["recovered_after"] <= RECOVERY_LIMIT_SECONDS
    print(
        f"\ndatabase restart drill: {figures['requests']} booking requests, "
        f"{len(figures['created'])} created (all {len(stored)} stored), "
        f"{figures['unavailable']} answered 503 database_unavailable, "
        f"{figures['refused']} refused by the rules; /readyz 503 {figures['readyz_503']} "
        f"times; restart took {figures['restart_seconds']:.1f} s; first booking "
        f"{figures['recovered_after']:.1f} s after the restart began"
    )


def _stored_bookings(cluster: PostgresCluster, python: str, env: dict) -> list[int]:
    """Every booking's id, read from the cluster once the drill is over."""
    script = (
        "import json; from booking.models import Booking; "
        "print(json.dumps(list(Booking.objects.values_list('pk', flat=True))))"
    )
    done = subprocess.run(  # noqa: S603
        [python, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _drill(base: str, cluster: PostgresCluster, seed: dict) -> dict:
    lock = threading.Lock()
    people = iter(seed["people"])
    slots = seed["slots"]
    figures = {
        "requests": 0,
        "created": [],
        "unavailable": 0,
        "refused": 0,
        "faults": [],
        "readyz_503": 0,
        "readyz_after": None,
        "recovered_after": None,
        "restart_seconds": 0.0,
    }
    restart = {"began": None, "stopped": None, "ended": None}
    stop = threading.Event()
    started = time.monotonic()

    def book(n: int) -> None:
        while not stop.is_set():
            with lock:
                person = next(people, None)
            if person is None:
                return
            language = "en" if n % 2 else "zh-hans"
            sent_at = time.monotonic()
            status, payload, error, headers = _call(
                f"{base}/api/v1/bookings",
                method="POST",
                body={"patient": person["patient"], "slot": slots[n % len(slots)]},
                headers={
                    "Authorization": f"Bearer {person['token']}",
                    "Content-Type": "application/json",
                    "Accept-Language": language,
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            code = (payload or {}).get("code")
            with lock:
                figures["requests"] += 1
                if status == 201:
                    figures["created"].append(payload["id"])
                    # recovered: a booking sent once the database was down succeeded
                    stopped = restart["stopped"]
                    if stopped is not None and sent_at > stopped and not figures["recovered_after"]:
                        figures["recovered_after"] = time.monotonic() - restart["began"]
                elif status == 503 and code == "database_unavailable":
                    figures["unavailable"] += 1
                    detail = payload["detail"]
                    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in detail)
                    if chinese != (language == "zh-hans") or headers.get("Retry-After") != "10":
                        figures["faults"].append(("503 wrong", language, detail, dict(headers)))
                elif status is not None and 400 <= status < 500 and code in KNOWN_REFUSALS:
                    figures["refused"] += 1
                else:
                    figures["faults"].append((status, error, code, payload))
            time.sleep(0.15)

    def probe() -> None:
        while not stop.is_set():
            status = _call(f"{base}/readyz")[0]
            with lock:
                if status == 503:
                    figures["readyz_503"] += 1
                elif status != 200:
                    figures["faults"].append(("readyz", status))
            time.sleep(0.2)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(THREADS)]
    threads.append(threading.Thread(target=probe))
    for thread in threads:
        thread.start()
    try:
        time.sleep(RESTART_AFTER_SECONDS)
        restart["began"] = time.monotonic()
        cluster.stop(check=True)
        restart["stopped"] = time.monotonic()
        time.sleep(2)  # a restart that takes a moment, so requests meet it
        cluster.start()
        restart["ended"] = time.monotonic()
        figures["restart_seconds"] = restart["ended"] - restart["began"]
        deadline = started + DRILL_SECONDS
        give_up = restart["began"] + RECOVERY_LIMIT_SECONDS + 1
        while time.monotonic() < deadline or (
            figures["recovered_after"] is None and time.monotonic() < give_up
        ):
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    figures["readyz_after"] = _call(f"{base}/readyz")[0]
    return figures


# --- the 503 itself, without a cluster ------------------------------------------------------


class Unavailable(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise OperationalError("connection refused")


def unavailable_page(request):
    raise InterfaceError("connection already closed")


def plain_page(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/drill-unavailable", Unavailable.as_view()),
    path("drill-unavailable", unavailable_page),
    path("drill-plain", plain_page),
]

ZH = "服务暂时不可用，请稍后再试。"
EN = "The service is briefly unavailable. Please try again in a moment."


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("language", "detail"), [("zh-hans", ZH), ("en", EN)])
def test_the_api_answers_503_in_the_users_language(client, language, detail):
    response = client.get("/api/v1/drill-unavailable", headers={"accept-language": language})

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json() == {"code": "database_unavailable", "detail": detail}


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("language", "title"), [("zh-hans", "服务暂时不可用"), ("en", "unavailable")]
)
def test_a_page_answers_503_in_the_users_language(client, language, title):
    response = client.get("/drill-unavailable", headers={"accept-language": language})

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert title in response.content.decode()
    assert "<script" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_database_failure_inside_a_middleware_is_a_503_too(client, monkeypatch):
    """A signed-in visitor's session is read by a middleware, before any view."""
    from django.contrib.sessions.backends.db import SessionStore

    def refuse(self):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(SessionStore, "load", refuse)
    client.raise_request_exception = False
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32

    response = client.get("/api/v1/drill-unavailable", headers={"accept-language": "en"})
    page = client.get("/drill-plain", headers={"accept-language": "zh-hans"})

    assert response.status_code == 503
    assert response.json() == {"code": "database_unavailable", "detail": EN}
    assert page.status_code == 503
    assert page["Retry-After"] == "10"
    assert "服务暂时不可用" in page.content.decode()
