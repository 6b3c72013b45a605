"""The heartbeat of a consumer process: a daemon thread that calls ``beat`` every ``interval``.

``HueyQueue`` starts it from huey's startup hook, which huey calls in every worker: the first
call starts the thread, the others find it running. A forked process starts its own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("layer_webhooks.huey")


class Heartbeat:
    """Calls ``beat`` now and every ``interval`` seconds on a daemon thread, until stopped."""

    def __init__(self, beat: Callable[[], None], interval: float) -> None:
        self._beat = beat
        self.interval = interval
        self._lock = threading.Lock()
        self._pid = 0
        self._stop = threading.Event()

    def start(self) -> None:
        """Start this process's thread unless it runs already."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._stop = threading.Event()
            thread = threading.Thread(target=self._run, args=(self._stop,), name="layer-webhooks-heartbeat")
            thread.daemon = True
            thread.start()
            self._pid = os.getpid()

    def stop(self) -> None:
        """Stop this process's thread."""
        with self._lock:
            self._stop.set()
            self._pid = 0

    def _run(self, stop: threading.Event) -> None:
        while True:
            try:
                self._beat()
            except Exception:
                log.exception("heartbeat failed (leases not renewed, overdue jobs not requeued); retrying")
            if stop.wait(self.interval):
                return
