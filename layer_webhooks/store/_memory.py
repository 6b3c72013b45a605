"""The state-store port and the in-memory store."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

#: A JSON-safe value: what a store keeps.
JSONValue = Any

#: Recipient statuses in the order they progress; a merge never moves a user backwards.
STATUS_RANK: Mapping[str, int] = {"sent": 1, "delivered": 2, "read": 3}


def merge_status_maps(current: Mapping[str, str], update: Mapping[str, str]) -> dict[str, str]:
    """``current`` with each user's status raised to ``update``'s where that is further along."""
    merged = dict(current)
    for user, status in update.items():
        rank = STATUS_RANK.get(status)
        if rank is not None and rank > STATUS_RANK.get(merged.get(user, ""), 0):
            merged[user] = status
    return merged


@runtime_checkable
class Store(Protocol):
    """Small shared state with expiry: de-duplication claims, receipts state.

    Values are JSON-safe; ``ttl`` is in seconds on the store's clock. Every method is atomic
    with respect to the others, across every process that shares the store.
    """

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """Set ``key`` to ``value`` for ``ttl`` seconds only if it is absent (or expired).

        Return True when this call set it, False when it was already there.
        """
        ...

    def get(self, key: str) -> JSONValue | None:
        """The value of ``key``, or None when absent or expired."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing an absent key is not an error."""
        ...

    def merge_statuses(
        self, key: str, statuses: Mapping[str, str], ttl: float, *, message: JSONValue | None = None
    ) -> None:
        """Merge per-user ``statuses`` into the record at ``key``, monotonically.

        Each user keeps the furthest of its stored and given status (sent < delivered < read);
        unknown statuses are ignored. An absent record is created to live ``ttl`` seconds; an
        existing one keeps its expiry, unless ``message`` is given: then the message is stored
        in the record and the expiry is set to ``ttl`` from now.
        """
        ...

    def take(self, key: str) -> JSONValue | None:
        """Return the record at ``key`` and delete it, in one atomic step (None when absent).

        A record written by :meth:`merge_statuses` reads ``{"message": ..., "statuses": {...}}``
        (``message`` None until one was given).
        """
        ...


class MemoryStore:
    """A :class:`Store` in this process's memory: thread-safe, expiring, lost with the process.

    De-duplication through it covers one process only; share a ``RedisStore`` between
    processes. Expired keys are swept as new ones arrive, so memory stays bounded by what
    is live.
    """

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._data: dict[str, tuple[JSONValue, float]] = {}
        self._expiry: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def _sweep(self, now: float) -> None:
        expiry, data = self._expiry, self._data
        while expiry and expiry[0][0] <= now:
            deadline, key = heapq.heappop(expiry)
            item = data.get(key)
            if item is not None and item[1] == deadline:
                del data[key]

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """See :meth:`Store.add_if_absent`."""
        now = self._now()
        deadline = now + ttl
        with self._lock:
            item = self._data.get(key)
            if item is not None and item[1] > now:
                return False
            self._data[key] = (value, deadline)
            heapq.heappush(self._expiry, (deadline, key))
            if self._expiry[0][0] <= now:
                self._sweep(now)
            return True

    def get(self, key: str) -> JSONValue | None:
        """See :meth:`Store.get`."""
        item = self._data.get(key)
        if item is None or item[1] <= self._now():
            return None
        return item[0]

    def delete(self, key: str) -> None:
        """See :meth:`Store.delete`."""
        with self._lock:
            self._data.pop(key, None)

    def merge_statuses(
        self, key: str, statuses: Mapping[str, str], ttl: float, *, message: JSONValue | None = None
    ) -> None:
        """See :meth:`Store.merge_statuses`."""
        now = self._now()
        with self._lock:
            item = self._data.get(key)
            if item is None or item[1] <= now:
                item = ({"message": None, "statuses": {}}, now + ttl)
            old, deadline = item
            record = {"message": old["message"], "statuses": merge_status_maps(old["statuses"], statuses)}
            if message is not None:
                record["message"] = message
                deadline = now + ttl
            self._data[key] = (record, deadline)
            heapq.heappush(self._expiry, (deadline, key))

    def take(self, key: str) -> JSONValue | None:
        """See :meth:`Store.take`."""
        now = self._now()
        with self._lock:
            item = self._data.pop(key, None)
        if item is None or item[1] <= now:
            return None
        return item[0]

    async def add_if_absent_async(self, key: str, value: JSONValue, ttl: float) -> bool:
        """As :meth:`add_if_absent`; never waits on I/O."""
        return self.add_if_absent(key, value, ttl)

    async def delete_async(self, key: str) -> None:
        """As :meth:`delete`; never waits on I/O."""
        self.delete(key)

    def __len__(self) -> int:
        now = self._now()
        with self._lock:
            self._sweep(now)
            return sum(1 for _, deadline in self._data.values() if deadline > now)
