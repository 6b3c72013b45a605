"""Every store honours its ports' contracts: Memory, SQLite and Redis (a real server).

``Store`` (add_if_absent, get, delete, expiry) and ``ReceiptsStore`` (merge_statuses) run over
every store; ``AsyncStore`` (the async twins) over the stores that declare it: Memory, and
Redis with and without an async client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from support.clock import Clock

from layer_webhooks import MemoryStore, Store
from layer_webhooks.adapters.sqlite import SqliteStore
from layer_webhooks.receipts._state import ReceiptsStore
from layer_webhooks.store._port import AsyncStore

START = 1_000.0


def _memory(clock: Clock, tmp_path: Path, request: pytest.FixtureRequest) -> ReceiptsStore:
    return MemoryStore(now=clock)


def _sqlite(clock: Clock, tmp_path: Path, request: pytest.FixtureRequest) -> ReceiptsStore:
    return SqliteStore(tmp_path / "state.db", now=clock)


def _redis(clock: Clock, tmp_path: Path, request: pytest.FixtureRequest) -> ReceiptsStore:
    pytest.importorskip("redis")
    from layer_webhooks.adapters.redis import RedisStore

    server = request.getfixturevalue("redis_server")
    return RedisStore(server.client(), prefix=f"contract:{request.node.name}:{id(clock)}:")


FACTORIES = {"memory": _memory, "sqlite": _sqlite, "redis": _redis}
MakeStore = Callable[[Clock], ReceiptsStore]


def _making(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> Iterator[MakeStore]:
    made: list[Any] = []

    def make(clock: Clock) -> ReceiptsStore:
        store = FACTORIES[kind](clock, tmp_path, request)
        made.append(store)
        return store

    yield make
    for store in made:
        if hasattr(store, "close"):
            store.close()


@pytest.fixture(params=sorted(FACTORIES))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    yield from _making(request, tmp_path, request.param)


@pytest.fixture(params=["memory", "sqlite"])
def make_clocked_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """Stores that expire on the injected clock (Redis expires on its own: tested apart)."""
    yield from _making(request, tmp_path, request.param)


# -- Store ------------------------------------------------------------------------------------


def test_is_a_store_and_a_receipts_store(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    assert isinstance(store, Store)
    assert isinstance(store, ReceiptsStore)


def test_add_if_absent_get_delete(make_store: MakeStore) -> None:
    clock = Clock(START)
    store = make_store(clock)
    assert store.add_if_absent("k", {"a": [1, "x"]}, 10) is True
    assert store.add_if_absent("k", 2, 10) is False
    assert store.get("k") == {"a": [1, "x"]}
    store.delete("k")
    assert store.get("k") is None
    store.delete("k")
    assert store.add_if_absent("k", 3, 10) is True


def test_expiry_on_the_store_clock(make_clocked_store: MakeStore) -> None:
    clock = Clock(START)
    store = make_clocked_store(clock)
    store.add_if_absent("k", 1, 10)
    clock.t += 9.5
    assert store.get("k") == 1
    assert store.add_if_absent("k", 2, 10) is False
    clock.t += 0.5
    assert store.get("k") is None
    assert store.add_if_absent("k", 2, 10) is True


def test_concurrent_merges_and_claims_lose_nothing(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def work(i: int) -> None:
        barrier.wait(timeout=10)
        store.merge_statuses("m", {f"user{i}": "delivered", "shared": ["sent", "delivered", "read"][i % 3]}, 60)
        wins.append(store.add_if_absent("claim", i, 60))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    record = store.get("m")
    assert record is not None
    assert record["statuses"] == {**{f"user{i}": "delivered" for i in range(8)}, "shared": "read"}
    assert sorted(wins) == [False] * 7 + [True]


# -- ReceiptsStore ----------------------------------------------------------------------------


def test_merge_statuses_is_monotonic_per_user(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    store.merge_statuses("m", {"a": "read", "b": "delivered"}, 60)
    store.merge_statuses("m", {"a": "sent", "b": "read", "c": "sent", "d": "bogus"}, 60)
    store.merge_statuses("m", {"c": "delivered", "b": "delivered"}, 60)
    assert store.get("m") == {"message": None, "statuses": {"a": "read", "b": "read", "c": "delivered"}}


def test_merge_keeps_the_expiry_unless_a_message_is_given(make_clocked_store: MakeStore) -> None:
    clock = Clock(START)
    store = make_clocked_store(clock)
    store.merge_statuses("m", {"a": "read"}, 10)  # an early status: short-lived
    clock.t += 8
    store.merge_statuses("m", {"b": "sent"}, 1000)  # does not extend it
    clock.t += 3
    assert store.get("m") is None
    store.merge_statuses("m", {"a": "read"}, 10)
    clock.t += 8
    store.merge_statuses("m", {"b": "sent"}, 100, message={"id": "layer:///messages/1"})
    clock.t += 90
    assert store.get("m") == {"message": {"id": "layer:///messages/1"}, "statuses": {"a": "read", "b": "sent"}}
    clock.t += 11
    assert store.get("m") is None


def test_a_record_is_read_with_its_message_and_deleted_like_any_key(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    store.merge_statuses("m", {"a": "sent"}, 60, message={"id": "x"})
    assert store.get("m") == {"message": {"id": "x"}, "statuses": {"a": "sent"}}
    store.delete("m")
    assert store.get("m") is None
    store.merge_statuses("m", {"b": "read"}, 60)  # a fresh record: nothing of the old one
    assert store.get("m") == {"message": None, "statuses": {"b": "read"}}


# -- AsyncStore -------------------------------------------------------------------------------

OpenAsync = Callable[[], AbstractAsyncContextManager[AsyncStore]]


@pytest.fixture(params=["memory", "redis", "redis-async-client"])
def open_async_store(request: pytest.FixtureRequest) -> OpenAsync:
    """Opens an AsyncStore inside the running loop (a ``redis.asyncio`` client is bound to it)."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[AsyncStore]:
        if request.param == "memory":
            yield MemoryStore()
            return
        pytest.importorskip("redis")
        import redis.asyncio

        from layer_webhooks.adapters.redis import RedisStore

        server = request.getfixturevalue("redis_server")
        prefix = f"async:{request.node.name}:"
        if request.param == "redis":
            yield RedisStore(server.client(), prefix=prefix)
            return
        async_client = redis.asyncio.Redis.from_url(server.url)
        try:
            yield RedisStore(server.client(), prefix=prefix, async_client=async_client)
        finally:
            await async_client.aclose()

    return opened


def test_is_an_async_store(open_async_store: OpenAsync) -> None:
    async def main() -> bool:
        async with open_async_store() as store:
            return isinstance(store, AsyncStore)

    assert asyncio.run(main())


def test_async_twins_share_the_state_of_the_sync_calls(open_async_store: OpenAsync) -> None:
    async def main() -> list[Any]:
        async with open_async_store() as store:
            first = await store.add_if_absent_async("k", {"v": 1}, 60)
            second = await store.add_if_absent_async("k", {"v": 2}, 60)
            seen = store.get("k")
            sync_again = store.add_if_absent("k", 3, 60)
            await store.delete_async("k")
            await store.delete_async("k")  # absent: not an error
            gone = store.get("k")
            return [first, second, seen, sync_again, gone, await store.add_if_absent_async("k", 4, 60)]

    assert asyncio.run(main()) == [True, False, {"v": 1}, False, None, True]


def test_concurrent_async_claims_have_one_winner(open_async_store: OpenAsync) -> None:
    async def main() -> list[bool]:
        async with open_async_store() as store:
            return list(await asyncio.gather(*(store.add_if_absent_async("claim", i, 60) for i in range(8))))

    assert sorted(asyncio.run(main())) == [False] * 7 + [True]


def test_sqlite_is_no_async_store_so_the_receiver_runs_it_in_a_thread(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    try:
        assert not isinstance(store, AsyncStore)
    finally:
        store.close()


# -- Redis only -------------------------------------------------------------------------------


def test_redis_keys_expire_on_the_server(redis_server: Any) -> None:
    pytest.importorskip("redis")
    from layer_webhooks.adapters.redis import RedisStore

    client = redis_server.client()
    store = RedisStore(client, prefix="ttl-test:")
    store.add_if_absent("claim", 1, 3600)
    store.merge_statuses("early", {"a": "read"}, 60)
    store.merge_statuses("early", {"b": "sent"}, 9999)  # keeps the early expiry
    store.merge_statuses("tracked", {"a": "sent"}, 120, message={"id": "m"})
    assert 3_590_000 < client.pttl("ttl-test:claim") <= 3_600_000
    assert 55_000 < client.pttl("ttl-test:early") <= 60_000
    assert 115_000 < client.pttl("ttl-test:tracked") <= 120_000
    store.merge_statuses("early", {"a": "read"}, 300, message={"id": "m"})  # a message extends it
    assert 295_000 < client.pttl("ttl-test:early") <= 300_000
    assert set(client.keys("ttl-test:*")) == {b"ttl-test:claim", b"ttl-test:early", b"ttl-test:tracked"}


def test_redis_store_answers_store_error_when_redis_is_down(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    import redis
    import redis.asyncio
    import redis.asyncio.retry
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    from support.redis_server import free_port

    from layer_webhooks import StoreError
    from layer_webhooks.adapters.redis import RedisStore

    port = free_port()
    store = RedisStore(redis.Redis(port=port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)))
    with pytest.raises(StoreError, match="redis store could not claim"):
        store.add_if_absent("k", 1, 60)
    with pytest.raises(StoreError):
        store.merge_statuses("k", {"a": "read"}, 60)
    with pytest.raises(StoreError, match="redis store could not read"):
        store.get("k")

    async def down_async() -> None:
        async_client = redis.asyncio.Redis(
            port=port, socket_connect_timeout=0.5, retry=redis.asyncio.retry.Retry(NoBackoff(), 0)
        )
        try:
            async_store = RedisStore(store.client, async_client=async_client)
            with pytest.raises(StoreError, match="redis store could not claim"):
                await async_store.add_if_absent_async("k", 1, 60)
            with pytest.raises(StoreError, match="redis store could not delete"):
                await async_store.delete_async("k")
        finally:
            await async_client.aclose()

    asyncio.run(down_async())
