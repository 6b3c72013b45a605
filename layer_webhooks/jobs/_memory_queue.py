"""``MemoryQueue``: the job lifecycle on a :class:`~._memory_ledger.MemoryLedger`, run on demand."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._lifecycle import LedgerQueue
from ._memory_ledger import MemoryLedger

# The one worker of a memory queue: its runs happen inside run_due, in this process.
_WORKER = "memory"


class MemoryQueue(LedgerQueue):
    """A :class:`~layer_webhooks.Queue` in this process's memory, for development and tests.

    A job is due at ``now() + delay`` on the queue's clock; nothing runs until :meth:`run_due`
    is called, which makes tests deterministic::

        queue = MemoryQueue()
        queue.process("Webhook Example", lambda job: print(job.data["type"]))
        ...
        queue.run_due()

    Jobs are stored as JSON records, as every queue stores them (a handler gets a copy of the
    data, never the enqueued object), and are lost with the process. ``WebhooksServices()``
    runs its own memory queue in the background (:class:`~layer_webhooks.jobs.BackgroundRunner`);
    one made here runs only when :meth:`run_due` is called.
    """

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._at: float | None = None
        self._memory = MemoryLedger(now=self._clock)
        #: Called with no argument once a job is stored (how a background runner is woken).
        self.on_enqueue: Callable[[], None] | None = None
        super().__init__(self._memory)

    def __repr__(self) -> str:
        return f"MemoryQueue(pending={len(self._memory.pending())})"

    def _clock(self) -> float:
        return self._now() if self._at is None else self._at

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        """See :meth:`LedgerQueue.enqueue`; then calls :attr:`on_enqueue`, if set."""
        super().enqueue(name, data, delay=delay, job_id=job_id)
        if self.on_enqueue is not None:
            self.on_enqueue()

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        """As :meth:`enqueue`; it never waits on I/O, so it is safe on an event loop."""
        self.enqueue(name, data, delay=delay, job_id=job_id)

    def replay(self, job_id: str) -> bool:
        """See :meth:`LedgerQueue.replay`; a replayed job calls :attr:`on_enqueue` too."""
        done = super().replay(job_id)
        if done and self.on_enqueue is not None:
            self.on_enqueue()
        return done

    def next_due(self) -> float | None:
        """When the earliest waiting job is due, on the queue's clock (None: nothing waits)."""
        return self._memory.next_ready()

    def run_due(self, at: float | None = None, *, limit: int = 10_000) -> int:
        """Run, in due order, every job due at or before ``at`` (default: now); return how many ran.

        Jobs that handlers enqueue meanwhile run too when they fall due by ``at`` ("now" for
        them and for retries is ``at``). At most ``limit`` runs happen, so that a handler that
        always enqueues cannot loop forever.
        """
        at = self._now() if at is None else at
        ran = 0
        self._at = at
        try:
            while ran < limit:
                due = self._memory.take(at)
                if due is None:
                    break
                if self.run(*due, _WORKER):
                    ran += 1
        finally:
            self._at = None
        return ran
