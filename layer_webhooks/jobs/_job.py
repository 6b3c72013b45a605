"""The job a handler receives, the handler type, and a dead letter."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Job:
    """One run of a job: ``name`` (the hook's name), JSON-safe ``data``, a stable ``id``, and
    ``attempt`` (1 for the first run). Every queue is at-least-once: a handler may see the same
    ``id`` twice and should be idempotent on it."""

    name: str
    data: Mapping[str, Any]
    id: str
    attempt: int = 1


#: A job handler. Its return value is ignored; raising makes the job retry.
Handler = Callable[[Job], object]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed its last attempt, kept so that an operator can inspect and replay it.

    ``job`` is its last run (``job.attempt`` the attempt that failed), ``error`` the ``repr`` of
    what that run raised, ``failed_at`` when (seconds on the queue's clock).
    """

    job: Job
    error: str
    failed_at: float = 0.0
