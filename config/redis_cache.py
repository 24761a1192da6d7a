"""The cache's Redis connections: a hung Redis costs a process one short timeout, not one
per cache call.

The API's throttles and the caches make several Redis calls per request; with Redis hung
(accepting connections, answering nothing) each waited its socket timeout, so a booking
took seconds. After a timeout or connection error, every cache connection of this
process fails at once for BREAK_SECONDS; django-redis's IGNORE_EXCEPTIONS turns that into
a cache miss (and a throttle that does not count). Then one call tries Redis again.
Used as the cache's CONNECTION_POOL_CLASS (config/settings.py, CACHES); Celery's broker
connections are kombu's and are not touched.
"""

import logging
import time
from typing import Any

import redis
from redis.connection import ConnectionPool

logger = logging.getLogger(__name__)

BREAK_SECONDS = 5.0
_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)

# monotonic time until which this process does not talk to the cache's Redis
_open_until = 0.0


def _check() -> None:
    if time.monotonic() < _open_until:
        raise redis.ConnectionError("Redis did not answer a moment ago; not waiting on it")


def _trip(exc: BaseException) -> None:
    global _open_until
    if time.monotonic() >= _open_until:
        logger.warning(
            "cache: Redis failed (%s); skipping it for %.0fs", type(exc).__name__, BREAK_SECONDS
        )
    _open_until = time.monotonic() + BREAK_SECONDS


class FailFastMixin:
    """Wraps a redis-py connection class's I/O with the process-wide breaker."""

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        _check()
        try:
            return super().connect(*args, **kwargs)
        except _FAILURES as exc:
            _trip(exc)
            raise

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        _check()
        try:
            return super().send_packed_command(*args, **kwargs)
        except _FAILURES as exc:
            _trip(exc)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        _check()
        try:
            return super().read_response(*args, **kwargs)
        except _FAILURES as exc:
            _trip(exc)
            raise


_classes: dict[type, type] = {}


def _fail_fast(connection_class: type) -> type:
    if issubclass(connection_class, FailFastMixin):
        return connection_class
    if connection_class not in _classes:
        _classes[connection_class] = type(
            f"FailFast{connection_class.__name__}", (FailFastMixin, connection_class), {}
        )
    return _classes[connection_class]


class FailFastConnectionPool(ConnectionPool):
    """A ConnectionPool whose connections (TCP, TLS or a socket file) use the breaker."""

    def __init__(self, connection_class: type = redis.Connection, **kwargs: Any) -> None:
        super().__init__(connection_class=_fail_fast(connection_class), **kwargs)
