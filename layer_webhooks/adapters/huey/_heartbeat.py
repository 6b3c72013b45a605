"""A consumer process's name and its heartbeat: a daemon thread that calls ``beat`` every ``interval``.

Liveness is per process (dramatiq's model): every job a process runs is claimed under
:func:`worker_name`, and the heartbeat keeps that name alive. ``HueyQueue`` starts the thread
from huey's startup hook, which huey calls in every worker: the first call starts it, the
others find it running. A forked process (``-k process``) gets a new name and its own thread.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable

log = logging.getLogger("layer_webhooks.huey")

_names: dict[int, str] = {}


def worker_name() -> str:
    """This process's worker name, ``host/pid/random`` (the random part: pids are reused)."""
    pid = os.getpid()
    name = _names.get(pid)
    if name is None:  # setdefault: two threads asking at once get the same name
        name = _names.setdefault(pid, f"{socket.gethostname()}/{pid}/{secrets.token_hex(4)}")
    return name


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
                log.exception("heartbeat failed (this worker may be presumed gone, lost jobs not requeued); retrying")
            if stop.wait(self.interval):
                return
