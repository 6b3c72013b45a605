"""``SqlLedger``: the :class:`~layer_webhooks.jobs._ledger.JobLedger` in SQL tables (see :mod:`._sql`).

One transaction per call (see :mod:`._sql_tx`: in SqliteHuey's own file, with huey's messages
written in the same transaction; or in memory beside MemoryHuey).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from ...jobs._ledger import Dead, NewJob, Pending
from . import _sql as sql
from ._commit import AsyncWriter, ExecutorWriter, MessageFor
from ._sql_tx import FIRST, Tx, in_memory, in_sqlite

if TYPE_CHECKING:
    from huey import Huey
    from huey.storage import SqliteStorage


class SqlLedger:
    """The jobs of huey ``name`` in SQL, on the clock ``now``; see :class:`JobLedger` for each method."""

    def __init__(
        self,
        name: str,
        lease: float,
        message_for: MessageFor,
        now: Callable[[], float],
        transaction: Callable[[], AbstractContextManager[Tx]],
        busy: Callable[[sqlite3.Cursor], bool],
    ) -> None:
        self._q, self._lease, self._message_for, self._now = name, lease, message_for, now
        self._tx, self._busy = transaction, busy
        with self._tx() as (cur, _):
            for statement in sql.DDL:
                cur.execute(statement)

    @classmethod
    def for_sqlite(
        cls, storage: SqliteStorage, lease: float, message_for: MessageFor, now: Callable[[], float]
    ) -> SqlLedger:
        """The ledger in ``storage``'s file, on its connection and lock."""
        return cls(storage.name, lease, message_for, now, *in_sqlite(storage))

    @classmethod
    def for_memory(cls, huey: Huey, lease: float, message_for: MessageFor, now: Callable[[], float]) -> SqlLedger:
        """The ledger in a private in-memory database; messages go through ``huey.enqueue``."""
        return cls(huey.name, lease, message_for, now, *in_memory(huey))

    def open_async(self) -> AsyncWriter:
        """A writer of :meth:`add` batches for an event loop: :meth:`add` in its default executor."""
        return ExecutorWriter(self.add)

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """See :meth:`JobLedger.add`."""
        added = []
        with self._tx() as (cur, pushes):
            now = self._now()
            for job in jobs:
                message = self._message_for(job.id, 1, job.delay)
                cur.execute(sql.ADD, (self._q, job.id, job.record, message, now + job.delay + self._lease))
                added.append(cur.rowcount == 1)
                if added[-1]:
                    pushes.append((message, 0))
        return added

    def claim(self, job_id: str, attempt: int, worker: str) -> str | None:
        """See :meth:`JobLedger.claim`."""
        return self.finish_and_claim((), job_id, attempt, worker)[0]

    def finish_and_claim(
        self, finished: Sequence[str], job_id: str, attempt: int, worker: str
    ) -> tuple[str | None, bool]:
        """See :meth:`JobLedger.finish_and_claim`: one transaction (no hint: huey's queue is not counted)."""
        with self._tx() as (cur, _):
            for done in finished:
                cur.execute(sql.FINISH, (self._q, done))
            now = self._now()
            cur.execute(sql.BEAT, (self._q, worker, now))
            row = cur.execute(sql.JOB, (self._q, job_id)).fetchone()
            if row is None or row[1] != attempt or (row[3] is not None and row[3] + self._lease > now):
                return None, False  # row[3]: the beat of the worker running it (None: not running, or gone)
            cur.execute(sql.CLAIM, (worker, self._q, job_id))
            return str(row[0]), False

    def finish(self, job_id: str) -> None:
        """See :meth:`JobLedger.finish`."""
        with self._tx() as (cur, _):
            cur.execute(sql.FINISH, (self._q, job_id))

    def retry(self, job_id: str, worker: str, attempt: int, delay: float) -> bool:
        """See :meth:`JobLedger.retry`."""
        with self._tx() as (cur, pushes):
            if cur.execute(sql.HELD, (self._q, job_id, worker)).fetchone() is None:
                return False
            message = self._message_for(job_id, attempt, delay)
            cur.execute(sql.RETRY, (attempt, message, self._now() + delay + self._lease, self._q, job_id))
            pushes.append((message, 0))
            return True

    def bury(self, job_id: str, worker: str, attempt: int, error: str) -> bool:
        """See :meth:`JobLedger.bury`."""
        with self._tx() as (cur, _):
            row = cur.execute(sql.HELD, (self._q, job_id, worker)).fetchone()
            if row is None:
                return False
            cur.execute(sql.BURY, (self._q, job_id, row[0], attempt, error, self._now()))
            cur.execute(sql.FINISH, (self._q, job_id))
            return True

    def release(self, job_id: str, worker: str) -> bool:
        """See :meth:`JobLedger.release`."""
        with self._tx() as (cur, pushes):
            row = cur.execute(sql.HELD, (self._q, job_id, worker)).fetchone()
            if row is None:
                return False
            cur.execute(sql.REQUEUE, (self._now() + self._lease, self._q, job_id))
            pushes.append((bytes(row[2]), FIRST))
            return True

    def beat(self, worker: str) -> None:
        """See :meth:`JobLedger.beat`."""
        with self._tx() as (cur, _):
            cur.execute(sql.BEAT, (self._q, worker, self._now()))

    def reap(self, limit: int) -> list[tuple[str, bool]]:
        """See :meth:`JobLedger.reap`."""
        with self._tx() as (cur, pushes):
            now = self._now()
            busy = self._busy(cur)
            found = [(row, True) for row in cur.execute(sql.ABANDONED, (self._lease, now, self._q, limit))]
            if not busy and len(found) < limit:
                found += [(row, False) for row in cur.execute(sql.LOST, (self._q, now, limit - len(found)))]
            for (job_id, message), _ in found:
                cur.execute(sql.REQUEUE, (now + self._lease, self._q, job_id))
                pushes.append((bytes(message), FIRST))
            cur.execute(sql.FORGET_WORKERS, (self._q, self._lease, now))
        return [(row[0], expired) for row, expired in found]

    def pending(self) -> list[Pending]:
        """See :meth:`JobLedger.pending`."""
        with self._tx() as (cur, _):
            return [Pending(*row) for row in cur.execute(sql.PENDING, (self._q,))]

    def dead(self) -> list[Dead]:
        """See :meth:`JobLedger.dead`."""
        with self._tx() as (cur, _):
            return [Dead(*row) for row in cur.execute(sql.DEAD, (self._q,))]

    def replay(self, job_id: str) -> int:
        """See :meth:`JobLedger.replay`."""
        with self._tx() as (cur, pushes):
            row = cur.execute(sql.DEAD_RECORD, (self._q, job_id)).fetchone()
            if row is None:
                return 0
            message = self._message_for(job_id, 1, 0.0)
            cur.execute(sql.ADD, (self._q, job_id, row[0], message, self._now() + self._lease))
            if cur.rowcount != 1:
                return -1
            cur.execute(sql.DISCARD, (self._q, job_id))
            pushes.append((message, 0))
            return 1

    def discard(self, job_id: str) -> bool:
        """See :meth:`JobLedger.discard`."""
        with self._tx() as (cur, _):
            return cur.execute(sql.DISCARD, (self._q, job_id)).rowcount == 1
