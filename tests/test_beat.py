"""Beat rides through a database outage (config/beat.py).

django-celery-beat's own DatabaseScheduler raised out of `tick()` when PostgreSQL was
unreachable at its periodic schedule re-read, and beat exited.
"""

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from config.beat import ResilientDatabaseScheduler
from config.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _down(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


@pytest.fixture
def database_down(monkeypatch):
    """Every query the scheduler makes fails, as with PostgreSQL stopped."""

    class Outage:
        reads = 0

        def start(self) -> None:
            def read(scheduler):
                self.reads += 1
                _down()

            monkeypatch.setattr(DatabaseScheduler, "enabled_models", read)
            monkeypatch.setattr(PeriodicTasks, "last_change", classmethod(_down))
            monkeypatch.setattr(ModelEntry, "save", _down)

        def end(self) -> None:
            monkeypatch.undo()

    return Outage()


def _scheduler(cls):
    scheduler = cls(app=app)
    scheduler._finalize.cancel()  # no sync at interpreter exit, after the test database
    sent: list[str] = []
    scheduler.apply_async = lambda entry, producer=None, advance=True, **kw: sent.append(entry.name)
    return scheduler, sent


def _all_due(scheduler) -> None:
    long_ago = timezone.now() - datetime.timedelta(days=1)
    for entry in scheduler.schedule.values():
        entry.last_run_at = entry.model.last_run_at = long_ago
    scheduler._heap = None


def _force_reread(scheduler) -> None:
    """What happens every 5 minutes (SCHEDULE_SYNC_MAX_INTERVAL) in a running beat."""
    scheduler._last_full_sync = datetime.datetime.now() - datetime.timedelta(minutes=10)


def test_beat_uses_the_resilient_scheduler():
    assert app.conf.beat_scheduler == "config.beat:ResilientDatabaseScheduler"


def test_the_library_scheduler_exits_on_a_database_error_at_a_reread(database_down):
    scheduler, _ = _scheduler(DatabaseScheduler)
    database_down.start()
    _force_reread(scheduler)

    with pytest.raises(OperationalError):
        scheduler.tick()


def test_beat_keeps_ticking_with_its_last_schedule_and_resumes_syncing(database_down):
    scheduler, sent = _scheduler(ResilientDatabaseScheduler)
    known = set(scheduler.schedule)
    assert "worker-heartbeat" in known

    # when the database goes away at a re-read, and run times cannot be saved
    database_down.start()
    _force_reread(scheduler)
    _all_due(scheduler)
    for _ in range(3):
        scheduler.tick()
    scheduler.sync()

    # then the last known schedule keeps sending its due tasks, and the database is
    # asked again only every few seconds
    assert set(scheduler.schedule) == known
    assert sent.count("worker-heartbeat") == 1  # sent when due, not at every tick
    assert scheduler._reread_pending
    assert database_down.reads == 1

    # when the database is back, with a task added meanwhile in the admin
    database_down.end()
    every_minute, _ = IntervalSchedule.objects.get_or_create(
        every=60, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name="added-during-the-outage",
        task="config.heartbeat.worker_heartbeat_task",
        interval=every_minute,
    )
    scheduler._next_reread = 0.0  # REREAD_SECONDS later
    scheduler.tick()

    # then the next tick re-reads the schedule and saves the run times
    assert not scheduler._reread_pending
    assert "added-during-the-outage" in scheduler.schedule
    assert not scheduler._dirty
    heartbeat = PeriodicTask.objects.get(name="worker-heartbeat")
    assert heartbeat.total_run_count >= 1
