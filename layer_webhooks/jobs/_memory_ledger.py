"""``MemoryLedger``: the :class:`~._ledger.JobLedger` in this process's memory."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._ledger import Dead, NewJob, Pending

# Heap order among jobs ready at the same time: handed back or reaped before fresh ones.
_REQUEUED, _FRESH = 0, 1


@dataclass(slots=True)
class _Entry:
    record: str
    attempt: int
    ready_at: float
    worker: str | None = None


class MemoryLedger:
    """A :class:`~._ledger.JobLedger` in a dict, thread-safe, lost with the process.

    Beside the port it answers :meth:`take`, which is how :class:`~layer_webhooks.MemoryQueue`
    finds the next job to run (its "announcements" cannot be lost, so :meth:`reap` only ever
    reports expired workers). ``now`` is its clock; ``lease`` how long a silent worker keeps
    its jobs.
    """

    def __init__(self, *, now: Callable[[], float] = time.time, lease: float = 30.0) -> None:
        self._now = now
        self.lease = float(lease)
        self._jobs: dict[str, _Entry] = {}
        self._dead: dict[str, Dead] = {}
        self._workers: dict[str, float] = {}
        self._ready: list[tuple[float, int, int, str, int]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def _announce(self, job_id: str, entry: _Entry, order: int) -> None:
        heapq.heappush(self._ready, (entry.ready_at, order, next(self._seq), job_id, entry.attempt))

    def _alive(self, worker: str, now: float) -> bool:
        return self._workers.get(worker, float("-inf")) + self.lease > now

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """See :meth:`JobLedger.add`."""
        now = self._now()
        added = []
        with self._lock:
            for job in jobs:
                if job.id in self._jobs:
                    added.append(False)
                    continue
                entry = self._jobs[job.id] = _Entry(job.record, 1, now + max(0.0, job.delay))
                self._announce(job.id, entry, _FRESH)
                added.append(True)
        return added

    def claim(self, job_id: str, attempt: int, worker: str) -> str | None:
        """See :meth:`JobLedger.claim`."""
        return self.finish_and_claim((), job_id, attempt, worker)[0]

    def finish_and_claim(
        self, finished: Sequence[str], job_id: str, attempt: int, worker: str
    ) -> tuple[str | None, bool]:
        """See :meth:`JobLedger.finish_and_claim` (no hint: its announcements are taken by time)."""
        now = self._now()
        with self._lock:
            for done in finished:
                self._jobs.pop(done, None)
            self._workers[worker] = now
            entry = self._jobs.get(job_id)
            if entry is None or entry.attempt != attempt:
                return None, False
            if entry.worker is not None and self._alive(entry.worker, now):
                return None, False
            entry.worker = worker
            return entry.record, False

    def finish(self, job_id: str) -> None:
        """See :meth:`JobLedger.finish`."""
        with self._lock:
            self._jobs.pop(job_id, None)

    def _held(self, job_id: str, worker: str) -> _Entry | None:
        entry = self._jobs.get(job_id)
        return entry if entry is not None and entry.worker == worker else None

    def retry(self, job_id: str, worker: str, attempt: int, delay: float) -> bool:
        """See :meth:`JobLedger.retry`."""
        now = self._now()
        with self._lock:
            entry = self._held(job_id, worker)
            if entry is None:
                return False
            entry.attempt, entry.worker, entry.ready_at = attempt, None, now + max(0.0, delay)
            self._announce(job_id, entry, _FRESH)
            return True

    def bury(self, job_id: str, worker: str, attempt: int, error: str) -> bool:
        """See :meth:`JobLedger.bury`."""
        now = self._now()
        with self._lock:
            entry = self._held(job_id, worker)
            if entry is None:
                return False
            del self._jobs[job_id]
            self._dead.pop(job_id, None)
            self._dead[job_id] = Dead(job_id, entry.record, attempt, error, now)
            return True

    def _requeue(self, job_id: str, entry: _Entry, now: float) -> None:
        entry.worker, entry.ready_at = None, now
        self._announce(job_id, entry, _REQUEUED)

    def release(self, job_id: str, worker: str) -> bool:
        """See :meth:`JobLedger.release`."""
        now = self._now()
        with self._lock:
            entry = self._held(job_id, worker)
            if entry is None:
                return False
            self._requeue(job_id, entry, now)
            return True

    def beat(self, worker: str) -> None:
        """See :meth:`JobLedger.beat`."""
        now = self._now()
        with self._lock:
            self._workers[worker] = now

    def reap(self, limit: int) -> list[tuple[str, bool]]:
        """See :meth:`JobLedger.reap`."""
        now = self._now()
        reaped: list[tuple[str, bool]] = []
        with self._lock:
            for job_id, entry in self._jobs.items():
                if len(reaped) >= limit:
                    break
                if entry.worker is not None and not self._alive(entry.worker, now):
                    self._requeue(job_id, entry, now)
                    reaped.append((job_id, True))
            for worker in [w for w in self._workers if not self._alive(w, now)]:
                del self._workers[worker]
        return reaped

    def pending(self) -> list[Pending]:
        """See :meth:`JobLedger.pending`."""
        with self._lock:
            items = sorted(self._jobs.items(), key=lambda item: item[1].ready_at)
        return [Pending(job_id, entry.record, entry.attempt) for job_id, entry in items]

    def dead(self) -> list[Dead]:
        """See :meth:`JobLedger.dead`."""
        with self._lock:
            return sorted(self._dead.values(), key=lambda dead: dead.failed_at)

    def replay(self, job_id: str) -> int:
        """See :meth:`JobLedger.replay`."""
        now = self._now()
        with self._lock:
            dead = self._dead.get(job_id)
            if dead is None:
                return 0
            if job_id in self._jobs:
                return -1
            del self._dead[job_id]
            entry = self._jobs[job_id] = _Entry(dead.record, 1, now)
            self._announce(job_id, entry, _FRESH)
            return 1

    def discard(self, job_id: str) -> bool:
        """See :meth:`JobLedger.discard`."""
        with self._lock:
            return self._dead.pop(job_id, None) is not None

    # -- beside the port: what MemoryQueue runs next -----------------------------------------

    def take(self, at: float) -> tuple[str, int] | None:
        """The next job ready at or before ``at`` and not running, as ``(id, attempt)``; it is
        not claimed (the caller claims it). None when no job is ready."""
        with self._lock:
            while self._ready and self._ready[0][0] <= at:
                _, _, _, job_id, attempt = heapq.heappop(self._ready)
                entry = self._jobs.get(job_id)
                if entry is not None and entry.attempt == attempt and entry.worker is None:
                    return job_id, attempt
            return None

    def next_ready(self) -> float | None:
        """When the soonest waiting job is ready (None: none waits)."""
        with self._lock:
            waiting = [entry.ready_at for entry in self._jobs.values() if entry.worker is None]
        return min(waiting) if waiting else None
