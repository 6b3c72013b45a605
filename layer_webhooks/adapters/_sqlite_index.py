"""``SqliteStore``'s position indexes (the :class:`~layer_webhooks.ReceiptsStore` port): two
tables, each row expiring on its own, read and written inside the store's transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from .._layer import STATUS_RANK

SCHEMA = """
CREATE TABLE IF NOT EXISTS layer_webhooks_positions (
    idx TEXT NOT NULL, member TEXT NOT NULL, position INTEGER NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (idx, member)
);
CREATE INDEX IF NOT EXISTS layer_webhooks_positions_at ON layer_webhooks_positions (idx, position);
CREATE TABLE IF NOT EXISTS layer_webhooks_ranges (
    idx TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, user TEXT NOT NULL,
    rank INTEGER NOT NULL, expires REAL NOT NULL, PRIMARY KEY (idx, first, last, user, rank)
);
"""
#: The tables, each with an ``expires`` column that the store's sweep reads.
TABLES = ("layer_webhooks_positions", "layer_webhooks_ranges")
_NAMES = {rank: name for name, rank in STATUS_RANK.items()}


def _prune(db: sqlite3.Connection, key: str, now: float) -> None:
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE idx = ? AND expires <= ?", (key, now))


def add_position(
    db: sqlite3.Connection, key: str, position: int, member: str, now: float, expires: float
) -> dict[str, str]:
    """:meth:`~layer_webhooks.ReceiptsStore.add_position` in the transaction ``db``."""
    _prune(db, key, now)
    db.execute(
        "INSERT OR REPLACE INTO layer_webhooks_positions (idx, member, position, expires) VALUES (?, ?, ?, ?)",
        (key, member, position, expires),
    )
    rows = db.execute(
        "SELECT user, MAX(rank) FROM layer_webhooks_ranges WHERE idx = ? AND first <= ? AND last >= ? "
        "GROUP BY user ORDER BY user",
        (key, position, position),
    ).fetchall()
    return {user: _NAMES[rank] for user, rank in rows}


def add_range(
    db: sqlite3.Connection,
    key: str,
    first: int,
    last: int,
    statuses: Mapping[str, str],
    now: float,
    expires: float,
) -> list[str]:
    """:meth:`~layer_webhooks.ReceiptsStore.add_range` in the transaction ``db``."""
    _prune(db, key, now)
    rows = [(key, first, last, user, STATUS_RANK[s], expires) for user, s in statuses.items() if s in STATUS_RANK]
    db.executemany("INSERT OR REPLACE INTO layer_webhooks_ranges VALUES (?, ?, ?, ?, ?, ?)", rows)
    found = db.execute(
        "SELECT member FROM layer_webhooks_positions WHERE idx = ? AND position BETWEEN ? AND ? "
        "ORDER BY position, member",
        (key, first, last),
    ).fetchall()
    return [member for (member,) in found]
