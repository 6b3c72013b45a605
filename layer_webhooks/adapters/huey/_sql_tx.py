"""Where :class:`~._ledger_sql.SqlLedger`'s transactions run, and where its messages go.

:func:`in_sqlite`: SqliteHuey's own file, on huey's connection and lock, with the messages
inserted into huey's ``task`` table inside the same transaction, so that a job and its message
are written together or not at all. :func:`in_memory`: a private in-memory database beside
MemoryHuey, the messages handed to ``huey.enqueue`` after the commit (so that immediate mode
runs them).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from . import _sql as sql

if TYPE_CHECKING:
    from huey import Huey
    from huey.storage import SqliteStorage

#: A transaction: its cursor, and the messages (with their huey priority) to push with it.
Tx = tuple[sqlite3.Cursor, list[tuple[bytes, int]]]
#: Opens a transaction; says whether huey's queue holds a message (inside one).
Storage = tuple[Callable[[], AbstractContextManager[Tx]], Callable[[sqlite3.Cursor], bool]]

# Huey takes the highest priority first: a job handed back or reaped goes ahead of fresh ones.
FIRST = 1


def in_sqlite(storage: SqliteStorage) -> Storage:
    """Transactions in ``storage``'s file that push messages as ``SqliteStorage.enqueue`` does."""
    name = storage.name

    @contextmanager
    def transaction() -> Iterator[Tx]:
        with storage.db(commit=True) as cur:
            pushes: list[tuple[bytes, int]] = []
            yield cur, pushes
            for message, priority in pushes:
                cur.execute(sql.PUSH, (name, message, priority))

    def busy(cur: sqlite3.Cursor) -> bool:
        return cur.execute(sql.BUSY, (name,)).fetchone() is not None

    return transaction, busy


def in_memory(huey: Huey) -> Storage:
    """Transactions in a private in-memory database that hand messages to ``huey.enqueue``."""
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    lock = threading.Lock()

    @contextmanager
    def transaction() -> Iterator[Tx]:
        pushes: list[tuple[bytes, int]] = []
        with lock:
            cur = conn.execute("begin")
            try:
                yield cur, pushes
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        for message, priority in pushes:  # outside the lock: immediate mode runs the job right here
            task = huey.deserialize_task(message)
            task.priority = priority or None
            huey.enqueue(task)

    return transaction, lambda cur: huey.storage.queue_size() > 0
