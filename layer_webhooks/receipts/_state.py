"""The receipts state port: a :class:`~layer_webhooks.Store` that also merges recipient statuses.

A record is one message's state for one receipts hook, at :func:`~._rules.state_key`. Every
store of this library implements this port (:class:`~layer_webhooks.MemoryStore`,
``SqliteStore``, ``RedisStore``); the receipts handlers read and write nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ..store._port import JSONValue, Store


@runtime_checkable
class ReceiptsStore(Store, Protocol):
    """A :class:`~layer_webhooks.Store` with receipts records: per-user statuses that only rise.

    :meth:`get` of a record's key returns ``{"message": <message or None>, "statuses": {user:
    status}}``, the statuses among ``sent`` < ``delivered`` < ``read``
    (Layer's ``STATUS_RANK``); :meth:`delete` removes the record. A store may hold records
    and plain values side by side, under different keys.
    """

    def merge_statuses(
        self, key: str, statuses: Mapping[str, str], ttl: float, *, message: JSONValue | None = None
    ) -> None:
        """Merge per-user ``statuses`` into the record at ``key``, monotonically, in one atomic step.

        Each user keeps the further of its stored and its given status; unknown statuses are
        ignored. An absent (or expired) record is created with ``message`` None, to live ``ttl``
        seconds; an existing one keeps its expiry, unless ``message`` is given: then the message
        is stored in the record and the expiry set to ``ttl`` from now. Concurrent merges into
        one record lose no user's status.
        """
        ...
