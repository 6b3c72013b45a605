"""The job-ledger port: where a queue keeps its jobs, one atomic step per method.

A queue's messages say *when* to look at a job; the ledger is the source of truth of *what*
the job is and where it stands. Every queue is built on one (:class:`~layer_webhooks.MemoryQueue`
on :class:`MemoryLedger`, ``HueyQueue`` on a ledger inside huey's own storage), and the
lifecycle in :mod:`._lifecycle` drives it, so that no two queues can disagree.

A job is **waiting** (at some ``attempt``, ready once its delay has passed), **running** (claimed
by a worker), or **dead** (failed its last attempt; kept for an operator). Liveness is per
worker, not per job (dramatiq's model): a worker is one process, named by a string, that calls
:meth:`JobLedger.beat` at least every ``lease / 3`` seconds while it lives; the jobs of a worker
silent for longer than ``lease`` are presumed abandoned and are made waiting again by
:meth:`JobLedger.reap`. Times are the ledger's own clock, injected where it is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to add: its ``id``, its ``record`` (:func:`~._codec.encode`), and its ``delay`` (s)."""

    id: str
    record: str
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Pending:
    """A job not finished: waiting or running, at ``attempt``."""

    id: str
    record: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Dead:
    """A job that failed its last ``attempt`` with ``error`` at ``failed_at``."""

    id: str
    record: str
    attempt: int
    error: str
    failed_at: float


@runtime_checkable
class JobLedger(Protocol):
    """The jobs of one queue. Each method is atomic with respect to every other call, from
    every process and machine that shares the ledger; ``worker`` is the calling worker's name."""

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """Write each job as waiting at attempt 1, ready once its ``delay`` has passed.

        Returns one flag per job: True when written, False when a job with that id is waiting or
        running already (that job is left exactly as it was; ``jobs`` may repeat an id, and the
        first wins). A dead job with the same id does not stop a new one.
        """
        ...

    def claim(self, job_id: str, attempt: int, worker: str) -> str | None:
        """Start the run number ``attempt`` of a job, for ``worker``; return the job's record.

        None, and nothing changes, when the job is finished or dead, is at another attempt, or
        is running under a live worker (``worker`` itself included: a duplicate message). A job
        running under a worker silent for longer than the lease is taken over. A claim counts
        as a :meth:`beat` of ``worker``.
        """
        ...

    def finish_and_claim(
        self, finished: Sequence[str], job_id: str, attempt: int, worker: str
    ) -> tuple[str | None, bool]:
        """:meth:`finish` each job of ``finished``, then :meth:`claim`, in one atomic step (the
        finishes whatever the claim's answer): a consumer's finish rides on its next claim, one
        round trip per job instead of two. Returns the claim's answer and whether more jobs
        are announced, waiting to be taken now (a hint that a next claim comes soon; False
        from a ledger that cannot tell)."""
        ...

    def finish(self, job_id: str) -> None:
        """Forget a job whose run succeeded (whoever holds it now); an absent id is no error."""
        ...

    def retry(self, job_id: str, worker: str, attempt: int, delay: float) -> bool:
        """Make a job that ``worker`` runs waiting again at ``attempt``, ready after ``delay`` s.

        False, and nothing changes, when ``worker`` no longer holds it (it was reaped).
        """
        ...

    def bury(self, job_id: str, worker: str, attempt: int, error: str) -> bool:
        """Move a job that ``worker`` runs, which failed run number ``attempt``, to the dead jobs.

        A dead job with that id is replaced. False, and nothing changes, when ``worker`` no
        longer holds it.
        """
        ...

    def release(self, job_id: str, worker: str) -> bool:
        """Hand a job that ``worker`` runs back, waiting at the same attempt, ready now and
        ahead of fresh jobs. False, and nothing changes, when ``worker`` no longer holds it."""
        ...

    def beat(self, worker: str) -> None:
        """Record that ``worker`` is alive now, so that the jobs it runs stay its own."""
        ...

    def reap(self, limit: int) -> list[tuple[str, bool]]:
        """Make up to ``limit`` abandoned jobs waiting again, ready now; return ``(id, expired)``.

        ``expired`` True: the job ran under a worker silent for longer than the lease. False:
        the job has been ready for longer than a lease and nothing is waiting to announce any
        job, so its announcement is presumed lost (queues whose announcements cannot be lost
        never report these).
        """
        ...

    def pending(self) -> list[Pending]:
        """Every job waiting or running, soonest ready first."""
        ...

    def dead(self) -> list[Dead]:
        """Every dead job, oldest failure first."""
        ...

    def replay(self, job_id: str) -> int:
        """Make a dead job waiting at attempt 1, ready now, under its id.

        1 when done; 0 when there is no dead job with that id; -1 when a job with that id is
        waiting or running (the dead job stays).
        """
        ...

    def discard(self, job_id: str) -> bool:
        """Delete a dead job; False when there is none with that id."""
        ...
