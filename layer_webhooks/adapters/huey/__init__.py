"""``HueyQueue``: the production :class:`~layer_webhooks.Queue`, on huey, with no lost work.

::

    # tasks.py -- imported by the web app and named on the consumer's command line
    from huey import RedisHuey
    from layer_webhooks import WebhooksServices
    from layer_webhooks.adapters.huey import HueyQueue

    huey = RedisHuey("my-app", url="redis://localhost:6379/0")
    services = WebhooksServices(queue=HueyQueue(huey))

    @services.process("Webhook Example")
    def on_message(job):
        print(job.data["message"]["parts"][0]["body"])

    # huey_consumer tasks.huey -w 4 -k thread -g TERM -t 25

Jobs run at least once: a job whose consumer died runs again once its lease runs out, so a
handler may see one ``job.id`` twice. ``RedisHuey``, ``SqliteHuey`` and ``MemoryHuey`` are
supported. See docs/huey.md.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
import socket
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from huey import Huey
from huey.signals import SIGNAL_INTERRUPTED
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from ... import DeadLetter, Handler, Job
from ...errors import ConfigurationError, InvalidJobData, QueueError
from ...jobs._policy import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF, RetryPolicy
from ._commit import LoopCommitter
from ._heartbeat import Heartbeat
from ._ledger_sql import Ledger, NewJob, SqlLedger

__all__ = ["TASK_NAME", "HueyQueue"]

log = logging.getLogger("layer_webhooks.huey")

#: The one huey task every job runs through. Huey keys tasks by module and name, so this
#: module's path and this name are part of the stored messages' format: never change them.
TASK_NAME = "run_job"


def _open_ledger(huey: Huey, lease: float) -> Ledger:
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        from ._ledger_redis import RedisLedger

        return RedisLedger(storage, lease)
    if type(storage) is SqliteStorage:
        return SqlLedger.for_sqlite(storage, lease)
    if isinstance(storage, MemoryStorage):
        return SqlLedger.for_memory(huey, lease)
    raise ConfigurationError(f"HueyQueue needs RedisHuey, SqliteHuey or MemoryHuey, not {type(storage).__name__}")


class HueyQueue:
    """A :class:`~layer_webhooks.Queue` on ``huey``: durable jobs, delays, retries, dead letters.

    One per huey instance; create it (and register handlers) in the module the consumer
    loads. ``lease`` is how long a started job may go without its consumer's heartbeat
    (every ``lease / 3`` s) before another consumer runs it again.
    """

    def __init__(self, huey: Huey, *, lease: float = 30.0) -> None:
        if not lease > 0:
            raise ConfigurationError("lease must be > 0 seconds")
        self.huey = huey
        self.lease = float(lease)
        self._policies: dict[str, tuple[Handler, int, float]] = {}
        self._held: dict[str, str] = {}  # claim token -> job id, for the jobs this process runs
        self._held_lock = threading.Lock()
        self._claims = itertools.count()
        self._token = ("", 0)
        self._storage = huey.storage
        self._ledger = _open_ledger(huey, self.lease)
        self._committer = LoopCommitter(lambda: self._current_ledger().open_async())
        self._heartbeat = Heartbeat(self._beat, self.lease / 3)

        def run_job(job_id: str, attempt: int) -> None:
            self._run(job_id, attempt)

        try:
            self._task = huey.task(name=TASK_NAME)(run_job)
        except ValueError:
            raise ConfigurationError(f"huey {huey.name!r} already has a HueyQueue") from None
        huey.on_startup("layer_webhooks_heartbeat")(self._heartbeat.start)
        huey.signal(SIGNAL_INTERRUPTED)(self._on_interrupted)

    def __repr__(self) -> str:
        return f"HueyQueue({type(self.huey).__name__}({self.huey.name!r}), lease={self.lease})"

    # -- Queue ------------------------------------------------------------------------------

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        """Write the job to huey's storage; returns once it is stored (see :meth:`Queue.enqueue`).

        An id that is still pending is not queued twice.

        :raises InvalidJobData: ``data`` is not JSON-safe (nothing is written).
        :raises QueueError: the storage could not be written.
        """
        job = self._new_job(name, data, delay, job_id)
        try:
            added = self._current_ledger().add([job])[0]
        except Exception as exc:
            raise QueueError(f"job {job.id} could not be queued: {exc!r}") from exc
        if not added:
            log.info("job %s is pending already, not queued again", job.id)

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        """As :meth:`enqueue`, without blocking the event loop: concurrent calls share one write."""
        job = self._new_job(name, data, delay, job_id)
        if not await self._committer.submit(job):
            log.info("job %s is pending already, not queued again", job.id)

    def process(
        self, name: str, handler: Handler, *, attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF
    ) -> None:
        """Run ``handler`` for jobs named ``name`` in this process's consumer workers.

        A failing job runs ``attempts`` times in all, ``backoff * 2 ** (attempt - 1)`` seconds
        apart (huey's scheduler checks every second), then becomes a dead letter.
        """
        RetryPolicy(attempts, backoff)
        self._policies[name] = (handler, attempts, float(backoff))

    # -- operators --------------------------------------------------------------------------

    def pending(self) -> list[Job]:
        """Every job not finished yet (waiting, scheduled or running), at its current attempt."""
        return [self._job(job_id, record, attempt) for job_id, record, attempt in self._current_ledger().pending()]

    def dead_letters(self) -> list[DeadLetter]:
        """Jobs that failed their last attempt, oldest failure first, with the last error."""
        return [
            DeadLetter(self._job(job_id, record, attempt), error)
            for job_id, record, attempt, error, _ in self._current_ledger().dead()
        ]

    def replay(self, job_id: str) -> bool:
        """Queue a dead job again from attempt 1, under its id; False when there is no such dead job
        (or a job with that id is pending)."""
        done = self._current_ledger().replay(job_id, self._message(job_id, 1, 0.0))
        if done < 0:
            log.warning("dead job %s not replayed: a job with that id is pending", job_id)
        return done > 0

    def discard(self, job_id: str) -> bool:
        """Delete a dead letter for good; False when there is none with that id."""
        return self._current_ledger().discard(job_id)

    def close(self) -> None:
        """Stop this process's heartbeat thread, if it runs (tests; a process that exits needs not)."""
        self._heartbeat.stop()

    # -- internals --------------------------------------------------------------------------

    def _current_ledger(self) -> Ledger:
        if self.huey.storage is not self._storage:  # e.g. huey.immediate was toggled
            self._storage = self.huey.storage
            self._ledger = _open_ledger(self.huey, self.lease)
        return self._ledger

    def _new_job(self, name: str, data: Mapping[str, Any], delay: float, job_id: str | None) -> NewJob:
        try:
            record = json.dumps({"name": name, "data": dict(data)}, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidJobData(f"data of job {name!r} is not JSON-safe: {exc}") from None
        job_id = job_id or uuid.uuid4().hex
        delay = max(0.0, float(delay))
        return NewJob(job_id, record, self._message(job_id, 1, delay), delay)

    def _message(self, job_id: str, attempt: int, delay: float) -> bytes:
        task = self._task.s(job_id, attempt, id=job_id, delay=delay or None)
        return self.huey.serialize_task(task)  # type: ignore[no-any-return]

    @staticmethod
    def _job(job_id: str, record: str, attempt: int) -> Job:
        fields = json.loads(record)
        return Job(fields["name"], fields["data"], job_id, attempt)

    def _process_token(self) -> str:
        pid = os.getpid()
        if self._token[1] != pid:
            self._token = (f"{socket.gethostname()}/{pid}/{secrets.token_hex(4)}", pid)
        return self._token[0]

    def _run(self, job_id: str, attempt: int) -> None:
        """The huey task: claim the job, run its handler, then finish, retry or bury it."""
        ledger = self._current_ledger()
        token = f"{self._process_token()}/{next(self._claims)}"
        with self._held_lock:  # before the claim, so that an interruption during it hands the job back
            self._held[token] = job_id
        try:
            record = ledger.claim(job_id, attempt, token)
            if record is None:
                log.debug("job %s attempt %d is done or runs elsewhere: message dropped", job_id, attempt)
                return
            job = self._job(job_id, record, attempt)
            policy = self._policies.get(job.name)
            try:
                if policy is None:
                    raise LookupError(f"no handler for jobs named {job.name!r} in this consumer")
                policy[0](job)
            except Exception as exc:
                self._failed(ledger, job, token, policy, exc)
            else:
                ledger.finish(job_id)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # KeyboardInterrupt from huey: hand the job back
                self._hand_back(job_id, token)
            raise
        finally:
            with self._held_lock:
                self._held.pop(token, None)

    def _failed(
        self, ledger: Ledger, job: Job, token: str, policy: tuple[Handler, int, float] | None, exc: Exception
    ) -> None:
        _, attempts, backoff = policy or (None, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF)
        if job.attempt >= attempts:
            log.error(
                "job %r (%s) failed its last attempt (%d of %d), kept as a dead letter: %r",
                job.name, job.id, job.attempt, attempts, exc, exc_info=exc,
            )  # fmt: skip
            kept = ledger.bury(job.id, token, job.attempt, repr(exc))
        else:
            wait = RetryPolicy(attempts, backoff).delay(job.attempt)
            log.warning(
                "job %r (%s) failed attempt %d of %d, retrying in %.3g s: %r",
                job.name, job.id, job.attempt, attempts, wait, exc, exc_info=exc,
            )  # fmt: skip
            kept = ledger.retry(job.id, token, job.attempt + 1, self._message(job.id, job.attempt + 1, wait), wait)
        if not kept:
            log.warning("job %s: lease lost while it ran; the consumer that holds it now decides", job.id)

    def _hand_back(self, job_id: str, token: str) -> None:
        try:
            if self._current_ledger().release(job_id, token):
                log.warning("job %s interrupted: handed back to run again on another consumer", job_id)
        except Exception:
            log.exception("job %s interrupted and not handed back: it runs again once its lease ends", job_id)

    def _on_interrupted(self, signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
        # huey's consumer stops without waiting for (or after -t seconds of) the running tasks.
        if type(task) is not self._task.task_class:
            return
        job_id = task.args[0]
        with self._held_lock:
            tokens = [token for token, held in self._held.items() if held == job_id]
            for token in tokens:
                del self._held[token]
        for token in tokens:  # only the one that holds the lease can release it
            self._hand_back(job_id, token)

    def _beat(self) -> None:
        ledger = self._current_ledger()
        with self._held_lock:
            held = [(job_id, token) for token, job_id in self._held.items()]
        if held:
            for job_id in ledger.renew(held):
                log.warning("job %s: lease lost (renewed too late); another consumer may run it too", job_id)
        for _ in range(10):
            requeued = ledger.reap(100)
            for job_id, expired in requeued:
                why = "its consumer stopped renewing its lease" if expired else "its message was lost"
                log.warning("job %s requeued: %s", job_id, why)
            if len(requeued) < 100:
                break
