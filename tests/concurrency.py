"""Real threads against the real database, released at the same instant."""

import threading
from collections.abc import Callable

from django.db import connection


def run_together(calls: list[Callable[[], object]], *, timeout: float = 60) -> list[object]:
    """Start every call at once; return each one's result or the exception it raised.

    Each thread uses its own database connection (closed at the end), so the calls
    meet in PostgreSQL as separate requests would: row locks, unique constraints.
    """
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = call()
        except Exception as exc:  # collected and asserted on by the caller
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a call hung"
    return results
