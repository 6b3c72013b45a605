"""Group commit for ``HueyQueue.enqueue``, across the threads of one process (gunicorn ``gthread``).

A caller that finds nobody writing writes at once, its job alone: a lone thread pays no wait,
no timer, no hand-off. A caller that finds a write in flight queues its job and blocks. When a
write ends, its writer wakes the first queued caller to write everything queued meanwhile (one
script call and round trip on Redis, one transaction on SQLite), then returns; each caller
returns once the batch holding its own job is written, or raises :class:`QueueError` when that
write failed, so that a failed batch fails every caller in it.

The hand-off keeps any one caller's wait to its own batch and the one before it: no thread
writes for others indefinitely. A write that the writer's own thread starts from inside a
write (a job run inline by ``huey.immediate`` that queues another) goes straight to the ledger.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ...jobs._ledger import NewJob
from ...jobs._lifecycle import not_queued

Add = Callable[[Sequence[NewJob]], list[bool]]


class _Entry:
    """One caller's job, its answer, and the lock it blocks on until a writer releases it."""

    __slots__ = ("added", "error", "job", "lead", "wake")

    def __init__(self, job: NewJob) -> None:
        self.job = job
        self.added: bool | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.wake: threading.Lock | None = None


class ThreadCommitter:
    """Batches concurrent :meth:`submit` calls from threads into writes of ``add`` (``JobLedger.add``)."""

    def __init__(self, add: Add, *, max_batch: int = 256) -> None:
        self._add = add
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queued: list[_Entry] = []
        self._writing = False
        self._writer = 0  # the writing thread's ident
        #: Batches written so far (a statistic for tests and benchmarks).
        self.batches = 0

    @property
    def queued(self) -> int:
        """Callers waiting for a write in flight to end (a statistic for tests)."""
        return len(self._queued)

    def submit(self, job: NewJob) -> bool:
        """Write ``job`` with whatever else is queued; True when added (False: pending already).

        :raises QueueError: the batch holding ``job`` could not be written.
        """
        entry, me = _Entry(job), threading.get_ident()
        with self._lock:
            if not self._writing:  # nobody writes: write this job now, alone
                self._writing, self._writer = True, me
                batch = [entry]
            elif self._writer == me:
                batch = None  # a write from inside this thread's own write
            else:
                entry.wake = threading.Lock()
                entry.wake.acquire()
                self._queued.append(entry)
        if entry.wake is not None:
            try:
                entry.wake.acquire()  # released by a writer: written, failed, or this caller's turn
            except BaseException:  # interrupted (a signal, on the main thread): leave the line
                self._leave(entry)
                raise
            if entry.lead:
                self._write(self._take())
        elif batch is None:
            return self._write_alone(job)
        else:
            self._write(batch)
        if entry.error is not None:
            raise not_queued(job.id, entry.error) from entry.error
        return bool(entry.added)

    def _write_alone(self, job: NewJob) -> bool:
        try:
            return self._add([job])[0]
        except Exception as exc:
            raise not_queued(job.id, exc) from exc

    def _leave(self, entry: _Entry) -> None:
        with self._lock:
            lead = entry.lead
            if not lead and entry in self._queued:
                self._queued.remove(entry)
        if lead:  # woken to write, just as the interruption came: write for the others first
            self._write(self._take())

    def _take(self) -> list[_Entry]:
        with self._lock:
            self._writer = threading.get_ident()
            batch = self._queued[: self._max_batch]
            del self._queued[: self._max_batch]
        return batch

    def _write(self, batch: list[_Entry]) -> None:
        try:
            self.batches += 1
            added = self._add([entry.job for entry in batch])
            if len(added) != len(batch):
                raise RuntimeError(f"{len(added)} answers for {len(batch)} jobs")
            for entry, was_added in zip(batch, added, strict=True):
                entry.added = was_added
        except BaseException as exc:  # these jobs may or may not be stored: each caller fails
            for entry in batch:
                entry.error = exc
            if not isinstance(exc, Exception):
                raise  # an interruption propagates in the writer's thread
        finally:
            self._hand_over(batch)

    def _hand_over(self, batch: list[_Entry]) -> None:
        with self._lock:
            following = self._queued[0] if self._queued else None
            self._writer = 0
            if following is None:
                self._writing = False
            else:
                following.lead = True
        if following is not None and following.wake is not None:
            following.wake.release()
        for entry in batch:
            if entry.wake is not None and not entry.lead:
                entry.wake.release()
