"""Publishing outbox rows off the request path, in batches.

A booking writes its confirmation row in its own transaction; after commit the row's
id is handed to this process's relay, which returns at once. A daemon thread gathers
the ids handed to it for `YUYUE_OUTBOX_RELAY_SECONDS` and publishes them as one task
(`outbox_send_batch_task`), so at the release minute a web process makes one broker
round trip per batch instead of one per booking, and a slow or hung broker delays
confirmations, never a patient's request.

Nothing is lost with the process: an id the relay never published belongs to a row
still pending in the database, which `outbox_sweep` publishes again.
"""

import logging
import os
import threading
from collections import deque
from collections.abc import Callable

logger = logging.getLogger(__name__)

# At most this many ids in one task: a batch stays small enough for one worker to fan
# out quickly, and a lost batch costs little.
BATCH_MAX = 200


class Relay:
    """One per process. `publish` gets a list of ids and returns False when the broker
    could not take them (they are then left to the sweep)."""

    def __init__(self, *, publish: Callable[[list[int]], bool], interval: float) -> None:
        self._publish = publish
        self._interval = interval
        self._ids: deque[int] = deque()
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._pid: int | None = None

    def add(self, message_id: int) -> None:
        self._ids.append(message_id)
        self._ensure_running()
        self._wake.set()

    def flush(self) -> int:
        """Publish what has gathered now; returns how many ids were handed over."""
        handed = 0
        while self._ids:
            batch = []
            while self._ids and len(batch) < BATCH_MAX:
                batch.append(self._ids.popleft())
            handed += len(batch)
            try:
                published = self._publish(batch)
            except Exception:  # the thread must outlive any broker error
                logger.exception("outbox relay: publishing %d messages failed", len(batch))
                published = False
            if not published:
                logger.warning("outbox relay: %d messages left to the sweep", len(batch))
        return handed

    def _ensure_running(self) -> None:
        # A forked child (a gunicorn worker) inherits no thread: start its own.
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._wake = threading.Event()
            threading.Thread(target=self._run, name="outbox-relay", daemon=True).start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            # Gather: what arrives in the next moment goes in the same task.
            threading.Event().wait(self._interval)
            self.flush()
