"""Beat against a PostgreSQL cluster of the test's own, stopped and started again: beat
stays up and keeps sending (config/beat.py).

The cluster is initdb'd into a temporary directory and run as the `postgres` user on a
port of its own, so stopping it disturbs no other test. Beat runs with the library's
5-minute forced schedule re-read shortened to 2 s, so the outage spans several re-reads.
"""

import os
import subprocess

import pytest
import redis as redis_client

from tests.faults.conftest import (
    ROOT,
    PostgresCluster,
    free_port,
    postgres_cluster_missing,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def own_postgres():
    missing = postgres_cluster_missing()
    if missing:
        pytest.skip(missing)
    server = PostgresCluster(database="beatdrill", port=free_port(), prefix="yuyue-beat-pg-")
    try:
        server.init()
        yield server
    finally:
        server.remove()


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
