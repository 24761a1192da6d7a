"""The real stack for fault tests: a Redis server, a Celery worker and an SMS sink of
the test's own, on free ports of 127.0.0.1, so stopping them disturbs nothing else.

Every subprocess is stopped in its fixture's finalizer, whatever the test did.
"""

import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis as redis_client
from django.conf import settings

from notifications import backends, services

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
SECRET = "fault-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- Redis -------------------------------------------------------------------------


class RedisServer:
    # Persistence and eviction as the test needs them (production's: PersistentRedis).
    options: tuple[str, ...] = ("--appendonly", "no")

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *self.options,
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis_client.Redis(port=self.port, socket_connect_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis_client.RedisError:
                return False

        wait_until(up, timeout=10, what=f"redis-server on {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


# --- the SMS sink ------------------------------------------------------------------------


class SmsSink:
    """A gateway that records what it got and drops a repeated idempotency key.

    `status` is what it answers (200, 500, 400...). An accepted message is recorded when
    its request arrives, before the answer, like a gateway that has handed the text to
    the carrier when the connection breaks: a worker killed meanwhile never hears "OK".
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict] = []  # every POST, in order
        self.delivered: dict[str, dict] = {}  # key → the message, once
        self.duplicates: list[str] = []
        self.bad_signatures = 0
        self.in_flight = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                signature = backends.sign(SECRET, self.headers.get("X-Yuyue-Timestamp", ""), body)
                payload = json.loads(body)
                key = self.headers.get("Idempotency-Key", "")
                with sink.lock:
                    status = sink.status
                    if signature != self.headers.get("X-Yuyue-Signature"):
                        sink.bad_signatures += 1
                        status = 401
                    sink.requests.append({"key": key, "status": status, **payload})
                    if 200 <= status < 300:
                        if key in sink.delivered:
                            sink.duplicates.append(key)
                        else:
                            sink.delivered[key] = payload
                    sink.in_flight += 1
                    delay = sink.delay
                try:
                    time.sleep(delay)
                    answer = json.dumps({"message_id": f"sink-{key}"}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                finally:
                    with sink.lock:
                        sink.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_sink():
    sink = SmsSink()
    yield sink
    sink.close()


# --- the Celery worker ----------------------------------------------------------------------


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery -A config worker` in its own process group, against the test database."""

    def __init__(self, *, redis: RedisServer, sink: SmsSink, logdir: Path, env: dict) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "YUYUE_SMS_BACKEND": "http",
            "YUYUE_SMS_HTTP_URL": sink.url,
            "YUYUE_SMS_HTTP_SECRET": SECRET,
            "YUYUE_SMS_HTTP_TIMEOUT": "5",
            "DJANGO_LOG_LEVEL": "INFO",
            **env,
        }
        self.logdir = logdir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.logdir / f"worker-{self.starts}.log"
        self.log = log
        self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                str(CELERY),
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                f"--hostname=fault{self.starts}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: "ready." in log.read_text(errors="replace"),
            timeout=30,
            interval=0.2,
            what=f"the celery worker to be ready (log: {log})",
        )

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool child, no goodbye."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        self.kill()


@pytest.fixture
def start_worker(tmp_path, redis_server, sms_sink):
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(redis=redis_server, sink=sms_sink, logdir=tmp_path, env=env)
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def broker(redis_server, settings):
    """Point this process's Celery app at the test's Redis, for real (not eager)."""
    from config.celery import app

    conf = app.conf
    before = {"broker_url": conf.broker_url, "task_always_eager": conf.task_always_eager}

    def reset_pools() -> None:
        with contextlib.suppress(Exception):
            if app._pool is not None:
                app._pool.force_close_all()
        app._after_fork()

    conf.broker_url = redis_server.url
    conf.task_always_eager = False
    # Celery 5.5 reads the namespaced name (Django's CELERY_BROKER_URL) before the plain
    # one, whatever was set on `conf`: override under that name too.
    namespaced = {"CELERY_BROKER_URL": redis_server.url, "CELERY_TASK_ALWAYS_EAGER": False}
    conf.changes.update(namespaced)
    reset_pools()
    services._broker_pause_until = 0.0
    # Quiet hours off: these tests must not depend on the hour they run at.
    settings.YUYUE_QUIET_HOURS_START = settings.YUYUE_QUIET_HOURS_END = datetime.time(0, 0)
    yield app
    for key in namespaced:
        conf.changes.pop(key, None)
    conf.update(before)
    reset_pools()
    services._broker_pause_until = 0.0


# --- a PostgreSQL cluster of the test's own ----------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def run_as_postgres(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: its tools run as the `postgres` user."""
    kwargs.setdefault("check", True)
    kwargs.setdefault("capture_output", True)
    return subprocess.run([RUNUSER, "-u", "postgres", "--", *args], timeout=60, **kwargs)  # noqa: S603


def postgres_cluster_missing() -> str | None:
    """Why no cluster of our own can be made here, or None."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"needs PostgreSQL 15's initdb and pg_ctl in {PG_BIN}"
    if not os.access(RUNUSER, os.X_OK):
        return "needs runuser (initdb runs as the postgres user)"
    return None


class PostgresCluster:
    """initdb into a temporary directory, on a port of the test's range; trust auth."""

    def __init__(self, *, database: str, port: int, prefix: str = "yuyue-pg-") -> None:
        import tempfile

        # Not under pytest's tmp_path: its parents are root's alone.
        self.home = Path(tempfile.mkdtemp(prefix=prefix))
        self.dir = self.home / "pgdata"
        self.port = port
        self.database = database
        self.url = f"postgres://postgres@127.0.0.1:{port}/{database}"

    def init(self) -> None:
        import pwd

        postgres = pwd.getpwnam("postgres")
        os.chown(self.home, postgres.pw_uid, postgres.pw_gid)
        run_as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust", "-N"
        )
        self.start()
        run_as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), self.database
        )

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run_as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.dir),
            "-l",
            str(self.dir / "server.log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}",
            *args,
            check=check,
        )

    def start(self) -> None:
        self._pg_ctl("-w", "start")

    def stop(self, *, check: bool = False) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop", check=check)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
