"""``RedisLedger``: the :class:`~layer_webhooks.jobs._ledger.JobLedger` in RedisHuey's Redis.

Every write is one Lua script, ``lua/<operation>.lua``, whose header lists the keys it touches
(all beside huey's own: ``huey.layer_webhooks.<name>.<key>``) and its arguments. Messages are
pushed into huey's queue list the way ``RedisStorage.enqueue`` does (``LPUSH``; huey pops
from the right, so a requeue goes first in line with ``RPUSH``). Times are the Redis server's
(``TIME``), so that consumers on other machines agree on who is alive, unless a clock is given.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import redis
from huey.storage import RedisPriorityQueue, RedisStorage

from ...errors import ConfigurationError
from ...jobs._ledger import Dead, NewJob, Pending
from ._batches import Taken
from ._commit import AsyncWriter, MessageFor
from ._message import Shape
from ._redis_async import AsyncAdder, async_connection
from ._redis_sync import SyncAdder

#: The keys each script takes, in its KEYS order (see the script's header).
SCRIPTS = {
    "add": ("record", "attempt", "message", "waiting", "queue"),
    "claim": ("record", "attempt", "owner", "waiting", "workers", "message", "queue"),
    "take": ("record", "attempt", "owner", "waiting", "workers", "message", "queue", "took"),
    "finish": ("record", "attempt", "message", "owner", "waiting"),
    "retry": ("attempt", "message", "owner", "waiting", "queue"),
    "bury": ("record", "attempt", "message", "owner", "waiting", "dead", "failure"),
    "release": ("message", "owner", "waiting", "queue"),
    "release_held": ("message", "owner", "waiting", "queue"),
    "beat": ("workers",),
    "reap": ("message", "owner", "waiting", "workers", "queue", "took"),
    "replay": ("record", "attempt", "message", "waiting", "dead", "failure", "queue"),
    "discard": ("dead", "failure"),
}


@functools.cache
def source(script: str) -> str:
    """The Lua source of ``script``, shipped beside this module."""
    return (resources.files("layer_webhooks.adapters.huey") / "lua" / f"{script}.lua").read_text("utf-8")


# Where a job's id, record and message end in add.lua's argument, and its delay (see its header).
_JOB_HEAD = struct.Struct(">IIId")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisLedger:
    """The jobs of ``storage`` (a huey ``RedisStorage``) on its client; ``now`` None: the server's clock.

    See :class:`JobLedger` for each method.
    """

    def __init__(
        self, storage: RedisStorage, lease: float, message_for: MessageFor, now: Callable[[], float] | None
    ) -> None:
        if isinstance(storage, RedisPriorityQueue):
            raise ConfigurationError("HueyQueue needs RedisHuey (a list queue), not a priority Redis storage")
        self._conn = storage.conn
        self._lease, self._message_for, self._now = lease, message_for, now
        prefix = f"huey.layer_webhooks.{storage.name}."
        self._keys = {name: prefix + name for names in SCRIPTS.values() for name in names}
        self._keys["queue"] = storage.queue_key
        shas = {name: self._conn.register_script(source(name)).sha for name in SCRIPTS}
        self._heads = {name: (shas[name], len(keys), *(self._keys[k] for k in keys)) for name, keys in SCRIPTS.items()}
        self._adder = SyncAdder(self._conn.connection_pool, self._heads["add"], source("add"), self.add_args)

    def _run(self, script: str, *args: Any) -> Any:
        # EVALSHA with its sha, key count and keys built once (redis-py's Script costs a few us a call).
        try:
            return self._conn.execute_command("EVALSHA", *self._heads[script], *args)
        except redis.exceptions.NoScriptError:  # a Redis restarted or flushed: load, then run
            self._conn.script_load(source(script))
            return self._conn.execute_command("EVALSHA", *self._heads[script], *args)

    def _t(self) -> float | str:
        return "" if self._now is None else self._now()

    def add_args(self, jobs: Sequence[NewJob]) -> list[Any]:
        """The arguments of ``add.lua`` for ``jobs``: the clock, the lease, and the jobs packed
        into one argument (each one's message made here; see the script's header)."""
        parts: list[bytes] = []
        for job in jobs:
            job_id, record = job.id.encode(), job.record.encode()
            message = self._message_for(job.id, 1, job.delay)
            ends = len(job_id), len(job_id) + len(record)
            parts += (_JOB_HEAD.pack(*ends, ends[1] + len(message), job.delay), job_id, record, message)
        return [self._t(), self._lease, b"".join(parts)]

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """See :meth:`JobLedger.add`: one script call, one round trip, for the whole batch (on a
        connection of this ledger's own: see ``_redis_sync``)."""
        return self._adder.add(jobs)

    def open_async(self) -> AsyncWriter:
        """A writer of :meth:`add` batches on a ``redis.asyncio`` connection like huey's own, for this loop."""
        connection = async_connection(self._conn.connection_pool)
        return AsyncAdder(connection, self._heads["add"], source("add"), self.add_args)

    def claim(self, job_id: str, attempt: int, worker: str) -> str | None:
        """See :meth:`JobLedger.claim`."""
        return self.finish_and_claim((), job_id, attempt, worker)[0]

    def finish_and_claim(
        self, finished: Sequence[str], job_id: str, attempt: int, worker: str
    ) -> tuple[str | None, bool]:
        """See :meth:`JobLedger.finish_and_claim`: one script call; the hint: huey's queue is not empty."""
        record, queued = self._run("claim", self._t(), self._lease, job_id, attempt, worker, *finished)
        return (None if record is None else _text(record)), queued > 0

    def take(self, finished: Sequence[str], worker: str, limit: int, shape: Shape, thread: str, token: str) -> Taken:
        """Finish ``finished``, then pop up to ``limit`` messages from huey's queue and claim the
        runs they name, for ``worker``: one script call (``take.lua``). See :class:`Taken`."""
        args = (self._t(), self._lease, worker, limit, *shape, thread, token, *finished)
        claimed, held, queued, blocked = self._run("take", *args)
        runs = [(_text(claimed[i]), int(claimed[i + 1]), _text(claimed[i + 2])) for i in range(0, len(claimed), 3)]
        return Taken(runs, [_text(job_id) for job_id in held], int(queued), bool(blocked))

    def release_held(self, worker: str, keep: Sequence[str]) -> list[str]:
        """Hand back every job ``worker`` holds but those in ``keep``; return their ids."""
        return [_text(job_id) for job_id in self._run("release_held", self._t(), self._lease, worker, *keep)]

    def finish(self, job_id: str) -> None:
        """See :meth:`JobLedger.finish`."""
        self._run("finish", job_id)

    def retry(self, job_id: str, worker: str, attempt: int, delay: float) -> bool:
        """See :meth:`JobLedger.retry`."""
        message = self._message_for(job_id, attempt, delay)
        return bool(self._run("retry", self._t(), self._lease, job_id, worker, attempt, delay, message))

    def bury(self, job_id: str, worker: str, attempt: int, error: str) -> bool:
        """See :meth:`JobLedger.bury`."""
        return bool(self._run("bury", self._t(), job_id, worker, attempt, error))

    def release(self, job_id: str, worker: str) -> bool:
        """See :meth:`JobLedger.release`."""
        return bool(self._run("release", self._t(), self._lease, job_id, worker))

    def beat(self, worker: str) -> None:
        """See :meth:`JobLedger.beat`."""
        self._run("beat", self._t(), worker)

    def reap(self, limit: int) -> list[tuple[str, bool]]:
        """See :meth:`JobLedger.reap`."""
        out = self._run("reap", self._t(), self._lease, limit)
        return [(_text(job_id), bool(expired)) for job_id, expired in zip(out[::2], out[1::2], strict=True)]

    def pending(self) -> list[Pending]:
        """See :meth:`JobLedger.pending`: running jobs first, then waiting ones, soonest ready first."""
        keys = self._keys
        with self._conn.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys["record"]).hgetall(keys["attempt"]).zrange(keys["waiting"], 0, -1, withscores=True)
            records, attempts, waiting = pipe.execute()
        order = {job_id: score for job_id, score in waiting}
        ids = sorted(records, key=lambda job_id: order.get(job_id, float("-inf")))
        return [Pending(_text(job_id), _text(records[job_id]), int(attempts.get(job_id, 1))) for job_id in ids]

    def dead(self) -> list[Dead]:
        """See :meth:`JobLedger.dead`."""
        with self._conn.pipeline(transaction=True) as pipe:
            records, failures = pipe.hgetall(self._keys["dead"]).hgetall(self._keys["failure"]).execute()
        dead = []
        for job_id, record in records.items():
            attempt, error, failed_at = json.loads(failures.get(job_id, b'[0, "", 0]'))
            dead.append(Dead(_text(job_id), _text(record), int(attempt), str(error), float(failed_at)))
        return sorted(dead, key=lambda item: item.failed_at)

    def replay(self, job_id: str) -> int:
        """See :meth:`JobLedger.replay`."""
        return int(self._run("replay", self._t(), self._lease, job_id, self._message_for(job_id, 1, 0.0)))

    def discard(self, job_id: str) -> bool:
        """See :meth:`JobLedger.discard`."""
        return bool(self._run("discard", job_id))
