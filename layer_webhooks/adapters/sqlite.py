"""``SqliteStore``: the zero-setup :class:`~layer_webhooks.Store`, in one SQLite file.

::

    from layer_webhooks.adapters.sqlite import SqliteStore

    store = SqliteStore("layer-state.db")       # share the file between processes on one machine

Every process that opens the same file shares the state; each call is one transaction
(``BEGIN IMMEDIATE`` where it reads before it writes), so calls are atomic across processes.
Needs only the standard library.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError
from ..receipts._rules import merge_status_maps
from ..store._port import JSONValue
from . import _sqlite_index as _index

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS layer_webhooks_store (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS layer_webhooks_store_expires ON layer_webhooks_store (expires);
"""
_TABLES = ("layer_webhooks_store", *_index.TABLES)
_SWEEP_EVERY = 256


class SqliteStore:
    """A :class:`~layer_webhooks.Store` and :class:`~layer_webhooks.ReceiptsStore` in an SQLite
    file, expiring on ``now`` (seconds).

    Safe across threads (they share one connection, one call at a time) and processes on one
    machine (a process opens its own connection, also after a fork). SQLite errors surface as
    :class:`~layer_webhooks.StoreError` (answered 503).
    """

    def __init__(self, path: str | Path, *, now: Callable[[], float] = time.time, timeout: float = 10.0) -> None:
        self.path = str(path)
        self._now = now
        self._timeout = timeout
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._writes = 0
        try:
            with self._lock:
                self._connection().executescript(_SCHEMA + _index.SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path!r} cannot be opened: {exc}") from exc

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    def _connection(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            self._db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._pid = os.getpid()
        return self._db

    @contextmanager
    def _transaction(self, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                db = self._connection()
                db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite store {self.path!r} failed: {exc}") from exc

    def _live(self, db: sqlite3.Connection, key: str, now: float) -> str | None:
        row = db.execute("SELECT value FROM layer_webhooks_store WHERE key = ? AND expires > ?", (key, now)).fetchone()
        return row[0] if row else None

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """See :meth:`layer_webhooks.Store.add_if_absent`."""
        now = self._now()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO layer_webhooks_store (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
                "WHERE layer_webhooks_store.expires <= ?",
                (key, json.dumps(value), now + ttl, now),
            )
            added = cursor.rowcount == 1
            self._writes += 1
            if self._writes % _SWEEP_EVERY == 0:
                for table in _TABLES:
                    db.execute(f"DELETE FROM {table} WHERE expires <= ?", (now,))
        return added

    def get(self, key: str) -> JSONValue | None:
        """See :meth:`layer_webhooks.Store.get`."""
        with self._transaction(immediate=False) as db:
            value = self._live(db, key, self._now())
        return None if value is None else json.loads(value)

    def delete(self, key: str) -> None:
        """See :meth:`layer_webhooks.Store.delete`."""
        with self._transaction() as db:
            db.execute("DELETE FROM layer_webhooks_store WHERE key = ?", (key,))

    def merge_statuses(
        self, key: str, statuses: Mapping[str, str], ttl: float, *, message: JSONValue | None = None
    ) -> None:
        """See :meth:`layer_webhooks.ReceiptsStore.merge_statuses`."""
        now = self._now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT value, expires FROM layer_webhooks_store WHERE key = ? AND expires > ?", (key, now)
            ).fetchone()
            record, expires = (json.loads(row[0]), row[1]) if row else ({"message": None, "statuses": {}}, now + ttl)
            record["statuses"] = merge_status_maps(record["statuses"], statuses)
            if message is not None:
                record["message"] = message
                expires = now + ttl
            db.execute(
                "INSERT OR REPLACE INTO layer_webhooks_store (key, value, expires) VALUES (?, ?, ?)",
                (key, json.dumps(record), expires),
            )

    def add_position(self, key: str, position: int, member: str, ttl: float) -> dict[str, str]:
        """See :meth:`layer_webhooks.ReceiptsStore.add_position`."""
        now = self._now()
        with self._transaction() as db:
            return _index.add_position(db, key, position, member, now, now + ttl)

    def add_range(self, key: str, first: int, last: int, statuses: Mapping[str, str], ttl: float) -> list[str]:
        """See :meth:`layer_webhooks.ReceiptsStore.add_range`."""
        now = self._now()
        with self._transaction() as db:
            return _index.add_range(db, key, first, last, statuses, now, now + ttl)

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
