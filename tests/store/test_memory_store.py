from __future__ import annotations

import asyncio
import threading

from support.clock import Clock

from layer_webhooks import MemoryStore, Store


def test_is_a_store() -> None:
    assert isinstance(MemoryStore(), Store)


def test_add_if_absent_get_delete_and_expiry() -> None:
    clock = Clock(0.0)
    store = MemoryStore(now=clock)
    assert store.add_if_absent("k", {"v": 1}, 10) is True
    assert store.add_if_absent("k", {"v": 2}, 10) is False
    assert store.get("k") == {"v": 1}
    clock.t = 9.999
    assert store.get("k") == {"v": 1}
    clock.t = 10
    assert store.get("k") is None
    assert store.add_if_absent("k", {"v": 3}, 10) is True
    store.delete("k")
    store.delete("absent")
    assert store.get("k") is None


def test_expired_keys_are_swept_so_memory_stays_bounded() -> None:
    clock = Clock(0.0)
    store = MemoryStore(now=clock)
    for i in range(1000):
        store.add_if_absent(f"k{i}", 1, 5)
    clock.t = 6
    store.add_if_absent("fresh", 1, 5)
    assert len(store._data) == 1  # internal: the sweep ran
    assert len(store) == 1


def test_add_if_absent_is_atomic_across_threads() -> None:
    store = MemoryStore()
    barrier = threading.Barrier(16)
    wins: list[bool] = []

    def claim() -> None:
        barrier.wait(timeout=10)
        wins.append(store.add_if_absent("same", 1, 60))

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(wins) == [False] * 15 + [True]


def test_async_twins() -> None:
    store = MemoryStore()

    async def main() -> tuple[bool, bool]:
        first = await store.add_if_absent_async("k", 1, 60)
        second = await store.add_if_absent_async("k", 1, 60)
        await store.delete_async("k")
        return first, second

    assert asyncio.run(main()) == (True, False)
    assert store.get("k") is None
