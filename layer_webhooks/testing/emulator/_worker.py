"""The emulator's background worker: verifications and delivery retries, each run once its delay
has passed, one at a time, in one thread."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("layer_webhooks.testing")

#: Why work that needs the server and the worker is refused before start() and after close().
NOT_RUNNING = "the emulator is not running: call start() or use it in a with block"

#: What the worker runs: a verification or a delivery attempt, already bound to its arguments.
ScheduledCall = Callable[[], None]


class Worker:
    """Runs scheduled calls one at a time in a background thread named ``name``, from
    :meth:`start` until :meth:`close`."""

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, ScheduledCall]] = []
        self._seq = itertools.count()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def running(self) -> bool:
        """Whether the worker was started and not closed."""
        return self._thread.ident is not None and not self._closed

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def submit(self, delay: float, scheduled: ScheduledCall) -> None:
        """Run ``scheduled`` in ``delay`` seconds (calls submitted after close are dropped)."""
        with self._cond:
            if not self._closed:
                heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), scheduled))
                self._cond.notify_all()

    def pending(self) -> int:
        """How many calls are waiting or running."""
        with self._cond:
            return len(self._heap) + self._busy

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no call waits or runs; False if some still do."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and not self._busy, timeout)

    def close(self, timeout: float) -> None:
        """Drop the waiting calls, let a running one finish (up to ``timeout`` s), stop the thread."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._closed:
                    return
                scheduled = heapq.heappop(self._heap)[2]
                self._busy = True
            try:
                scheduled()
            except Exception:
                log.exception("an emulator job failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
