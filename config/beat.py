"""Beat's scheduler: django-celery-beat's, made to ride through a database outage.

`DatabaseScheduler` re-reads its schedule every 5 minutes (and when the admin changes
it) without catching a database error, so beat exited the first time PostgreSQL was
unreachable at a re-read (a restart, a failover). Here a database error at any point
of a tick is logged, the broken connection is closed (the next query reconnects), the
last known schedule is kept and keeps running, and the re-read is tried again every
REREAD_SECONDS until the database answers. Configured as CELERY_BEAT_SCHEDULER.
"""

import contextlib
import logging
import time

from django.core.exceptions import ObjectDoesNotExist
from django.db import close_old_connections, connection
from django.db.utils import DatabaseError, InterfaceError
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (DatabaseError, InterfaceError)
REREAD_SECONDS = 5.0


def _close_broken_connection() -> None:
    """Drop the connection a failed query left behind: Django would otherwise hand the
    dead one out again ("connection already closed") instead of reconnecting."""
    with contextlib.suppress(Exception):
        connection.close()


class ResilientDatabaseScheduler(DatabaseScheduler):
    # After a failed read the schedule is read again, at most every REREAD_SECONDS (a
    # tick reads `schedule` several times; a hung database must not be asked each time).
    _reread_pending = False
    _next_reread = 0.0
    _failed_reads = 0

    def all_as_schedule(self) -> dict:
        try:
            schedule = super().all_as_schedule()
        except DATABASE_ERRORS as exc:
            _close_broken_connection()
            self._reread_pending = True
            self._next_reread = time.monotonic() + REREAD_SECONDS
            self._failed_reads += 1
            if self._failed_reads % 60 == 1:  # the first, then about every 5 minutes
                logger.warning(
                    "beat: could not read the schedule (%s: %s); keeping the last known one "
                    "(%d entries), trying again every %.0fs",
                    type(exc).__name__,
                    exc,
                    len(self._schedule or {}),
                    REREAD_SECONDS,
                )
            return self._schedule or {}
        if self._reread_pending:
            logger.warning(
                "beat: the database answers again; schedule re-read after %d failed reads",
                self._failed_reads,
            )
        self._reread_pending = False
        self._failed_reads = 0
        return schedule

    def reserve(self, entry):
        """Also keep the sent entry (its new run time) in the schedule, as celery's own
        Scheduler does: the last known schedule is rebuilt into the heap while the
        database is away, and a stale entry there would be sent again at once."""
        new_entry = super().reserve(entry)
        if self._schedule is not None and new_entry.name in self._schedule:
            self._schedule[new_entry.name] = new_entry
        return new_entry

    def schedule_changed(self) -> bool:
        if self._reread_pending:
            return time.monotonic() >= self._next_reread
        try:
            return super().schedule_changed()
        except DATABASE_ERRORS as exc:  # the parent catches most; never let one out
            _close_broken_connection()
            logger.warning("beat: schedule check failed (%s); next tick", type(exc).__name__)
            return False

    def sync(self) -> None:
        """Save the run times of the entries sent since the last sync. Unlike the
        parent's, an entry whose save fails stays dirty and is saved at the next sync
        (the parent drops it, and after the outage beat sends it again at once)."""
        try:
            close_old_connections()
            for name in list(self._dirty):
                entry = (self._schedule or {}).get(name)
                try:
                    if entry is not None:
                        entry.save()
                except ObjectDoesNotExist:  # deleted in the admin meanwhile
                    pass
                self._dirty.discard(name)
        except DATABASE_ERRORS as exc:
            _close_broken_connection()
            logger.warning(
                "beat: could not save run times of %d entries (%s); next sync",
                len(self._dirty),
                type(exc).__name__,
            )

    def tick(self, *args, **kwargs) -> float:
        """The last guard: an entry touching the database (an expired or one-off task
        disabling itself) must not end beat either."""
        try:
            return super().tick(*args, **kwargs)
        except DATABASE_ERRORS as exc:
            _close_broken_connection()
            logger.warning("beat: database error in a tick (%s); next tick", type(exc).__name__)
            return self.max_interval
