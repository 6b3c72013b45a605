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

The job lifecycle is the core's (:class:`~layer_webhooks.jobs._lifecycle.LedgerQueue`); this
adapter adds huey's task, the startup hook that starts each consumer process's heartbeat, the
hand-back of interrupted jobs, and a ledger inside huey's own storage. Jobs run at least once:
a job whose consumer process went silent runs again once its lease runs out, so a handler may
see one ``job.id`` twice. ``RedisHuey``, ``SqliteHuey`` and ``MemoryHuey`` are supported. See
docs/huey.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ...errors import ConfigurationError, ConfigurationTypeError, MissingExtra

try:
    from huey import Huey
    from huey.signals import SIGNAL_INTERRUPTED
    from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
except ImportError as exc:
    raise MissingExtra("layer_webhooks.adapters.huey", "huey", exc.name) from exc

from ...jobs._ledger import JobLedger, NewJob
from ...jobs._lifecycle import LedgerQueue
from ._batches import Batches
from ._commit import HueyLedger, LoopCommitter
from ._heartbeat import Heartbeat, worker_name
from ._ledger_sql import SqlLedger
from ._message import Messages
from ._thread_commit import ThreadCommitter

__all__ = ["TASK_NAME", "HueyQueue"]

log = logging.getLogger("layer_webhooks.huey")

#: The one huey task every job runs through. Huey keys tasks by module and name, so this
#: module's path and this name are part of the stored messages' format: never change them.
TASK_NAME = "run_job"

# Rounds of reap(_REAP_LIMIT) per heartbeat: bounded, so that a beat never runs long.
_REAP_LIMIT, _REAP_ROUNDS = 100, 10
# Seconds between two idle looks: a worker's last finish waits for its next claim at most twice this.
_LINGER = 0.05
# A batch holds about this many seconds of work (by the handlers' recent run times), so that slow
# jobs are not held by one thread while others idle; and a huey task takes at most _ROUNDS batches
# before going back to huey's loop (its stop flag, its other tasks).
_BATCH_SECONDS, _ROUNDS = 0.02, 8


class HueyQueue(LedgerQueue):
    """A :class:`~layer_webhooks.Queue` on ``huey``: durable jobs, delays, retries, dead letters.

    One per huey instance; create it (and register handlers) in the module the consumer
    loads. Each consumer process beats every ``lease / 3`` s; the jobs of a process silent for
    ``lease`` s are run again elsewhere. ``now`` is the ledger's clock (None: Redis's own
    ``TIME``, so that machines agree; the machine's for SQLite and memory). Concurrent
    ``enqueue`` calls from the threads of a process share one write, as concurrent
    ``enqueue_async`` calls from one event loop do. On ``RedisHuey``, a consumer thread that has
    run its job while more wait takes up to ``batch`` more straight from huey's queue in one
    call, about 20 ms of work by recent run times (1: one job per huey task; see docs/huey.md).
    """

    def __init__(
        self, huey: Huey, *, lease: float = 30.0, batch: int = 16, now: Callable[[], float] | None = None
    ) -> None:
        if not isinstance(huey, Huey):
            raise ConfigurationTypeError(
                "huey", "a Huey instance such as RedisHuey('my-app', url='redis://...')", huey,
                "HueyQueue takes the huey instance its consumer runs, not a URL",
            )  # fmt: skip
        if not lease > 0:
            raise ConfigurationError("lease must be > 0 seconds")
        if type(batch) is not int or batch < 1:
            raise ConfigurationError(
                f"batch={batch!r}: it must be an int >= 1, the jobs a worker thread takes at once (1: one at a time)"
            )
        self.huey = huey
        self.lease = float(lease)
        self.batch = batch
        self._now = now
        self._opened = (huey.storage, self._open())
        super().__init__(self._opened[1])

        def run_job(job_id: str, attempt: int) -> None:
            worker, batches = worker_name(), self._batches
            started = time.monotonic()
            self.run(job_id, attempt, worker)
            batches.timed(time.monotonic() - started)
            if self.batch > 1 and self.finishes_waiting():
                batches.drain(self, job_id, worker, self.batch)  # more jobs wait: take them in batches

        try:
            self._task = huey.task(name=TASK_NAME)(run_job)
        except ValueError:
            raise ConfigurationError(f"huey {huey.name!r} already has a HueyQueue") from None
        self._messages = Messages(huey, self._task)
        self._committer = LoopCommitter(lambda: self._current().open_async())
        self._thread_committer = ThreadCommitter(lambda jobs: self._current().add(jobs))
        self._batches = Batches(self._messages, _BATCH_SECONDS, _ROUNDS)
        self._heartbeat = Heartbeat(self._beat, self.lease / 3)
        self._flusher = Heartbeat(lambda: self.finish_deferred(worker_name(), idle=True), _LINGER)
        huey.on_startup("layer_webhooks_heartbeat")(self._start_worker)
        huey.on_shutdown("layer_webhooks_finish")(lambda: self.finish_deferred(worker_name()))
        huey.signal(SIGNAL_INTERRUPTED)(self._on_interrupted)

    def __repr__(self) -> str:
        return f"HueyQueue({type(self.huey).__name__}({self.huey.name!r}), lease={self.lease})"

    @property
    def ledger(self) -> JobLedger:
        """The ledger in the storage huey has now (toggling ``huey.immediate`` swaps it)."""
        return self._current()

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        """As :meth:`enqueue`, without blocking the event loop: concurrent calls share one write.

        :raises InvalidJobData: ``data`` is not JSON-safe (nothing is written).
        :raises QueueError: the storage could not be written.
        """
        job = self.new_job(name, data, delay=delay, job_id=job_id)
        if not await self._committer.submit(job):
            log.info("job %s is pending already, not queued again", job.id)

    def _store(self, job: NewJob) -> bool:
        # enqueue: the jobs of threads calling at once share one write.
        return self._thread_committer.submit(job)

    def close(self) -> None:
        """Stop this process's heartbeat thread, if it runs (tests; a process that exits needs not)."""
        self._heartbeat.stop()
        self._flusher.stop()

    # -- internals --------------------------------------------------------------------------

    def _open(self) -> HueyLedger:
        storage, clock = self.huey.storage, self._now or time.time
        if isinstance(storage, RedisStorage):
            from ._ledger_redis import RedisLedger

            return RedisLedger(storage, self.lease, self._message, self._now)
        if type(storage) is SqliteStorage:
            return SqlLedger.for_sqlite(storage, self.lease, self._message, clock)
        if isinstance(storage, MemoryStorage):
            return SqlLedger.for_memory(self.huey, self.lease, self._message, clock)
        raise ConfigurationError(f"HueyQueue needs RedisHuey, SqliteHuey or MemoryHuey, not {type(storage).__name__}")

    def _current(self) -> HueyLedger:
        if self.huey.storage is not self._opened[0]:
            self._opened = (self.huey.storage, self._open())
        return self._opened[1]

    def _message(self, job_id: str, attempt: int, delay: float) -> bytes:
        return self._messages(job_id, attempt, delay)  # huey's bytes, without a pickle where it can

    def _start_worker(self) -> None:
        # In each worker (a thread, or a process with -k process), before its first task.
        self.defer_finishes(worker_name())
        self._heartbeat.start()
        self._flusher.start()

    def _beat(self) -> None:
        ledger = self._current()
        ledger.beat(worker_name())
        self.settle(worker_name())  # jobs held after a lost reply: no lease would ever free them
        self._batches.settle(self, ledger, worker_name())  # and the unknown jobs of a take's lost reply
        for _ in range(_REAP_ROUNDS):
            reaped = ledger.reap(_REAP_LIMIT)
            for job_id, expired in reaped:
                why = "its consumer process went silent" if expired else "its message was lost"
                log.warning("job %s requeued: %s", job_id, why)
            if len(reaped) < _REAP_LIMIT:
                break

    def _on_interrupted(self, signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
        # huey's consumer stops without waiting for (or after -t seconds of) the running tasks.
        if type(task) is self._task.task_class:
            for job_id in self._batches.interrupted(task.args[0]):
                self.hand_back(job_id, worker_name())
