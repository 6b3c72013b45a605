"""A consumer thread's batches: after the job huey gave it, runs taken straight from huey's queue.

While more messages wait, a worker thread that has run its job pops up to ``limit`` messages in
one script call, claims the runs they name (``take.lua``, which reads a message by the template
of ``_message.py``), and runs them, each finish riding on the next take: one round trip per
batch, where huey's loop makes three per task (its pop, the revocation look-up, and the
revocation's delete) and the claim a fourth. A message of another shape (another task) ends
the batch; it stays first in line for huey's loop. A batch holds about ``seconds`` of work by
the handlers' recent run times (at least one job), so that slow jobs are not held by one thread
while others idle, and a huey task takes at most ``rounds`` batches before it goes back to
huey's loop.

Huey's signals and revocation apply to the huey task, not to the jobs of its batches.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..._logsafe import describe
from ._message import Messages, Shape

if TYPE_CHECKING:
    from ...jobs._ledger import JobLedger
    from . import HueyQueue

log = logging.getLogger("layer_webhooks.huey")

# Each take's token, unique in this process (next() on a count is atomic under the GIL); a
# forked process has a worker name of its own.
_TOKENS = itertools.count(1)


@dataclass(frozen=True)
class Taken:
    """What a take claimed: ``runs`` (job id, attempt, record) now held by the worker, in
    queue order; ``held``, ids refused because this worker holds them already (a duplicate
    message, or a reply lost earlier); ``queued``, how many messages wait in huey's queue;
    ``blocked``, whether a message of another shape ended the take (it waits first in line)."""

    runs: Sequence[tuple[str, int, str]]
    held: Sequence[str]
    queued: int
    blocked: bool


@runtime_checkable
class Taker(Protocol):
    """A ledger that can take runs straight from huey's queue (``RedisLedger``)."""

    def take(self, finished: Sequence[str], worker: str, limit: int, shape: Shape, thread: str, token: str) -> Taken:
        """Finish ``finished``, pop up to ``limit`` messages and claim the runs they name;
        ``token`` names this call, so that the same call again (a retry) gets the same runs."""
        ...

    def release_held(self, worker: str, keep: Sequence[str]) -> list[str]:
        """Hand back every job ``worker`` holds but those in ``keep``; return their ids."""
        ...


class Batches:
    """The batches of one ``HueyQueue``'s worker threads (see the module's docstring)."""

    def __init__(self, messages: Messages, seconds: float, rounds: int) -> None:
        self._messages, self._seconds, self._rounds = messages, seconds, rounds
        self._per_job = 0.0  # recent seconds per job (a moving average; threads race benignly)
        # Takes in flight, and whether a release of a lost take's jobs runs: they exclude each other.
        self._state = threading.Condition()
        self._taking, self._releasing = 0, False
        self._lost: set[str] = set()  # workers with a take whose reply was lost
        self._held: dict[str, deque[str]] = {}  # a huey task's job id -> its batches' jobs not ended

    def timed(self, seconds: float) -> None:
        """Count ``seconds`` spent on one job's run (the huey task's own)."""
        self._measure(seconds, 1)

    def drain(self, queue: HueyQueue, first: str, worker: str, limit: int) -> None:
        """Take and run batches of up to ``limit`` jobs for ``worker``, after ``first`` ran."""
        ledger, shape = queue.ledger, self._messages.shape()
        if shape is None or not isinstance(ledger, Taker):
            return  # huey pickles each message itself, or not on Redis: one job per huey task
        held = self._held[first] = deque()
        try:
            for _ in range(self._rounds):
                taken = self._take(queue, ledger, worker, self._limit(limit), shape)
                if taken is None:
                    return
                held.extend(job_id for job_id, _, _ in taken.runs)
                self._run(queue, worker, taken, held)
                if not taken.queued or taken.blocked:
                    break
            if queue.finishes_waiting():  # the last batch's finishes, together: one call
                self._take(queue, ledger, worker, 0, shape)
        except KeyboardInterrupt:
            # Handed back already: huey's interrupted signal, which follows, must not hand back first.
            self._held[first] = deque()
            raise
        finally:
            if self._held.get(first) is held:
                del self._held[first]

    def interrupted(self, first: str) -> list[str]:
        """The jobs to hand back when the huey task of job ``first`` is interrupted."""
        held = self._held.get(first)
        if held is None:
            return [first]
        if not held:
            self._held.pop(first, None)
        return list(held)  # first ran: its finish waits

    def settle(self, queue: HueyQueue, ledger: JobLedger, worker: str) -> None:
        """After a take whose reply was lost: hand back what ``worker`` holds and does not run."""
        with self._state:
            if worker not in self._lost or self._taking or not isinstance(ledger, Taker):
                return
            self._releasing = True
        keep = [*queue.holding(worker), *(job_id for held in list(self._held.values()) for job_id in held)]
        try:
            released = ledger.release_held(worker, keep)
        except Exception as exc:
            log.warning("the jobs of a lost take are still held, the ledger did not answer: %s", describe(exc))
        else:
            self._lost.discard(worker)
            for job_id in released:
                log.warning("job %s handed back: taken by this worker, which did not run it (a lost reply)", job_id)
        finally:
            with self._state:
                self._releasing = False
                self._state.notify_all()

    def _take(self, queue: HueyQueue, ledger: Taker, worker: str, limit: int, shape: Shape) -> Taken | None:
        with self._state:
            while self._releasing:
                self._state.wait(1.0)
            self._taking += 1
        finished = queue.take_finishes()
        try:
            return ledger.take(finished, worker, limit, shape, str(threading.get_ident()), str(next(_TOKENS)))
        except Exception as exc:
            # Applied or not: the finishes are in doubt, and the jobs it may have claimed unknown.
            queue.doubt(worker, *finished)
            with self._state:
                self._lost.add(worker)
            log.warning("a take of jobs got no answer from the ledger; a heartbeat hands back what it took: %s",
                        describe(exc))  # fmt: skip
            return None
        finally:
            with self._state:
                self._taking -= 1

    def _run(self, queue: HueyQueue, worker: str, taken: Taken, held: deque[str]) -> None:
        claimed = {job_id for job_id, _, _ in taken.runs}
        for job_id in taken.held:
            if job_id not in claimed:  # not a second message of a job this take claimed
                queue.refused(job_id, 0, worker)
        started = time.monotonic()
        try:
            for job_id, attempt, record in taken.runs:  # each finish rides on the next take
                queue.run_claimed(job_id, attempt, worker, record, busy=True)
                held.popleft()
        except BaseException:
            held.popleft()  # the one that raised: handed back or in doubt already
            for job_id in held:  # claimed, not started
                queue.hand_back(job_id, worker)
            held.clear()
            raise
        finally:
            self._measure(time.monotonic() - started, len(taken.runs))

    def _measure(self, seconds: float, count: int) -> None:
        if count:
            per_job = seconds / count
            self._per_job = per_job if not self._per_job else 0.8 * self._per_job + 0.2 * per_job

    def _limit(self, limit: int) -> int:
        per_job = self._per_job
        return limit if per_job <= 0 else max(1, min(limit, int(self._seconds / per_job)))
