"""The job ledger behind :class:`~layer_webhooks.adapters.huey.HueyQueue`, and its SQL form.

Huey's queue holds *messages*; the ledger holds the *jobs*, in the same storage, and is the
source of truth. A job is written with its first message in one transaction; a consumer claims
the job (a lease with a deadline) before running the handler, renews the lease while it runs,
and deletes the job when the handler returns. A job whose lease ran out, or that was never
claimed although it has been due for longer than a lease while huey's queue was empty (its
message was lost between huey's dequeue and the claim), is requeued by any consumer's
heartbeat. A message whose job is finished, held by a live lease, or at another attempt is
a stale duplicate: the claim refuses it and the message does nothing.

Each job has: ``record`` (JSON ``{"name", "data"}``, written once), ``attempt``, ``message``
(huey's message for the current attempt, pushed again on a requeue), ``owner`` (the claim
token, None while waiting) and ``deadline`` (waiting: when the reaper may presume its message
lost; running: when its lease runs out). Dead jobs keep ``record``, ``attempt``, ``error`` and
``failed_at``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from huey import Huey
    from huey.storage import SqliteStorage

    from ._commit import AsyncWriter

# A requeued job (released or reaped) goes ahead of fresh ones: it is overdue.
REQUEUE_PRIORITY = 1


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to add: its id, its record (JSON), huey's message for attempt 1, and its delay."""

    id: str
    record: str
    message: bytes
    delay: float


#: (id, record, attempt) of a job not finished yet.
Pending = tuple[str, str, int]
#: (id, record, attempt, error, failed_at) of a job that failed its last attempt.
Dead = tuple[str, str, int, str, float]


class Ledger(Protocol):
    """The jobs of one huey instance; every method is one atomic step in the shared storage.

    Times are the storage's own clock (Redis: the server's); ``lease`` is fixed per ledger.
    """

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """Write each job, attempt 1, and push its message; False for an id already pending."""
        ...

    def open_async(self) -> AsyncWriter:
        """A writer of :meth:`add` batches for the running event loop."""
        ...

    def claim(self, job_id: str, attempt: int, token: str) -> str | None:
        """Lease the job to ``token`` and return its record; None when the message is stale."""
        ...

    def renew(self, held: Sequence[tuple[str, str]]) -> list[str]:
        """Extend the leases in ``held`` (job id, token); return the ids no longer held by those tokens."""
        ...

    def finish(self, job_id: str) -> None:
        """Forget a job that ran to completion (whoever holds it now)."""
        ...

    def retry(self, job_id: str, token: str, attempt: int, message: bytes, delay: float) -> bool:
        """Unclaim a held job at ``attempt`` and push ``message`` (False: not held)."""
        ...

    def bury(self, job_id: str, token: str, attempt: int, error: str) -> bool:
        """Move a held job, which failed ``attempt``, to the dead letters (False: not held)."""
        ...

    def release(self, job_id: str, token: str) -> bool:
        """Unclaim a held job and push its message again, first in line (False: not held)."""
        ...

    def reap(self, limit: int) -> list[tuple[str, bool]]:
        """Requeue up to ``limit`` overdue jobs; return (id, whether its lease ran out)."""
        ...

    def pending(self) -> list[Pending]:
        """Every job not finished yet."""
        ...

    def dead(self) -> list[Dead]:
        """Every dead job, oldest failure first."""
        ...

    def replay(self, job_id: str, message: bytes) -> int:
        """Make a dead job pending at attempt 1: 1 done, 0 no such dead job, -1 the id is pending."""
        ...

    def discard(self, job_id: str) -> bool:
        """Delete a dead job; False when there is none with that id."""
        ...


class _ExecutorWriter:
    def __init__(self, add: Callable[[Sequence[NewJob]], list[bool]]) -> None:
        self._add = add

    async def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        return await asyncio.get_running_loop().run_in_executor(None, self._add, jobs)

    async def aclose(self) -> None:
        pass


_DDL = (
    "create table if not exists layer_webhooks_job ("
    "queue text not null, id text not null, record text not null, attempt integer not null, "
    "message blob not null, owner text, deadline real not null, primary key (queue, id))",
    "create index if not exists layer_webhooks_job_deadline on layer_webhooks_job (queue, deadline)",
    "create table if not exists layer_webhooks_dead ("
    "queue text not null, id text not null, record text not null, attempt integer not null, "
    "error text not null, failed_at real not null, primary key (queue, id))",
)

#: A transaction: a cursor, and the messages (with a priority) to push when it commits.
_Tx = tuple[sqlite3.Cursor, list[tuple[bytes, int]]]


class SqlLedger:
    """The ledger in SQL tables, written in one transaction per call.

    :meth:`for_sqlite` keeps it in SqliteHuey's own database file and pushes messages into
    huey's ``task`` table inside the same transaction; :meth:`for_memory` keeps it in an
    in-memory database beside MemoryHuey and hands messages to ``huey.enqueue`` after commit
    (so that immediate mode runs them).
    """

    def __init__(
        self,
        name: str,
        lease: float,
        transaction: Callable[[], AbstractContextManager[_Tx]],
        idle: Callable[[sqlite3.Cursor], bool],
    ) -> None:
        self._q = name
        self._lease = lease
        self._tx = transaction
        self._idle = idle
        with self._tx() as (cur, _):
            for sql in _DDL:
                cur.execute(sql)

    @classmethod
    def for_sqlite(cls, storage: SqliteStorage, lease: float) -> SqlLedger:
        """The ledger in ``storage``'s file, on its connection and lock."""
        name = storage.name

        @contextmanager
        def transaction() -> Iterator[_Tx]:
            with storage.db(commit=True) as cur:
                pushes: list[tuple[bytes, int]] = []
                yield cur, pushes
                # huey's SqliteStorage.enqueue, in this transaction (huey orders by priority desc, id).
                for message, priority in pushes:
                    cur.execute("insert into task (queue, data, priority) values (?, ?, ?)", (name, message, priority))

        def idle(cur: sqlite3.Cursor) -> bool:
            return cur.execute("select 1 from task where queue = ? limit 1", (name,)).fetchone() is None

        return cls(name, lease, transaction, idle)

    @classmethod
    def for_memory(cls, huey: Huey, lease: float) -> SqlLedger:
        """The ledger in a private in-memory database; messages go through ``huey.enqueue``."""
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        lock = threading.Lock()

        @contextmanager
        def transaction() -> Iterator[_Tx]:
            pushes: list[tuple[bytes, int]] = []
            with lock:
                cur = conn.cursor()
                cur.execute("begin")
                try:
                    yield cur, pushes
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            for message, _ in pushes:  # outside the lock: immediate mode runs the job right here
                huey.enqueue(huey.deserialize_task(message))

        return cls(huey.name, lease, transaction, lambda cur: huey.storage.queue_size() == 0)

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """See :meth:`Ledger.add`."""
        added = []
        with self._tx() as (cur, pushes):
            now = time.time()
            for job in jobs:
                cur.execute(
                    "insert or ignore into layer_webhooks_job (queue, id, record, attempt, message, owner, deadline)"
                    " values (?, ?, ?, 1, ?, null, ?)",
                    (self._q, job.id, job.record, job.message, now + job.delay + self._lease),
                )
                added.append(cur.rowcount == 1)
                if cur.rowcount == 1:
                    pushes.append((job.message, 0))
        return added

    def open_async(self) -> AsyncWriter:
        """See :meth:`Ledger.open_async`: :meth:`add` in the loop's default executor."""
        return _ExecutorWriter(self.add)

    def claim(self, job_id: str, attempt: int, token: str) -> str | None:
        """See :meth:`Ledger.claim`."""
        with self._tx() as (cur, _):
            row = cur.execute(
                "select record, attempt, owner, deadline from layer_webhooks_job where queue = ? and id = ?",
                (self._q, job_id),
            ).fetchone()
            now = time.time()
            if row is None or row[1] != attempt or (row[2] not in (None, token) and row[3] > now):
                return None
            cur.execute(
                "update layer_webhooks_job set owner = ?, deadline = ? where queue = ? and id = ?",
                (token, now + self._lease, self._q, job_id),
            )
            return str(row[0])

    def renew(self, held: Sequence[tuple[str, str]]) -> list[str]:
        """See :meth:`Ledger.renew`."""
        lost = []
        with self._tx() as (cur, _):
            deadline = time.time() + self._lease
            for job_id, token in held:
                cur.execute(
                    "update layer_webhooks_job set deadline = ? where queue = ? and id = ? and owner = ?",
                    (deadline, self._q, job_id, token),
                )
                if cur.rowcount != 1:
                    lost.append(job_id)
        return lost

    def finish(self, job_id: str) -> None:
        """See :meth:`Ledger.finish`."""
        with self._tx() as (cur, _):
            cur.execute("delete from layer_webhooks_job where queue = ? and id = ?", (self._q, job_id))

    def retry(self, job_id: str, token: str, attempt: int, message: bytes, delay: float) -> bool:
        """See :meth:`Ledger.retry`."""
        with self._tx() as (cur, pushes):
            cur.execute(
                "update layer_webhooks_job set attempt = ?, message = ?, owner = null, deadline = ?"
                " where queue = ? and id = ? and owner = ?",
                (attempt, message, time.time() + delay + self._lease, self._q, job_id, token),
            )
            if cur.rowcount != 1:
                return False
            pushes.append((message, 0))
            return True

    def bury(self, job_id: str, token: str, attempt: int, error: str) -> bool:
        """See :meth:`Ledger.bury`."""
        with self._tx() as (cur, _):
            row = cur.execute(
                "select record from layer_webhooks_job where queue = ? and id = ? and owner = ?",
                (self._q, job_id, token),
            ).fetchone()
            if row is None:
                return False
            cur.execute(
                "insert or replace into layer_webhooks_dead (queue, id, record, attempt, error, failed_at)"
                " values (?, ?, ?, ?, ?, ?)",
                (self._q, job_id, row[0], attempt, error, time.time()),
            )
            cur.execute("delete from layer_webhooks_job where queue = ? and id = ?", (self._q, job_id))
            return True

    def release(self, job_id: str, token: str) -> bool:
        """See :meth:`Ledger.release`."""
        with self._tx() as (cur, pushes):
            row = cur.execute(
                "select message from layer_webhooks_job where queue = ? and id = ? and owner = ?",
                (self._q, job_id, token),
            ).fetchone()
            if row is None:
                return False
            self._requeue(cur, pushes, job_id, bytes(row[0]))
            return True

    def _requeue(self, cur: sqlite3.Cursor, pushes: list[tuple[bytes, int]], job_id: str, message: bytes) -> None:
        cur.execute(
            "update layer_webhooks_job set owner = null, deadline = ? where queue = ? and id = ?",
            (time.time() + self._lease, self._q, job_id),
        )
        pushes.append((message, REQUEUE_PRIORITY))

    def reap(self, limit: int) -> list[tuple[str, bool]]:
        """See :meth:`Ledger.reap`."""
        select = (
            "select id, message from layer_webhooks_job where queue = ? and owner is {} null and deadline <= ?"
            " order by deadline limit ?"
        )
        with self._tx() as (cur, pushes):
            now = time.time()
            idle = self._idle(cur)
            found = [(row, True) for row in cur.execute(select.format("not"), (self._q, now, limit)).fetchall()]
            if idle:
                found += [(row, False) for row in cur.execute(select.format(""), (self._q, now, limit)).fetchall()]
            for (job_id, message), _ in found:
                self._requeue(cur, pushes, job_id, bytes(message))
            return [(row[0], expired) for row, expired in found]

    def pending(self) -> list[Pending]:
        """See :meth:`Ledger.pending`."""
        with self._tx() as (cur, _):
            rows = cur.execute(
                "select id, record, attempt from layer_webhooks_job where queue = ? order by deadline", (self._q,)
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def dead(self) -> list[Dead]:
        """See :meth:`Ledger.dead`."""
        with self._tx() as (cur, _):
            rows = cur.execute(
                "select id, record, attempt, error, failed_at from layer_webhooks_dead where queue = ?"
                " order by failed_at",
                (self._q,),
            ).fetchall()
        return [(row[0], row[1], row[2], row[3], row[4]) for row in rows]

    def replay(self, job_id: str, message: bytes) -> int:
        """See :meth:`Ledger.replay`."""
        with self._tx() as (cur, pushes):
            row = cur.execute(
                "select record from layer_webhooks_dead where queue = ? and id = ?", (self._q, job_id)
            ).fetchone()
            if row is None:
                return 0
            cur.execute(
                "insert or ignore into layer_webhooks_job (queue, id, record, attempt, message, owner, deadline)"
                " values (?, ?, ?, 1, ?, null, ?)",
                (self._q, job_id, row[0], message, time.time() + self._lease),
            )
            if cur.rowcount != 1:
                return -1
            cur.execute("delete from layer_webhooks_dead where queue = ? and id = ?", (self._q, job_id))
            pushes.append((message, 0))
            return 1

    def discard(self, job_id: str) -> bool:
        """See :meth:`Ledger.discard`."""
        with self._tx() as (cur, _):
            cur.execute("delete from layer_webhooks_dead where queue = ? and id = ?", (self._q, job_id))
            return cur.rowcount == 1
