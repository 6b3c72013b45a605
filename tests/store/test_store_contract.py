"""Every store honours its ports' contracts: Memory, SQLite and Redis (a real server).

``Store`` (add_if_absent, get, delete, expiry) and ``ReceiptsStore`` (merge_statuses, the
position indexes' add_position and add_range) run over every store; ``AsyncStore`` (the async
twins) over the stores that declare it: Memory, and Redis with and without an async client.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from support.clock import Clock
from support.payloads import SECRET, load_fixture, signed

from layer_webhooks import Hook, MemoryQueue, MemoryStore, Receiver, Store
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


def test_values_with_lone_surrogates_are_kept_as_they_were(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    value = {"cut \ud83d": ["\udc00", "whole \U0001f600"]}
    assert store.add_if_absent("k", value, 10) is True
    assert store.get("k") == value
    store.merge_statuses("m", {"alice": "read"}, 60, message={"parts": [{"body": "cut \ud83d"}]})
    assert store.get("m") == {"message": {"parts": [{"body": "cut \ud83d"}]}, "statuses": {"alice": "read"}}


def test_a_delivery_with_lone_surrogates_in_its_id_and_text_is_acknowledged_once(make_store: MakeStore) -> None:
    clock = Clock(START)
    queue = MemoryQueue(now=clock)
    queue.process("Webhook Example", lambda job: None)
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook")], queue, store=make_store(clock), now=clock)
    payload = load_fixture("message.sent")
    payload["event"]["id"] = "event \ud83d"
    payload["message"]["parts"][0]["body"] = "cut \ud83d"
    request = signed(json.dumps(payload).encode())
    assert [receiver.handle(request).status for _ in range(2)] == [200, 200]  # type: ignore[union-attr]
    assert queue.run_due() == 1  # the job ran: only the store keeps the redelivery out
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]
    assert queue.pending() == []


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


# -- ReceiptsStore: position indexes ----------------------------------------------------------


def test_a_range_finds_the_members_indexed_in_it_by_position(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    assert store.add_position("idx", 300, "m3", 60) == {}
    assert store.add_position("idx", 100, "m1", 60) == {}
    assert store.add_position("idx", 200, "m2", 60) == {}
    assert store.add_range("idx", 100, 200, {"bob": "read"}, 60) == ["m1", "m2"]
    assert store.add_range("idx", 0, 10**12, {}, 60) == ["m1", "m2", "m3"]
    assert store.add_range("idx", 201, 299, {"bob": "read"}, 60) == []
    assert store.add_range("other", 0, 10**12, {}, 60) == []
    store.add_position("idx", 250, "m1", 60)  # moved
    assert store.add_range("idx", 150, 260, {}, 60) == ["m2", "m1"]
    assert store.get("idx") is None  # an index is no value


def test_a_member_added_later_learns_the_ranges_covering_it(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    store.add_range("idx", 100, 200, {"bob": "delivered", "carol": "read", "x y": "bogus"}, 60)
    store.add_range("idx", 150, 150, {"bob": "read"}, 60)
    store.add_range("idx", 190, 300, {"bob": "delivered", "dave": "delivered"}, 60)
    assert store.add_position("idx", 150, "m1", 60) == {"bob": "read", "carol": "read"}
    assert store.add_position("idx", 200, "m2", 60) == {"bob": "delivered", "carol": "read", "dave": "delivered"}
    assert store.add_position("idx", 99, "m0", 60) == {}
    assert store.add_position("idx", 301, "m4", 60) == {}


def test_user_ids_with_spaces_and_large_positions(make_store: MakeStore) -> None:
    store = make_store(Clock(START))
    big = 2**52  # Layer's positions are large; JSON numbers stay exact below 2**53
    store.add_range("layer:///conversations/c 1", big, big + 2, {"a b c": "read"}, 60)
    assert store.add_position("layer:///conversations/c 1", big + 1, "layer:///messages/1", 60) == {"a b c": "read"}
    assert store.add_range("layer:///conversations/c 1", big + 1, big + 1, {}, 60) == ["layer:///messages/1"]


def test_index_entries_expire_each_on_its_own(make_clocked_store: MakeStore) -> None:
    clock = Clock(START)
    store = make_clocked_store(clock)
    store.add_position("idx", 1, "short", 10)
    store.add_position("idx", 2, "long", 100)
    store.add_range("idx", 0, 5, {"bob": "read"}, 10)
    clock.t += 9
    assert store.add_range("idx", 0, 5, {}, 10) == ["short", "long"]
    assert store.add_position("idx", 3, "new", 100) == {"bob": "read"}
    clock.t += 1
    assert store.add_range("idx", 0, 5, {}, 10) == ["long", "new"]
    assert store.add_position("idx", 3, "new", 100) == {}  # the range is gone too
    store.add_range("idx", 0, 5, {"bob": "read"}, 10)  # seen again: its expiry restarts
    clock.t += 9
    assert store.add_position("idx", 4, "newer", 100) == {"bob": "read"}


def test_an_index_is_no_value_and_goes_with_its_last_entry(make_clocked_store: MakeStore) -> None:
    clock = Clock(START)
    store = make_clocked_store(clock)
    store.add_position("idx", 1, "m", 10)
    store.add_range("idx", 0, 5, {"bob": "read"}, 20)
    assert store.get("idx") is None
    clock.t += 20
    assert store.add_range("idx", 0, 5, {}, 10) == []
    assert store.add_position("idx", 1, "m", 10) == {}
    if isinstance(store, MemoryStore):
        clock.t += 10
        assert len(store) == 0


def test_concurrent_positions_and_ranges_always_meet(make_store: MakeStore) -> None:
    """Of a member and a range added at once, one always sees the other: no read is lost."""
    store = make_store(Clock(START))
    rounds = 20
    met: list[bool] = []
    for i in range(rounds):
        barrier = threading.Barrier(2)
        seen: dict[str, Any] = {}

        def member(i: int = i, barrier: threading.Barrier = barrier, seen: dict[str, Any] = seen) -> None:
            barrier.wait(timeout=10)
            seen["statuses"] = store.add_position(f"idx{i}", 7, "m", 60)

        def ranged(i: int = i, barrier: threading.Barrier = barrier, seen: dict[str, Any] = seen) -> None:
            barrier.wait(timeout=10)
            seen["members"] = store.add_range(f"idx{i}", 0, 9, {"bob": "read"}, 60)

        threads = [threading.Thread(target=member), threading.Thread(target=ranged)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        met.append(seen["statuses"] == {"bob": "read"} or seen["members"] == ["m"])
    assert met == [True] * rounds


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
            assert await store.get_async("k") == seen
            sync_again = store.add_if_absent("k", 3, 60)
            await store.delete_async("k")
            await store.delete_async("k")  # absent: not an error
            gone = store.get("k")
            assert await store.get_async("k") is None
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


@pytest.mark.slow
def test_redis_index_keys_expire_with_their_last_entry(redis_server: Any) -> None:
    pytest.importorskip("redis")
    from layer_webhooks.adapters.redis import RedisStore

    client = redis_server.client()
    store = RedisStore(client, prefix="index-ttl:")
    store.add_position("idx", 5, "m1", 120)
    store.add_position("idx", 6, "m2", 60)  # shorter: the keys keep the longer expiry
    store.add_range("idx", 0, 9, {"bob": "read"}, 30)
    assert 115_000 < client.pttl("index-ttl:idx") <= 120_000
    assert 115_000 < client.pttl("index-ttl:idx:expires") <= 120_000
    assert 25_000 < client.pttl("index-ttl:idx:ranges") <= 30_000
    store.add_range("idx", 0, 9, {}, 999)  # no statuses: nothing remembered, no expiry extended
    assert client.pttl("index-ttl:idx:ranges") <= 30_000
    assert set(client.keys("index-ttl:*")) == {b"index-ttl:idx", b"index-ttl:idx:expires", b"index-ttl:idx:ranges"}
    store.add_position("short", 1, "m", 0.05)
    store.add_range("short", 0, 9, {"bob": "read"}, 0.05)
    deadline = time.monotonic() + 5
    while client.exists("index-ttl:short", "index-ttl:short:expires", "index-ttl:short:ranges"):
        assert time.monotonic() < deadline, "index keys outlived their entries"
        time.sleep(0.02)


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
