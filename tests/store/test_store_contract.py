"""Every Store honours one contract: Memory, SQLite (here) and Redis (with a real server)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from layer_webhooks import MemoryStore, Store
from layer_webhooks.adapters.sqlite import SqliteStore


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def _memory(clock: Clock, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    return MemoryStore(now=clock)


def _sqlite(clock: Clock, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    return SqliteStore(tmp_path / "state.db", now=clock)


def _redis(clock: Clock, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    pytest.importorskip("redis")
    from layer_webhooks.adapters.redis import RedisStore

    server = request.getfixturevalue("redis_server")
    return RedisStore(server.client(), prefix=f"contract:{request.node.name}:{id(clock)}:")


FACTORIES = {"memory": _memory, "sqlite": _sqlite, "redis": _redis}


def _making(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> Iterator[Callable[[Clock], Store]]:
    made: list[Any] = []

    def make(clock: Clock) -> Store:
        store = FACTORIES[kind](clock, tmp_path, request)
        made.append(store)
        return store

    yield make
    for store in made:
        if hasattr(store, "close"):
            store.close()


@pytest.fixture(params=sorted(FACTORIES))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Clock], Store]]:
    yield from _making(request, tmp_path, request.param)


@pytest.fixture(params=["memory", "sqlite"])
def make_clocked_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Clock], Store]]:
    """Stores that expire on the injected clock (Redis expires on its own: tested apart)."""
    yield from _making(request, tmp_path, request.param)


def test_is_a_store(make_store: Callable[[Clock], Store]) -> None:
    assert isinstance(make_store(Clock()), Store)


def test_add_if_absent_get_delete(make_store: Callable[[Clock], Store]) -> None:
    clock = Clock()
    store = make_store(clock)
    assert store.add_if_absent("k", {"a": [1, "x"]}, 10) is True
    assert store.add_if_absent("k", 2, 10) is False
    assert store.get("k") == {"a": [1, "x"]}
    store.delete("k")
    assert store.get("k") is None
    store.delete("k")
    assert store.add_if_absent("k", 3, 10) is True


def test_expiry_on_the_store_clock(make_clocked_store: Callable[[Clock], Store]) -> None:
    clock = Clock()
    store = make_clocked_store(clock)
    store.add_if_absent("k", 1, 10)
    clock.t += 9.5
    assert store.get("k") == 1
    assert store.add_if_absent("k", 2, 10) is False
    clock.t += 0.5
    assert store.get("k") is None
    assert store.add_if_absent("k", 2, 10) is True


def test_merge_statuses_is_monotonic_per_user(make_store: Callable[[Clock], Store]) -> None:
    store = make_store(Clock())
    store.merge_statuses("m", {"a": "read", "b": "delivered"}, 60)
    store.merge_statuses("m", {"a": "sent", "b": "read", "c": "sent", "d": "bogus"}, 60)
    store.merge_statuses("m", {"c": "delivered", "b": "delivered"}, 60)
    assert store.get("m") == {"message": None, "statuses": {"a": "read", "b": "read", "c": "delivered"}}


def test_merge_keeps_the_expiry_unless_a_message_is_given(make_clocked_store: Callable[[Clock], Store]) -> None:
    clock = Clock()
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


def test_take_returns_and_deletes_atomically(make_store: Callable[[Clock], Store]) -> None:
    store = make_store(Clock())
    store.merge_statuses("m", {"a": "sent"}, 60, message={"id": "x"})
    assert store.take("m") == {"message": {"id": "x"}, "statuses": {"a": "sent"}}
    assert store.take("m") is None
    assert store.get("m") is None
    store.add_if_absent("claim", True, 60)
    assert store.take("claim") is True


def test_concurrent_merges_and_claims_lose_nothing(make_store: Callable[[Clock], Store]) -> None:
    store = make_store(Clock())
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
    assert record["statuses"] == {**{f"user{i}": "delivered" for i in range(8)}, "shared": "read"}
    assert sorted(wins) == [False] * 7 + [True]


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
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    from support.redis_server import free_port

    from layer_webhooks import StoreError
    from layer_webhooks.adapters.redis import RedisStore

    store = RedisStore(redis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)))
    with pytest.raises(StoreError, match="redis store could not claim"):
        store.add_if_absent("k", 1, 60)
    with pytest.raises(StoreError):
        store.merge_statuses("k", {"a": "read"}, 60)
