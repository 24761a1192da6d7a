"""The availability generation: one number in the cache that moves whenever something
availability shows may have changed (places, sessions, slots, the catalogue, closures,
booking policies, notices).

Cached reads (booking/apis/cache.py, the home page's fragments, the cached policies) keep
the generation they were computed at and are stale once it moved. The bump is wired into
the models, not the services: the QuerySets of every model that availability reads
(`AvailabilityQuerySet`) bump on `update`, `delete`, `bulk_create` and `bulk_update`,
and `post_save`/`post_delete` signals (clinics.apps, booking.apps) bump on instance saves
(the admin). So no service has to remember it.

It lives in clinics, the lowest app owning the data: booking imports it, never the reverse.
A cache outage never breaks a write: a failing bump is logged and swallowed, and cached
entries then expire by their short TTL (at most 60 s).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import models, transaction

logger = logging.getLogger(__name__)

GENERATION_KEY = "yuyue:availability:generation"
# Cached reads live at most this long: with the cache down the generation cannot move.
CACHED_TTL = 60
# An entry computed less than this long ago is served even if the generation moved.
COALESCE_SECONDS = 1.0


def fresh_generation() -> int:
    # Milliseconds since the epoch: a generation lost with Redis (eviction, flush) restarts
    # above every value entries still alive can hold, never back at a used number.
    return time.time_ns() // 1_000_000


def availability_generation() -> int:
    """The current generation (created if missing). One cache round trip."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        start = fresh_generation()
        # add: of two processes creating it at once, both read the one that won.
        cache.add(GENERATION_KEY, start, timeout=None)
        value = cache.get(GENERATION_KEY)
        if value is None:  # the cache is down: nothing cached can be trusted anyway
            return start
    return int(value)


def _bump() -> None:
    """Move the generation on; a cache error is logged, never raised (booking goes on)."""
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # missing: start afresh, above any number used before
            cache.add(GENERATION_KEY, fresh_generation(), timeout=None)
    except Exception:
        logger.warning("availability generation could not be bumped", exc_info=True)


def availability_changed(*, using: str | None = None) -> None:
    """Bump the generation once the current transaction commits (at once in autocommit).

    At most one bump per committed transaction: a second call while the first bump is
    still waiting for the commit adds nothing. A savepoint rolled back drops its bump
    with it (Django discards its on_commit callbacks), so the check looks at the
    callbacks still registered rather than at a flag. A rolled-back transaction bumps
    nothing.
    """
    connection = transaction.get_connection(using)
    if connection.in_atomic_block and any(
        func is _bump for _sids, func, *_rest in connection.run_on_commit
    ):
        return
    transaction.on_commit(_bump, using=using)


class AvailabilityQuerySet(models.QuerySet):
    """A QuerySet whose bulk writes bump the availability generation (after commit).

    Instance saves and deletes are caught by the signals connected in the apps' `ready()`
    (`connect_availability_signals`); `delete()` here covers the query-level deletes (and
    the cascade collector's fast deletes do not send signals, which this catches too).
    """

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        if rows:
            availability_changed(using=self.db)
        return rows

    update.alters_data = True

    def delete(self):
        # The collector's own transaction also sends post_delete (one bump with ours).
        with transaction.atomic(using=self.db, savepoint=False):
            result = super().delete()
            if result[0]:
                availability_changed(using=self.db)
        return result

    delete.alters_data = True
    delete.queryset_only = True

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            availability_changed(using=self.db)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        # Django's bulk_update runs `update()` per batch in its own transaction: one
        # transaction around both keeps it to one bump.
        with transaction.atomic(using=self.db, savepoint=False):
            rows = super().bulk_update(objs, fields, *args, **kwargs)
            if rows:
                availability_changed(using=self.db)
        return rows

    bulk_update.alters_data = True


AvailabilityManager = models.Manager.from_queryset(AvailabilityQuerySet)


def _instance_changed(sender, instance, using=None, **kwargs) -> None:
    availability_changed(using=using)


def connect_availability_signals(*model_classes: type[models.Model]) -> None:
    """Bump on every instance save and delete of these models (admin edits, create())."""
    from django.db.models.signals import post_delete, post_save

    for model in model_classes:
        label = model._meta.label_lower
        post_save.connect(
            _instance_changed, sender=model, dispatch_uid=f"availability_saved:{label}"
        )
        post_delete.connect(
            _instance_changed, sender=model, dispatch_uid=f"availability_deleted:{label}"
        )


# key -> time.time() when this process last started computing it (coalescing).
_computing: dict[str, float] = {}
_computing_lock = threading.Lock()
_COMPUTING_MAX = 10_000


def _claim(key: str, now: float) -> bool:
    """True when this thread should recompute `key`: nobody in this process started
    computing it less than a coalescing second ago (the others serve the stale entry)."""
    with _computing_lock:
        started = _computing.get(key)
        if started is not None and now - started < COALESCE_SECONDS:
            return False
        if len(_computing) >= _COMPUTING_MAX:
            _computing.clear()
        _computing[key] = now
        return True


# key -> (since when it is known current, value): this process's copy of entries it
# read or computed. Served without asking Redis for the coalescing second, so a hot key
# costs no cache round trip at all most of the time — the same staleness bound as the
# shared entries' coalescing.
_recent: dict[str, tuple[float, Any]] = {}


def forget_local() -> None:
    """Drop this process's copies (the tests' fresh start)."""
    _recent.clear()
    _computing.clear()


def _remember(key: str, since: float, value: Any) -> None:
    if len(_recent) >= _COMPUTING_MAX:
        _recent.clear()
    _recent[key] = (since, value)


def generation_cached(key: str, build: Callable[[], Any], *, ttl: int = CACHED_TTL) -> Any:
    """The value cached under `key`, or `build()` (which may raise: nothing is cached).

    The entry keeps the generation it was computed at. It is served while the generation
    is unchanged, and also — coalescing — when it was computed less than
    `COALESCE_SECONDS` ago: at the release minute bookings move the generation every few
    milliseconds, and recomputing on each would be no cache at all. So a read may show a
    place that went less than a second ago; a booking is always judged on the database.
    Within one process a key is recomputed at most once a second: while one thread
    recomputes a stale entry, the others serve the stale one. A hit is one cache round
    trip (`get_many` of the generation and the entry), or none when this process read
    or computed the entry, current, less than a second ago. A cache error is logged and the
    value computed, never raised. `key` should hold whatever else the value depends on
    (language, the minute...).
    """
    now = time.time()
    local = _recent.get(key)
    if local is not None and now - local[0] < COALESCE_SECONDS:
        return local[1]  # this process saw it computed less than a second ago
    try:
        found = cache.get_many([GENERATION_KEY, key])
    except Exception:
        logger.warning("cache unavailable: computing %s", key, exc_info=True)
        return build()
    generation = found.get(GENERATION_KEY)
    entry = found.get(key)
    if entry is not None:
        entry_generation, computed_at, value = entry
        if entry_generation == generation or now - computed_at < COALESCE_SECONDS:
            _remember(key, now if entry_generation == generation else computed_at, value)
            return value
        if not _claim(key, now):
            return value
    if generation is None:
        generation = fresh_generation()
        try:
            # Of two processes creating it, one wins; the other's entry is stale at once.
            cache.add(GENERATION_KEY, generation, timeout=None)
        except Exception:
            logger.warning("availability generation could not be created", exc_info=True)
    value = build()
    _remember(key, now, value)
    try:
        cache.set(key, (generation, now, value), ttl)
    except Exception:
        logger.warning("%s could not be cached", key, exc_info=True)
    return value
