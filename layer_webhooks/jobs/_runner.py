"""``BackgroundRunner``: a :class:`~layer_webhooks.MemoryQueue` whose jobs a daemon thread runs.

What ``WebhooksServices()`` uses when no queue is given, so that handlers run with nothing
else to call. The thread sleeps on an event that each enqueue sets, runs what is due
(``run_due``), then sleeps until the next job is due (``next_due``), at most ``max_wait``
seconds. It starts with the first job (again in a forked child: threads do not survive a
fork), stops at exit or on :meth:`BackgroundRunner.stop`, and holds its queue weakly, so that a
queue nobody uses any more ends its thread. Jobs stay in this process's memory: durable jobs
are ``HueyQueue``'s.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._memory_queue import MemoryQueue

__all__ = ["MAX_WAIT", "BackgroundRunner"]

log = logging.getLogger("layer_webhooks.queue")

#: Seconds a runner sleeps at most between two looks at its queue (a job handed back, a clock jump).
MAX_WAIT = 1.0
# The shortest sleep when a job is due yet none ran: the loop never spins.
_MIN_WAIT = 0.01
_MEMORY_WARNING = (
    "jobs are kept in this process's memory (MemoryQueue) and run by a thread of it: jobs not run yet are "
    "lost when the process exits; for durable jobs run by workers, use WebhooksServices(queue=HueyQueue(...)) "
    "from layer_webhooks.adapters.huey (docs/huey.md)"
)

_RUNNERS: weakref.WeakSet[BackgroundRunner] = weakref.WeakSet()


class BackgroundRunner:
    """Runs the jobs of ``queue`` as they fall due, on one daemon thread of this process.

    ``now`` is the queue's clock (when the next job is due); the thread waits in real time.
    Handlers run one at a time, in due order. :meth:`announce` logs, once, at WARNING, that
    the jobs live in memory; the thread starts on the first enqueue (or :meth:`wake`)::

        queue = MemoryQueue()
        runner = BackgroundRunner(queue)
        queue.process("Webhook Example", print)
        queue.enqueue("Webhook Example", {})   # runs on the runner's thread
        runner.stop()
    """

    def __init__(self, queue: MemoryQueue, *, now: Callable[[], float] = time.time, max_wait: float = MAX_WAIT) -> None:
        self._queue = weakref.ref(queue)
        self._now = now
        self.max_wait = float(max_wait)
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._stopped = False
        self._announced = False
        queue.on_enqueue = self.wake
        _RUNNERS.add(self)

    @property
    def running(self) -> bool:
        """Whether the thread runs (in this process)."""
        thread = self._thread
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    def announce(self) -> None:
        """Log, once, at WARNING, that jobs are kept in memory and how to keep them durably."""
        if not self._announced:
            self._announced = True
            log.warning(_MEMORY_WARNING)

    def wake(self) -> None:
        """Start the thread if it does not run (in this process), and have it look at the queue now."""
        if self._stopped:
            return
        self.announce()
        with self._lock:
            if not self.running:
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, name="layer-webhooks-jobs", daemon=True)
                self._thread.start()
        self._event.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, waiting up to ``timeout`` s for a running handler; jobs not run stay queued."""
        self._stopped = True
        self._event.set()
        thread = self._thread
        if self.running and thread is not threading.current_thread() and thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopped:
            # Cleared before looking: an enqueue meanwhile sets it again, so no wake-up is lost.
            self._event.clear()
            queue = self._queue()
            if queue is None:
                return
            try:
                queue.run_due()
                due = queue.next_due()
            except Exception:
                log.exception("the background runner could not run its queue's jobs; it tries again")
                due = None
            del queue  # held weakly while asleep
            wait = self.max_wait if due is None else min(self.max_wait, max(_MIN_WAIT, due - self._now()))
            self._event.wait(wait)

    def _forked(self) -> None:
        # In a forked child: the parent's thread and lock state did not follow; start afresh on demand.
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._thread = None


@atexit.register
def _stop_all() -> None:
    for runner in list(_RUNNERS):
        runner.stop()


def _after_fork_in_child() -> None:
    for runner in list(_RUNNERS):
        runner._forked()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)
