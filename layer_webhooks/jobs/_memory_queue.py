"""The queue port, the job a handler receives, and the in-memory queue."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger("layer_webhooks.queue")

#: Attempts and backoff base of the Node module's Kue jobs.
DEFAULT_ATTEMPTS = 10
DEFAULT_BACKOFF = 10.0


@dataclass(frozen=True, slots=True)
class Job:
    """One run of a job: ``name`` (the hook's name), JSON-safe ``data``, a stable ``id``, and
    ``attempt`` (1 for the first run). The queue is at-least-once: a handler may see the same
    ``id`` twice and should be idempotent on it."""

    name: str
    data: Mapping[str, Any]
    id: str
    attempt: int = 1


#: A job handler. Its return value is ignored; raising makes the job retry.
Handler = Callable[[Job], object]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed its last attempt, kept so that an operator can inspect and replay it."""

    job: Job
    error: str


@runtime_checkable
class Queue(Protocol):
    """Where accepted events go: named jobs, run now or after a delay, by registered handlers."""

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        """Durably accept a job named ``name`` to run ``delay`` seconds from now.

        ``job_id`` gives the job a stable id (a fresh one is made otherwise). Returns only once
        the job is safely stored.

        :raises QueueError: (or any other exception) when the job could not be accepted.
        """
        ...

    def process(
        self,
        name: str,
        handler: Handler,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        """Run ``handler`` for jobs named ``name``; a failing job is retried up to ``attempts``
        runs in all, waiting ``backoff * 2 ** (attempt - 1)`` seconds after each failure."""
        ...


#: The optional async twin a queue may offer; :meth:`Receiver.handle_async` awaits it.
EnqueueAsync = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Policy:
    handler: Handler
    attempts: int
    backoff: float


def check_policy(attempts: int, backoff: float) -> None:
    """Refuse retry settings that cannot work."""
    if not isinstance(attempts, int) or attempts < 1:
        raise ValueError("attempts must be an int >= 1")
    if not backoff >= 0:
        raise ValueError("backoff must be >= 0 seconds")


def retry_delay(policy_backoff: float, attempt: int) -> float:
    """Seconds to wait after the failed run number ``attempt``: exponential, as Kue did."""
    return float(policy_backoff * 2 ** (attempt - 1))


class MemoryQueue:
    """A :class:`Queue` in this process's memory, for development and tests.

    A job is due at ``now() + delay`` on the queue's clock; nothing runs until
    :meth:`run_due` is called, which makes tests deterministic::

        queue = MemoryQueue()
        queue.process("Webhook Example", lambda job: print(job.data["type"]))
        ...
        queue.run_due()

    Jobs are kept by reference (nothing is serialised) and are lost with the process.
    """

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._at: float | None = None
        self._heap: list[tuple[float, int, str, Mapping[str, Any], str, int]] = []
        self._seq = itertools.count()
        self._policies: dict[str, _Policy] = {}
        self._dead: list[DeadLetter] = []
        self._lock = threading.Lock()

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        """Keep a job due ``delay`` seconds from now (see :meth:`Queue.enqueue`)."""
        due = (self._now() if self._at is None else self._at) + delay
        with self._lock:
            heapq.heappush(self._heap, (due, next(self._seq), name, data, job_id or uuid.uuid4().hex, 1))

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        """As :meth:`enqueue`; it never waits on I/O, so it is safe on an event loop."""
        self.enqueue(name, data, delay=delay, job_id=job_id)

    def process(
        self,
        name: str,
        handler: Handler,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        """Register ``handler`` for jobs named ``name`` (see :meth:`Queue.process`)."""
        check_policy(attempts, backoff)
        self._policies[name] = _Policy(handler, attempts, backoff)

    def pending(self) -> list[Job]:
        """The jobs not yet run, in due order (retries carry their next ``attempt``)."""
        with self._lock:
            entries = sorted(self._heap)
        return [Job(name, data, job_id, attempt) for _, _, name, data, job_id, attempt in entries]

    def next_due(self) -> float | None:
        """When the earliest pending job is due, on the queue's clock (None: nothing pending)."""
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def dead_letters(self) -> list[DeadLetter]:
        """Jobs that failed their last attempt, oldest first."""
        with self._lock:
            return list(self._dead)

    def replay(self, job_id: str) -> bool:
        """Queue a dead job again, from attempt 1; False when no dead job has that id."""
        with self._lock:
            for index, dead in enumerate(self._dead):
                if dead.job.id == job_id:
                    del self._dead[index]
                    break
            else:
                return False
        self.enqueue(dead.job.name, dead.job.data, job_id=dead.job.id)
        return True

    def run_due(self, at: float | None = None, *, limit: int = 10_000) -> int:
        """Run, in due order, every job due at or before ``at`` (default: now); return how many ran.

        Jobs that handlers enqueue meanwhile run too when they fall due by ``at`` ("now" for
        them and for retries is ``at``). A job with no handler stays queued. At most ``limit``
        runs happen, so that a handler that always enqueues cannot loop forever.
        """
        at = self._now() if at is None else at
        waiting: list[tuple[float, int, str, Mapping[str, Any], str, int]] = []
        ran = 0
        self._at = at
        try:
            while ran < limit:
                with self._lock:
                    if not self._heap or self._heap[0][0] > at:
                        break
                    entry = heapq.heappop(self._heap)
                policy = self._policies.get(entry[2])
                if policy is None:
                    waiting.append(entry)
                    continue
                ran += 1
                self._run(policy, entry, at)
        finally:
            self._at = None
            with self._lock:
                for entry in waiting:
                    heapq.heappush(self._heap, entry)
        return ran

    def _run(self, policy: _Policy, entry: tuple[float, int, str, Mapping[str, Any], str, int], at: float) -> None:
        _, _, name, data, job_id, attempt = entry
        job = Job(name, data, job_id, attempt)
        try:
            policy.handler(job)
        except Exception as exc:
            if attempt >= policy.attempts:
                log.error("job %r (%s) failed its last attempt (%d): %r", name, job_id, attempt, exc)
                with self._lock:
                    self._dead.append(DeadLetter(job, repr(exc)))
                return
            wait = retry_delay(policy.backoff, attempt)
            log.warning(
                "job %r (%s) failed attempt %d/%d, retrying in %.3gs: %r",
                name, job_id, attempt, policy.attempts, wait, exc,
            )  # fmt: skip
            with self._lock:
                heapq.heappush(self._heap, (at + wait, next(self._seq), name, data, job_id, attempt + 1))
