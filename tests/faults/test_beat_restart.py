"""Beat against a PostgreSQL cluster of the test's own, stopped and started again: beat
stays up and keeps sending (config/beat.py).

The cluster is initdb'd into a temporary directory and run as the `postgres` user on a
port of its own, so stopping it disturbs no other test. Beat runs with the library's
5-minute forced schedule re-read shortened to 2 s, so the outage spans several re-reads.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis as redis_client

from tests.faults.conftest import ROOT, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _port_in_our_range() -> int:
    """A free port of 8840–8849, the range given to this test's servers."""
    for port in range(8840, 8850):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 8840-8849")


def _as_postgres(*args: str, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("check", True)
    kwargs.setdefault("capture_output", True)
    return subprocess.run([RUNUSER, "-u", "postgres", "--", *args], timeout=60, **kwargs)  # noqa: S603


class OwnPostgres:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: its parents are root's alone, and initdb runs as
        # the postgres user (PostgreSQL refuses to run as root).
        self.home = Path(tempfile.mkdtemp(prefix="yuyue-beat-pg-"))
        self.dir = self.home / "pgdata"
        self.port = _port_in_our_range()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/beatdrill"

    def init(self) -> None:
        postgres = pwd.getpwnam("postgres")
        os.chown(self.home, postgres.pw_uid, postgres.pw_gid)
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust")
        self.start()
        _as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "beatdrill")

    def start(self) -> None:
        _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.dir),
            "-l",
            str(self.dir / "server.log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}",
            "-w",
            "start",
        )

    def stop(self) -> None:
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop", check=False
        )


@pytest.fixture
def own_postgres():
    if not (PG_BIN / "initdb").exists() or not os.access(RUNUSER, os.X_OK):
        pytest.skip(f"needs PostgreSQL 15's {PG_BIN} and runuser")
    server = OwnPostgres()
    try:
        server.init()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)


# Beat as `celery beat`, with the library's forced re-read every 2 s instead of 5 minutes.
BEAT = """
import sys
import django
django.setup()
import django_celery_beat.schedulers as schedulers
schedulers.SCHEDULE_SYNC_MAX_INTERVAL = 2
from celery.__main__ import main
sys.argv = ["celery", "-A", "config", "beat", "--loglevel=INFO", "--max-interval=1"]
main()
"""

SETUP = """
from django.core.management import call_command
call_command("migrate", "django_celery_beat", verbosity=0)
from django_celery_beat.models import IntervalSchedule, PeriodicTask
every, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
PeriodicTask.objects.create(
    name="drill-every-second", task="config.heartbeat.worker_heartbeat_task", interval=every
)
"""


def test_beat_survives_its_database_stopping_and_starting(own_postgres, redis_server, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": own_postgres.url,
        "REDIS_URL": redis_server.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run(  # noqa: S603
        [python, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=60
    )
    log = tmp_path / "beat.log"
    beat = subprocess.Popen(  # noqa: S603
        [python, "-c", BEAT],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    queue = redis_client.Redis.from_url(redis_server.url)

    def sent() -> int:
        return queue.llen("celery")  # no worker: what beat sent waits here

    def beat_log() -> str:
        return log.read_text(errors="replace")

    try:
        # given beat sending every second
        wait_until(lambda: sent() >= 2, timeout=30, what="beat to send")

        # when PostgreSQL stops across several re-reads (beat tries every 5 s)
        own_postgres.stop()
        before = sent()
        wait_until(
            lambda: "could not read the schedule" in beat_log() or beat.poll() is not None,
            timeout=20,
            what="beat to meet the stopped database at a re-read",
        )
        assert beat.poll() is None, f"beat exited:\n{beat_log()[-3000:]}"
        # then it keeps sending its last known schedule, once a second, past another re-read
        down = sent()
        wait_until(lambda: sent() >= down + 6, timeout=15, what="beat to send while PG is down")
        assert beat.poll() is None, f"beat exited:\n{beat_log()[-3000:]}"

        # when PostgreSQL is back, beat re-reads the schedule and goes on sending
        own_postgres.start()
        wait_until(
            lambda: "the database answers again" in beat_log(),
            timeout=20,
            what="beat to re-read the schedule",
        )
        after = sent()
        wait_until(lambda: sent() >= after + 2, timeout=10, what="beat to send after PG is back")
        assert beat.poll() is None, f"beat exited:\n{beat_log()[-3000:]}"
        print(
            f"\nbeat: sent {before} before PostgreSQL stopped, {after - before} while it was "
            f"down or starting, {sent() - after} since; alive throughout"
        )
    except AssertionError:
        print(f"\nbeat's log:\n{beat_log()[-4000:]}")
        raise
    finally:
        if beat.poll() is None:
            os.killpg(beat.pid, 9)
            beat.wait(timeout=10)
