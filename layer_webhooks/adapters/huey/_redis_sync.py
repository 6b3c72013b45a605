"""The blocking side of ``RedisLedger``'s writes: ``add.lua`` on one connection of the process's own.

``HueyQueue.enqueue`` writes one batch at a time per process (its group commit has one writer),
so the batches go over one connection held here rather than through huey's client and pool,
whose bookkeeping (a lock to take and give back a connection, the client's wrappers around each
command) costs about a third of a write's CPU. The connection has the pool's settings; it is
made on first use and again in a forked process, and, as the pool does, one that Redis closed
while idle is opened again before a command. A command that fails closes it (redis-py's
connection does so on any error but a reply from Redis), so the next batch connects again. It
does not retry: a failed batch fails each ``enqueue`` in it with ``QueueError`` (a 503, which
Layer retries), and ``add.lua`` is idempotent per job id should the caller write it again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import redis

from ...jobs._ledger import NewJob


class SyncAdder:
    """Batches of new jobs written by ``add.lua`` (``head``: its sha, key count and keys; ``lua``:
    its source) on one connection to the server of ``pool``, one batch at a time.

    ``add_args(jobs)`` gives the script's arguments for a batch (see ``RedisLedger.add_args``).
    """

    def __init__(
        self,
        pool: redis.ConnectionPool,
        head: Sequence[Any],
        lua: str,
        add_args: Callable[[Sequence[NewJob]], list[Any]],
    ) -> None:
        self._pool, self._head, self._lua, self._add_args = pool, tuple(head), lua, add_args
        self._lock = threading.Lock()
        self._connection: redis.connection.AbstractConnection | None = None
        self._pid = 0

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """As ``RedisLedger.add``: one script call, one round trip, for the whole batch."""
        args = self._add_args(jobs)
        with self._lock:
            try:
                flags = self._call("EVALSHA", *self._head, *args)
            except redis.exceptions.NoScriptError:  # a Redis restarted or flushed: load, then run
                self._call("SCRIPT", "LOAD", self._lua)
                flags = self._call("EVALSHA", *self._head, *args)
        return [flag == ord("1") for flag in flags]

    def _call(self, *command: Any) -> Any:
        connection = self._connection
        if connection is None or self._pid != os.getpid():  # first use, or a forked child
            pool = self._pool
            connection = self._connection = pool.connection_class(**pool.connection_kwargs)
            self._pid = os.getpid()
        try:
            stale = connection.is_connected and connection.can_read()  # EOF or a stray reply
        except (redis.exceptions.ConnectionError, OSError):
            stale = True
        if stale:
            connection.disconnect()
        connection.send_command(*command)  # connects first when closed
        return connection.read_response()
