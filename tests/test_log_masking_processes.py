"""Every log line of the real processes is masked: gunicorn (config/gunicorn.py: its access
log prints each request's path and query string) and a Celery worker (config/celery.py:
Celery replaces the root logger's handlers, and with them Django's masking filter).

Both run as subprocesses with production settings (DEBUG off) against this test's
PostgreSQL database and Redis, on a free port. Requests carry a full phone number and a
resident ID number in the path and the query string; a patient holding both numbers
books, reads and cancels through the API; the worker sends the sign-in code, the
confirmation and the cancellation to that phone and receives a message body holding both
numbers. Then every byte gunicorn and
the worker wrote is searched: no full number anywhere, the masked forms present.

The first tests check the same two hooks in this process, without services.
"""

import contextlib
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PHONE = "13812345678"
MASKED_PHONE = "138****5678"
RESIDENT_ID = "11010519491231002X"
MASKED_ID = "**************002X"


def leaks(text: str) -> list[str]:
    return [line for line in text.splitlines() if PHONE in line or RESIDENT_ID in line.upper()]


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


# --- the hooks, in this process ------------------------------------------------------


def test_gunicorns_logger_masks_its_access_and_error_logs():
    from gunicorn.config import Config

    from config.gunicorn import MaskingLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = MaskingLogger(cfg)
    handler = ListHandler()
    for log in (logger.access_log, logger.error_log):
        log.addHandler(handler)
    try:
        logger.access_log.info(
            'path="%(U)s" query="%(q)s"', {"U": f"/p/{RESIDENT_ID}", "q": f"q={PHONE}"}
        )
        logger.error("Error handling request /admin/?q=%s", PHONE)
    finally:
        for log in (logger.access_log, logger.error_log):
            log.removeHandler(handler)

    assert handler.lines == [
        f'path="/p/{MASKED_ID}" query="q={MASKED_PHONE}"',
        f"Error handling request /admin/?q={MASKED_PHONE}",
    ]


def test_the_celery_hook_masks_the_handlers_celery_installs():
    from celery import signals

    import config.celery  # noqa: F401 (connects the hook)

    # given a logger set up as Celery sets up the worker's root and task loggers
    logger = logging.getLogger("yuyue.tests.celery_root")
    logger.propagate = False
    handler = ListHandler()
    logger.addHandler(handler)
    try:
        signals.after_setup_logger.send(
            sender=None,
            logger=logger,
            loglevel=logging.INFO,
            logfile=None,
            format="",
            colorize=False,
        )
        # a child logger's record reaches the handler without passing the logger's filters
        logging.getLogger("yuyue.tests.celery_root.child").warning("body: [%r]", PHONE)
    finally:
        logger.removeHandler(handler)

    assert handler.lines == [f"body: ['{MASKED_PHONE}']"]


def test_the_gunicorn_config_keeps_the_defaults(monkeypatch):
    import importlib.util

    for name in ("YUYUE_BIND", "YUYUE_WEB_WORKERS", "YUYUE_WEB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YUYUE_TRUSTED_PROXIES", "10.0.0.5")
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "config" / "gunicorn.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)

    assert (conf.bind, conf.workers, conf.worker_class, conf.threads) == (
        "0.0.0.0:8000",
        2,
        "gthread",
        4,
    )
    assert conf.accesslog == "-"
    assert conf.forwarded_allow_ips == "10.0.0.5"  # not gunicorn's default 127.0.0.1
    assert conf.control_socket_disable is True


# --- the real processes ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(port: int) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "YUYUE_", "CELERY_"))
    }
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "INFO",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # A demo's console SMS: the worker's log line names the masked number.
        "YUYUE_SMS_BACKEND": "console",
        "YUYUE_ALLOW_CONSOLE_SMS": "true",
        # No quiet hours: the SMS goes at once whatever the hour of the run.
        "YUYUE_QUIET_HOURS_START": "00:00",
        "YUYUE_QUIET_HOURS_END": "00:00",
        "YUYUE_BIND": f"127.0.0.1:{port}",
        "YUYUE_WEB_WORKERS": "1",
        "YUYUE_WEB_THREADS": "2",
    }


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], out: Path, err: Path):
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(  # noqa: S603 (fixed arguments)
            args, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def get(url: str, **kwargs) -> int:
    request = urllib.request.Request(url, **kwargs)  # noqa: S310 (our own server)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_gunicorn_and_the_worker_never_print_a_full_number(tmp_path):
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    booking = _a_patient_with_both_numbers_and_a_place()
    port = free_port()
    env = production_env(port)
    base = f"http://127.0.0.1:{port}"
    logs = {
        name: tmp_path / f"{name}.log"
        for name in ("web.out", "web.err", "worker.out", "worker.err")
    }
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-c", "config/gunicorn.py"]
    worker = [
        str(ROOT / ".venv/bin/celery"),
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        "--hostname=logmask@%h",
    ]

    def text(name: str) -> str:
        return logs[name].read_text(errors="replace")

    with (
        process(gunicorn, env, logs["web.out"], logs["web.err"]),
        process(worker, env, logs["worker.out"], logs["worker.err"]),
    ):
        wait_until(
            lambda: get(f"{base}/healthz") == 200 if _listening(port) else False,
            timeout=60,
            what="gunicorn",
        )
        wait_until(
            lambda: "ready." in text("worker.err") + text("worker.out"),
            timeout=60,
            what="the worker",
        )

        # when requests carry the numbers in the query string and the path
        assert get(f"{base}/admin/patients/patient/?q={PHONE}") == 302  # to the sign-in page
        get(f"{base}/api/v1/status?phone={PHONE}")
        # (404s; a 500 where collectstatic has not run yet logs the path the same way)
        get(f"{base}/patients/{RESIDENT_ID}/visits")
        get(f"{base}/account/{PHONE}")
        # and a sign-in code goes to the phone: gunicorn publishes, the worker sends
        sent = get(
            f"{base}/api/v1/auth/code",
            data=f'{{"phone": "{PHONE}", "language": "en"}}'.encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": "req-logmask-1"},
            method="POST",
        )
        assert sent == 202
        # and that patient books through the API, looks, and cancels: the worker sends
        # the confirmation and the cancellation to the phone
        created = _call(
            f"{base}/api/v1/bookings",
            booking["token"],
            {"patient": booking["patient"], "slot": booking["slot"]},
        )
        assert created["status"] == 201, created
        booking_id = created["body"]["id"]
        assert _call(f"{base}/api/v1/bookings/{booking_id}", booking["token"])["status"] == 200
        cancelled = _call(f"{base}/api/v1/bookings/{booking_id}/cancel", booking["token"], {})
        assert cancelled["status"] == 200, cancelled
        # and the worker receives a message body holding both numbers (logged in full by
        # Celery: "The full contents of the message body was: ...")
        from config.celery import app

        # A connection of its own: another test may have closed the app's shared pool.
        with app.connection_for_write(settings.REDIS_URL) as connection:
            app.send_task(
                "yuyue.tests.no_such_task", args=[PHONE, RESIDENT_ID], connection=connection
            )

        worker_text = lambda: text("worker.out") + text("worker.err")  # noqa: E731
        wait_until(
            lambda: all(
                line in worker_text()
                for line in (
                    "SMS sign_in_code to ***5678",
                    "SMS booking_confirmed to ***5678",
                    "SMS booking_cancelled to ***5678",
                    "no_such_task",
                )
            ),
            timeout=60,
            what="the worker to send the SMS and refuse the unknown task",
        )

    web = text("web.out") + text("web.err")
    worker_log = worker_text()
    # then no full number anywhere
    assert leaks(web) == [], web
    assert leaks(worker_log) == [], worker_log
    # and the masked forms are there (in the JSON lines' messages, as an operator reads
    # them): the access log's query strings and paths...
    web = "\n".join(_message(line) for line in web.splitlines())
    assert f'path="/admin/patients/patient/" query="q={MASKED_PHONE}" status=302' in web
    assert f'query="phone={MASKED_PHONE}"' in web
    assert f'path="/patients/{MASKED_ID}/visits"' in web
    assert f'path="/account/{MASKED_PHONE}"' in web
    assert "request_id=req-logmask-1" in web
    # ...Django's own "Not Found" warning, and the worker's lines
    assert re.search(r"(Not Found|Internal Server Error): /patients/\*+002X/visits", web)
    assert "SMS sign_in_code to ***5678 (text not logged)" in worker_log
    assert "sign-in code is" not in worker_log
    assert MASKED_PHONE in worker_log and MASKED_ID in worker_log


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _message(line: str) -> str:
    """A JSON log line's message and request id (production's format), else the line."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    return f"{record.get('message', '')} request_id={record.get('request_id', '-')}"


def _a_patient_with_both_numbers_and_a_place() -> dict:
    """Committed rows for the processes to read: a patient whose phone and resident ID
    are the ones searched for, an online place the day after tomorrow, a bearer token."""
    import datetime

    from django.utils import timezone

    from patients.services import api_token_issue
    from tests import factories

    patient = factories.PatientFactory(
        phone=PHONE,
        document_number=RESIDENT_ID,
        account=factories.AccountFactory(phone=PHONE),
    )
    session = factories.SessionFactory(date=timezone.localdate() + datetime.timedelta(days=2))
    slot = factories.slot_with_quotas(session=session, online=2)
    _row, token = api_token_issue(account=patient.account, second_factor=False, now=timezone.now())
    return {"patient": patient.pk, "slot": slot.pk, "token": token}


def _call(url: str, token: str, body: dict | None = None) -> dict:
    """The API as a patient's app calls it: GET, or POST of `body` with a new key."""
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        headers |= {"Content-Type": "application/json", "Idempotency-Key": secrets.token_hex(8)}
        data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return {"status": response.status, "body": json.loads(response.read() or b"{}")}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": exc.read().decode(errors="replace")}
