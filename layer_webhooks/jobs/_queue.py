"""The queue ports: where accepted events go, and its async twin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from ._job import Handler
from ._policy import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF


@runtime_checkable
class Queue(Protocol):
    """Where accepted events go: named jobs, run now or after a delay, by registered handlers.

    Every queue of this library (:class:`~layer_webhooks.MemoryQueue`, ``HueyQueue``) is a
    :class:`~layer_webhooks.jobs.LedgerQueue` and so also offers the operator surface
    ``pending()``, ``dead_letters()``, ``replay(job_id)`` and ``discard(job_id)``.
    """

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        """Durably accept a job named ``name`` to run ``delay`` seconds from now.

        ``job_id`` gives the job a stable id (a fresh one is made otherwise); a job whose id is
        waiting or running already is not queued twice. Returns only once the job is stored.

        :raises InvalidJobData: ``data`` is not JSON-safe (nothing is stored).
        :raises QueueError: (or any other exception) the job could not be stored.
        """
        ...

    def process(
        self, name: str, handler: Handler, *, attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF
    ) -> None:
        """Run ``handler`` for jobs named ``name``; a failing job runs ``attempts`` times in all,
        ``backoff * 2 ** (attempt - 1)`` seconds apart, then becomes a dead letter.

        :raises ConfigurationError: ``attempts`` or ``backoff`` cannot work.
        """
        ...


@runtime_checkable
class AsyncQueue(Queue, Protocol):
    """A :class:`Queue` that an event loop can write to without blocking."""

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        """As :meth:`Queue.enqueue`, awaiting the write instead of blocking the loop."""
        ...
