"""``handle_async`` calls memory ports directly (a memory store beside any queue), and awaits
any async twin a subclass writes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from support.payloads import SECRET, load_fixture, signed

from layer_webhooks import Hook, MemoryQueue, MemoryStore, Receiver


class Awaiting(MemoryQueue):
    """A memory queue whose async twin is its own (it waits, as a networked queue would)."""

    def __init__(self) -> None:
        super().__init__()
        self.awaited = 0

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        await asyncio.sleep(0)
        self.awaited += 1
        self.enqueue(name, data, delay=delay, job_id=job_id)


def receiver_for(queue: MemoryQueue) -> Receiver:
    return Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue, store=MemoryStore())


def test_memory_ports_answer_without_suspending_the_task() -> None:
    queue = MemoryQueue()
    coroutine = receiver_for(queue).handle_async(signed(load_fixture("message.sent")))
    with pytest.raises(StopIteration) as done:  # the first step runs it to the end
        coroutine.send(None)
    assert done.value.value.status == 200
    assert len(queue.pending()) == 1


def test_an_async_twin_a_subclass_writes_is_awaited() -> None:
    queue = Awaiting()
    receiver = receiver_for(queue)
    request = signed(load_fixture("message.sent"))
    assert asyncio.run(receiver.handle_async(request)).status == 200  # type: ignore[union-attr]
    assert asyncio.run(receiver.handle_async(request)).status == 200  # type: ignore[union-attr]  # a duplicate
    assert queue.awaited == 1
    assert len(queue.pending()) == 1


class AwaitingStore(MemoryStore):
    """A memory store whose async twins are its own, and record each call."""

    def __init__(self) -> None:
        super().__init__()
        self.awaited: list[str] = []

    async def get_async(self, key: str) -> Any:
        await asyncio.sleep(0)
        self.awaited.append("get")
        return self.get(key)

    async def add_if_absent_async(self, key: str, value: Any, ttl: float) -> bool:
        await asyncio.sleep(0)
        self.awaited.append("add")
        return self.add_if_absent(key, value, ttl)


def test_the_async_twins_of_a_store_subclass_are_awaited_beside_an_awaiting_queue() -> None:
    queue, store = Awaiting(), AwaitingStore()
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue, store=store)
    request = signed(load_fixture("message.sent"))
    assert asyncio.run(receiver.handle_async(request)).status == 200  # type: ignore[union-attr]
    assert asyncio.run(receiver.handle_async(request)).status == 200  # type: ignore[union-attr]  # a duplicate
    assert store.awaited == ["get", "add", "get"]
    assert queue.awaited == 1 and len(queue.pending()) == 1
