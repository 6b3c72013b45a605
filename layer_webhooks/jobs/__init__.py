"""The job lifecycle, written once for every queue.

``Job``/``DeadLetter`` (what handlers and operators see), :class:`RetryPolicy` and the pure
:func:`outcome` (retry after N s, or bury), the JSON codec that refuses non-JSON data, the
handler :class:`Registry`, the :class:`JobLedger` port (a contract per method) with its
in-memory twin :class:`MemoryLedger`, and :class:`LedgerQueue`, the lifecycle over a ledger
that :class:`~layer_webhooks.MemoryQueue` and ``HueyQueue`` are built on, and the
:class:`BackgroundRunner` that runs a memory queue on a thread of this process.
"""

from __future__ import annotations

from ._codec import decode, encode
from ._job import DeadLetter, Handler, Job
from ._ledger import Dead, JobLedger, NewJob, Pending
from ._lifecycle import LedgerQueue
from ._memory_ledger import MemoryLedger
from ._memory_queue import MemoryQueue
from ._policy import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF, Bury, Outcome, Retry, RetryPolicy, outcome
from ._queue import AsyncQueue, Queue
from ._registry import Registration, Registry
from ._runner import BackgroundRunner

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_BACKOFF",
    "AsyncQueue",
    "BackgroundRunner",
    "Bury",
    "Dead",
    "DeadLetter",
    "Handler",
    "Job",
    "JobLedger",
    "LedgerQueue",
    "MemoryLedger",
    "MemoryQueue",
    "NewJob",
    "Outcome",
    "Pending",
    "Queue",
    "Registration",
    "Registry",
    "Retry",
    "RetryPolicy",
    "decode",
    "encode",
    "outcome",
]
