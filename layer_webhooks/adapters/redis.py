"""``RedisStore``: the :class:`~layer_webhooks.Store` every process and machine can share.

::

    import redis
    from layer_webhooks.adapters.redis import RedisStore

    store = RedisStore(redis.Redis.from_url("redis://localhost:6379/0"))
    services = WebhooksServices(token, app_id, queue=queue, store=store)

De-duplication claims are strings (``SET NX PX``); receipts state is one hash per message
(field ``m``: the message; ``u:<user>``: its status rank) and three sorted sets per position
index (``<key>``, ``<key>:expires``, ``<key>:ranges``), read and updated by the Lua scripts of
``adapters/lua/store_*.lua``, so that each call is atomic. Every key lives under ``prefix``
and expires.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

from .._layer import STATUS_RANK
from ..errors import MissingExtra, StoreError

try:
    import redis
    import redis.asyncio
except ImportError as exc:
    raise MissingExtra("layer_webhooks.adapters.redis", "redis", exc.name) from exc
from ..store._port import JSONValue

__all__ = ["RedisStore"]

_NAMES = {rank: name for name, rank in STATUS_RANK.items()}
# Read once, at import; each file's header lists the keys and arguments it touches.
_LUA = files("layer_webhooks.adapters").joinpath("lua")
_MERGE = _LUA.joinpath("store_merge_statuses.lua").read_text(encoding="utf-8")
_GET = _LUA.joinpath("store_get.lua").read_text(encoding="utf-8")
_INDEX = _LUA.joinpath("store_index.lua").read_text(encoding="utf-8")


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def _unavailable(operation: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise StoreError(f"redis store could not {operation}: {exc}") from exc


def _decode(reply: Any) -> JSONValue | None:
    if not reply:
        return None
    kind, value = reply
    if kind in (b"s", "s"):
        return json.loads(value)
    fields = {k.decode() if isinstance(k, bytes) else k: v for k, v in zip(value[::2], value[1::2], strict=True)}
    message = fields.pop("m", None)
    statuses = {k[2:]: _NAMES[int(v)] for k, v in fields.items() if k.startswith("u:") and int(v) in _NAMES}
    return {"message": json.loads(message) if message is not None else None, "statuses": statuses}


class RedisStore:
    """A :class:`~layer_webhooks.Store` on Redis, for any number of processes and machines; an
    :class:`~layer_webhooks.AsyncStore` and a :class:`~layer_webhooks.ReceiptsStore` too.

    ``client`` is a ``redis.Redis`` (share your app's connection pool); ``async_client`` an
    optional ``redis.asyncio.Redis`` for the ASGI path (without it, async calls run in a
    thread). Redis errors surface as :class:`~layer_webhooks.StoreError` (answered 503).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "layer_webhooks:",
        async_client: redis.asyncio.Redis | None = None,
    ) -> None:
        self.client = client
        self.async_client = async_client
        self.prefix = prefix
        self._merge = client.register_script(_MERGE)
        self._get = client.register_script(_GET)
        self._get_async = None if async_client is None else async_client.register_script(_GET)
        self._index = client.register_script(_INDEX)

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """See :meth:`layer_webhooks.Store.add_if_absent`."""
        with _unavailable("claim a key"):
            return bool(self.client.set(self.prefix + key, json.dumps(value), nx=True, px=max(1, int(ttl * 1000))))

    def get(self, key: str) -> JSONValue | None:
        """See :meth:`layer_webhooks.Store.get`."""
        with _unavailable("read a key"):
            return _decode(self._get(keys=[self.prefix + key]))

    def delete(self, key: str) -> None:
        """See :meth:`layer_webhooks.Store.delete`."""
        with _unavailable("delete a key"):
            self.client.delete(self.prefix + key)

    def merge_statuses(
        self, key: str, statuses: Mapping[str, str], ttl: float, *, message: JSONValue | None = None
    ) -> None:
        """See :meth:`layer_webhooks.ReceiptsStore.merge_statuses`."""
        args: list[Any] = [max(1, int(ttl * 1000)), "" if message is None else json.dumps(message)]
        for user, status in statuses.items():
            if status in STATUS_RANK:
                args += [user, STATUS_RANK[status]]
        with _unavailable("merge statuses"):
            self._merge(keys=[self.prefix + key], args=args)

    def add_position(self, key: str, position: int, member: str, ttl: float) -> dict[str, str]:
        """See :meth:`layer_webhooks.ReceiptsStore.add_position`."""
        with _unavailable("index a position"):
            reply = self._index(keys=self._index_keys(key), args=["position", position, member, _ms(ttl)])
        return {_text(user): _NAMES[int(rank)] for user, rank in zip(reply[::2], reply[1::2], strict=True)}

    def add_range(self, key: str, first: int, last: int, statuses: Mapping[str, str], ttl: float) -> list[str]:
        """See :meth:`layer_webhooks.ReceiptsStore.add_range`."""
        args: list[Any] = ["range", first, last, _ms(ttl)]
        for user, status in statuses.items():
            if status in STATUS_RANK:
                args += [user, STATUS_RANK[status]]
        with _unavailable("index a range"):
            return [_text(member) for member in self._index(keys=self._index_keys(key), args=args)]

    def _index_keys(self, key: str) -> list[str]:
        name = self.prefix + key
        return [name, f"{name}:expires", f"{name}:ranges"]

    async def add_if_absent_async(self, key: str, value: JSONValue, ttl: float) -> bool:
        """As :meth:`add_if_absent`, without blocking the event loop."""
        if self.async_client is None:
            return await asyncio.to_thread(self.add_if_absent, key, value, ttl)
        with _unavailable("claim a key"):
            px = max(1, int(ttl * 1000))
            return bool(await self.async_client.set(self.prefix + key, json.dumps(value), nx=True, px=px))

    async def get_async(self, key: str) -> JSONValue | None:
        """As :meth:`get`, without blocking the event loop."""
        if self._get_async is None:
            return await asyncio.to_thread(self.get, key)
        with _unavailable("read a key"):
            return _decode(await self._get_async(keys=[self.prefix + key]))

    async def delete_async(self, key: str) -> None:
        """As :meth:`delete`, without blocking the event loop."""
        if self.async_client is None:
            return await asyncio.to_thread(self.delete, key)
        with _unavailable("delete a key"):
            await self.async_client.delete(self.prefix + key)
