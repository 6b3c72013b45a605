"""``MemoryStore``: the state store in this process's memory."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping

from .._layer import STATUS_RANK
from ..receipts._rules import merge_status_maps
from ._port import JSONValue

_NAMES = {rank: name for name, rank in STATUS_RANK.items()}


class _Index:
    """A position index: ``members`` ``{member: (position, deadline)}``, ``ranges``
    ``{(first, last, user, rank): deadline}``."""

    __slots__ = ("members", "ranges")

    def __init__(self) -> None:
        self.members: dict[str, tuple[int, float]] = {}
        self.ranges: dict[tuple[int, int, str, int], float] = {}

    def prune(self, now: float) -> None:
        self.members = {m: entry for m, entry in self.members.items() if entry[1] > now}
        self.ranges = {r: deadline for r, deadline in self.ranges.items() if deadline > now}

    def deadline(self) -> float | None:
        deadlines = [*(entry[1] for entry in self.members.values()), *self.ranges.values()]
        return max(deadlines) if deadlines else None


class MemoryStore:
    """A :class:`~layer_webhooks.Store` in this process's memory: thread-safe, expiring, lost
    with the process. It is an :class:`~layer_webhooks.AsyncStore` (its calls never wait on I/O)
    and a :class:`~layer_webhooks.ReceiptsStore` too.

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

    # -- Store ----------------------------------------------------------------------------------

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """See :meth:`Store.add_if_absent <layer_webhooks.Store.add_if_absent>`."""
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
        """See :meth:`Store.get <layer_webhooks.Store.get>`."""
        item = self._data.get(key)
        if item is None or item[1] <= self._now() or type(item[0]) is _Index:
            return None
        return item[0]

    def delete(self, key: str) -> None:
        """See :meth:`Store.delete <layer_webhooks.Store.delete>`."""
        with self._lock:
            self._data.pop(key, None)

    # -- AsyncStore -----------------------------------------------------------------------------

    async def add_if_absent_async(self, key: str, value: JSONValue, ttl: float) -> bool:
        """As :meth:`add_if_absent`; never waits on I/O."""
        return self.add_if_absent(key, value, ttl)

    async def get_async(self, key: str) -> JSONValue | None:
        """As :meth:`get`; never waits on I/O."""
        return self.get(key)

    async def delete_async(self, key: str) -> None:
        """As :meth:`delete`; never waits on I/O."""
        self.delete(key)

    # -- ReceiptsStore --------------------------------------------------------------------------

    def merge_statuses(
        self, key: str, statuses: Mapping[str, str], ttl: float, *, message: JSONValue | None = None
    ) -> None:
        """See :meth:`ReceiptsStore.merge_statuses <layer_webhooks.ReceiptsStore.merge_statuses>`."""
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

    def _index(self, key: str, now: float) -> _Index:
        item = self._data.get(key)
        index = item[0] if item is not None and item[1] > now and type(item[0]) is _Index else _Index()
        index.prune(now)
        return index

    def _keep(self, key: str, index: _Index) -> None:
        deadline = index.deadline()
        if deadline is None:
            self._data.pop(key, None)
            return
        self._data[key] = (index, deadline)
        heapq.heappush(self._expiry, (deadline, key))

    def add_position(self, key: str, position: int, member: str, ttl: float) -> dict[str, str]:
        """See :meth:`ReceiptsStore.add_position <layer_webhooks.ReceiptsStore.add_position>`."""
        now = self._now()
        with self._lock:
            index = self._index(key, now)
            index.members[member] = (position, now + ttl)
            self._keep(key, index)
            best: dict[str, int] = {}
            for first, last, user, rank in index.ranges:
                if first <= position <= last and rank > best.get(user, 0):
                    best[user] = rank
        return {user: _NAMES[rank] for user, rank in best.items()}

    def add_range(self, key: str, first: int, last: int, statuses: Mapping[str, str], ttl: float) -> list[str]:
        """See :meth:`ReceiptsStore.add_range <layer_webhooks.ReceiptsStore.add_range>`."""
        now = self._now()
        with self._lock:
            index = self._index(key, now)
            for user, status in statuses.items():
                if status in STATUS_RANK:
                    index.ranges[(first, last, user, STATUS_RANK[status])] = now + ttl
            self._keep(key, index)
            found = [(position, m) for m, (position, _) in index.members.items() if first <= position <= last]
        return [member for _, member in sorted(found)]

    def __len__(self) -> int:
        now = self._now()
        with self._lock:
            self._sweep(now)
            return sum(1 for _, deadline in self._data.values() if deadline > now)
