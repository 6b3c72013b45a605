"""``LedgerQueue``: the job lifecycle, written once, over a :class:`~._ledger.JobLedger`.

Every queue of this library is one: enqueue (the codec's check, then the ledger's ``add``),
the handler registry, a run (claim, handler, then finish, retry or bury as :func:`~._policy.outcome`
decides; an interruption hands the job back) and the operator surface. A subclass supplies the
ledger and how runs are started (:class:`~layer_webhooks.MemoryQueue`: ``run_due``; ``HueyQueue``:
huey's consumer), nothing else, so that no two queues can disagree.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from .._logsafe import describe, where
from .._slots import slot_setters
from ..errors import InvalidJobData, NoHandlerRegistered, QueueError
from ._codec import decode, encode
from ._job import DeadLetter, Handler, Job
from ._ledger import JobLedger, NewJob
from ._policy import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF, Bury, RetryPolicy, outcome
from ._registry import Registry
from ._unfinished import Unfinished

log = logging.getLogger("layer_webhooks.queue")

_NEW_JOB_SLOTS = slot_setters(NewJob, "id", "record", "delay")


def not_queued(job_id: str, error: BaseException) -> QueueError:
    """The error of an ``enqueue`` whose write of job ``job_id`` failed with ``error``."""
    return QueueError(f"job {job_id} could not be queued: {describe(error)}")


class LedgerQueue:
    """A :class:`~layer_webhooks.Queue` over ``ledger``, with the operator surface every queue offers:
    :meth:`pending`, :meth:`dead_letters`, :meth:`replay`, :meth:`discard`.

    The semantics, the same on every queue: a ``job_id`` waiting or running already is not
    queued twice; data that JSON cannot carry raises :class:`~layer_webhooks.InvalidJobData` at
    :meth:`enqueue`; a job whose name has no handler is logged at ERROR on each attempt
    ("no handler registered for ..."), retried on the default schedule, then kept as a dead
    letter; a failing job is retried ``attempts`` times in all under its id, ``job.attempt``
    counting from 1, then kept as a dead letter that :meth:`replay` queues again from attempt 1.
    """

    def __init__(self, ledger: JobLedger) -> None:
        self._ledger = ledger
        self.handlers = Registry()
        # Runs in progress in this process, per (worker, job id); the jobs each worker may
        # hold without running them (see settle). One lock for both.
        self._runs: dict[tuple[str, str], int] = {}
        self._doubtful: dict[str, set[str]] = {}
        self._runs_lock = threading.RLock()
        self._unfinished = Unfinished()

    @property
    def ledger(self) -> JobLedger:
        """The ledger this queue keeps its jobs in."""
        return self._ledger

    # -- Queue --------------------------------------------------------------------------------

    def new_job(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> NewJob:
        """The ledger's form of a job (its record checked and encoded, an id made if none given).

        :raises InvalidJobData: ``data`` is not JSON-safe.
        """
        if not isinstance(name, str) or not name:
            raise InvalidJobData(f"a job name must be a non-empty string, not {name!r}")
        if job_id is not None and not job_id.isascii() and not _is_text(job_id):
            # Every ledger but memory's writes ids as UTF-8: refuse the same everywhere.
            raise InvalidJobData(f"job_id {job_id!r} is not Unicode text (a lone surrogate)")
        job = object.__new__(NewJob)  # NewJob(...) a slot at a time (see layer_webhooks._slots)
        set_id, set_record, set_delay = _NEW_JOB_SLOTS
        set_id(job, job_id or uuid.uuid4().hex)
        set_record(job, encode(name, data))
        set_delay(job, max(0.0, float(delay)))
        return job

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        """Store the job; return once it is stored (see :meth:`Queue.enqueue`).

        :raises InvalidJobData: ``data`` is not JSON-safe (nothing is written).
        :raises QueueError: the ledger could not be written.
        """
        job = self.new_job(name, data, delay=delay, job_id=job_id)
        if not self._store(job):
            log.info("job %s is pending already, not queued again", job.id)

    def _store(self, job: NewJob) -> bool:
        # One job written: True when added. HueyQueue writes the jobs of concurrent threads together.
        try:
            return self.ledger.add([job])[0]
        except Exception as exc:
            raise not_queued(job.id, exc) from exc

    def process(
        self, name: str, handler: Handler, *, attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF
    ) -> None:
        """Run ``handler`` for jobs named ``name`` (see :meth:`Queue.process`).

        :raises ConfigurationError: ``attempts`` or ``backoff`` cannot work.
        """
        self.handlers.add(name, handler, RetryPolicy(attempts, backoff))

    # -- operators ----------------------------------------------------------------------------

    def pending(self) -> list[Job]:
        """Every job not finished (waiting or running), soonest first, at its current attempt."""
        return [_job(item.id, item.record, item.attempt) for item in self.ledger.pending()]

    def dead_letters(self) -> list[DeadLetter]:
        """Jobs that failed their last attempt, oldest failure first, with the last error."""
        return [
            DeadLetter(_job(item.id, item.record, item.attempt), item.error, item.failed_at)
            for item in self.ledger.dead()
        ]

    def replay(self, job_id: str) -> bool:
        """Queue a dead job again from attempt 1, under its id; False when there is no such
        dead job, or when a job with that id is pending (the dead letter stays)."""
        done = self.ledger.replay(job_id)
        if done < 0:
            log.warning("dead job %s not replayed: a job with that id is pending", job_id)
        return done > 0

    def discard(self, job_id: str) -> bool:
        """Delete a dead letter for good; False when there is none with that id."""
        return self.ledger.discard(job_id)

    # -- a run ----------------------------------------------------------------------------------

    def run(self, job_id: str, attempt: int, worker: str) -> bool:
        """Run the attempt ``attempt`` of a job as ``worker``; False when the ledger refused the
        claim (the job is done, at another attempt, or running elsewhere: a stale message).

        The handler's exception decides a retry or a dead letter; an interruption (a
        ``BaseException`` such as ``KeyboardInterrupt``) hands the job back and propagates.
        A ledger call without a clear answer (it raised: the reply may be lost while the write
        was applied) leaves the job in doubt: :meth:`settle` hands it back later.
        """
        key = (worker, job_id)
        self._started(key)
        try:
            return self._run(job_id, attempt, worker)
        finally:
            self._ended(key)

    def _started(self, key: tuple[str, str]) -> None:
        with self._runs_lock:
            self._runs[key] = self._runs.get(key, 0) + 1

    def _ended(self, key: tuple[str, str]) -> None:
        with self._runs_lock:
            self._runs[key] -= 1
            if not self._runs[key]:
                del self._runs[key]

    def _run(self, job_id: str, attempt: int, worker: str) -> bool:
        # Per job: plain try blocks, not _in_doubt (a generator each), and one look-up of the ledger.
        ledger, unfinished = self.ledger, self._unfinished
        finished = unfinished.take()  # None: this thread finishes each run at once
        busy = False  # whether this thread's finish may wait for its next claim: more jobs wait
        try:
            if finished is None:
                record = ledger.claim(job_id, attempt, worker)
            else:
                record, busy = ledger.finish_and_claim(finished, job_id, attempt, worker)
        except Exception:
            self.doubt(worker, *(finished or ()), job_id)
            raise
        if record is None:
            self._refused(job_id, attempt, worker, 1)  # this run is counted in _runs
            return False
        self._execute(ledger, job_id, attempt, worker, record, busy)
        return True

    def run_claimed(self, job_id: str, attempt: int, worker: str, record: str, *, busy: bool) -> None:
        """Run the attempt ``attempt`` of a job that ``worker`` has claimed already (its
        ``record`` came with the claim), as :meth:`run` does after its claim; ``busy``: more
        jobs wait, so that a thread that defers its finishes lets this one wait too."""
        key = (worker, job_id)
        self._started(key)
        try:
            self._execute(self.ledger, job_id, attempt, worker, record, busy)
        finally:
            self._ended(key)

    def refused(self, job_id: str, attempt: int, worker: str) -> None:
        """Note that the ledger refused ``worker``'s claim of a job because ``worker`` holds
        it: unless a thread of this process runs it, it is in doubt (see :meth:`settle`)."""
        self._refused(job_id, attempt, worker, 0)

    def _refused(self, job_id: str, attempt: int, worker: str, counted: int) -> None:
        # A claim retried after its first try was applied (a client that retries on a lost
        # reply) is refused too, as a duplicate would be: unless another thread of this
        # process runs the job, this worker may hold it without running it.
        with self._runs_lock:
            alone = self._runs.get((worker, job_id), 0) <= counted
        if alone:
            self.doubt(worker, job_id)
        log.debug("job %s attempt %d is done or runs elsewhere: nothing to run", job_id, attempt)

    def _execute(self, ledger: JobLedger, job_id: str, attempt: int, worker: str, record: str, busy: bool) -> None:
        job = _job(job_id, record, attempt)
        registration = self.handlers.get(job.name)
        try:
            if registration is None:
                raise self.handlers.missing(job.name)
            registration.handler(job)
        except Exception as exc:
            policy = self.handlers.default_policy if registration is None else registration.policy
            with self._in_doubt(job_id, worker):
                self._failed(job, worker, policy, exc)
        except BaseException:
            self.hand_back(job_id, worker)
            raise
        else:
            unfinished = self._unfinished
            if busy and unfinished.deferring():
                unfinished.add(job_id)
                return
            try:
                ledger.finish(job_id)
            except Exception:
                self.doubt(worker, job_id)
                raise

    def finishes_waiting(self) -> bool:
        """Whether the calling thread holds finishes that wait for its next claim (more jobs waited)."""
        return self._unfinished.holding()

    def take_finishes(self) -> list[str]:
        """The calling thread's waiting finishes, now the caller's to send (none: it does not defer)."""
        return self._unfinished.take() or []

    def holding(self, worker: str) -> list[str]:
        """The jobs this process runs, or has run and not finished yet, as ``worker``."""
        with self._runs_lock:
            running = [job_id for (owner, job_id) in self._runs if owner == worker]
        return running + self._unfinished.peek_all()

    def defer_finishes(self, worker: str) -> None:
        """Have the calling thread finish each successful run with its next claim: one round trip
        per job, not two (``HueyQueue``'s consumer threads). Until then ``worker`` holds the job
        (if it dies, the job runs again); :meth:`settle` and this process's exit finish it first."""
        if self._unfinished.defer_here():  # the first thread of this process that defers
            atexit.register(self.finish_deferred, worker)

    def finish_deferred(self, worker: str, *, idle: bool = False) -> None:
        """Finish the runs that wait for a next claim (``idle``: those that waited since the
        previous idle call: a thread that went idle). A finish that raised leaves its job in
        doubt (see :meth:`settle`)."""
        for job_id in self._unfinished.take_all(idle=idle):
            try:
                self.ledger.finish(job_id)
            except Exception as exc:
                self.doubt(worker, job_id)
                log.warning("job %s ran; its finish is in doubt, the ledger did not answer: %s", job_id, describe(exc))

    def hand_back(self, job_id: str, worker: str) -> None:
        """Give a job that ``worker`` runs back to the queue, first in line (an interrupted run)."""
        try:
            if self.ledger.release(job_id, worker):
                log.warning("job %s interrupted: handed back to run again", job_id)
        except Exception as exc:
            self.doubt(worker, job_id)
            log.error(
                "job %s interrupted and not handed back yet (%s): tried again on each heartbeat", job_id, describe(exc)
            )

    def settle(self, worker: str) -> list[str]:
        """Hand back the jobs ``worker`` may hold without running them; return their ids.

        A job is in doubt when a ledger call about it raised (a claim, a finish, a retry, a
        bury or a hand-back whose reply was lost: the write may have been applied, and the
        job be held by a worker that lives on, so that no lease ever runs out for it), or
        when a claim was refused although no other thread of this process runs it. Each is
        released (waiting again at its attempt, first in line) if ``worker`` still holds it,
        and forgotten once the ledger answers; while the ledger cannot be reached it stays
        in doubt. ``HueyQueue`` calls this on every heartbeat.
        """
        released = []
        with self._runs_lock:  # held throughout: no run of these jobs may start or end meanwhile
            # First the deferred finishes: a job run here and not finished yet is held, not doubtful.
            self.finish_deferred(worker)
            doubtful = self._doubtful.get(worker, set())
            for job_id in sorted(doubtful):
                if (worker, job_id) in self._runs:
                    continue
                try:
                    handed_back = self.ledger.release(job_id, worker)
                except Exception as exc:
                    log.warning("job %s still in doubt, the ledger did not answer: %s", job_id, describe(exc))
                    break
                doubtful.discard(job_id)
                if handed_back:
                    released.append(job_id)
                    log.warning("job %s handed back: held by this worker, which did not run it (a lost reply)", job_id)
        return released

    def doubt(self, worker: str, *job_ids: str) -> None:
        """Note that ``worker`` may hold these jobs without running them (see :meth:`settle`)."""
        with self._runs_lock:
            self._doubtful.setdefault(worker, set()).update(job_ids)

    @contextlib.contextmanager
    def _in_doubt(self, job_id: str, worker: str) -> Iterator[None]:
        try:
            yield
        except Exception:
            self.doubt(worker, job_id)
            raise

    def _failed(self, job: Job, worker: str, policy: RetryPolicy, exc: Exception) -> None:
        decision = outcome(policy, job.attempt, exc)
        if isinstance(decision, Bury):
            log.error(
                "job %r (%s) failed its last attempt (%d of %d), kept as a dead letter: %s",
                job.name, job.id, job.attempt, policy.attempts, _failure(exc),
            )  # fmt: skip
            kept = self.ledger.bury(job.id, worker, job.attempt, decision.error)
        else:
            # A missing handler is a deployment error, not a transient one: say so loudly each time.
            level = logging.ERROR if isinstance(exc, NoHandlerRegistered) else logging.WARNING
            log.log(
                level, "job %r (%s) failed attempt %d of %d, retrying in %.3g s: %s",
                job.name, job.id, job.attempt, policy.attempts, decision.after, _failure(exc),
            )  # fmt: skip
            kept = self.ledger.retry(job.id, worker, decision.attempt, decision.after)
        if not kept:
            log.warning("job %s: its worker was presumed gone while it ran; the job runs again", job.id)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _failure(exc: Exception) -> str:
    # A handler's error message is its author's and may quote the job's data: the log line
    # gives its type and where it was raised; the dead letter keeps the whole error.
    if isinstance(exc, NoHandlerRegistered):
        return str(exc)
    at = where(exc)
    return f"{type(exc).__name__} at {at}" if at else type(exc).__name__


def _job(job_id: str, record: str, attempt: int) -> Job:
    name, data = decode(record)
    return Job(name, data, job_id, attempt)
