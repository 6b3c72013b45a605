"""The receiver's decision is pure (a plan of claims, jobs and an answer), its job function is
pluggable, and its two drivers carry a plan out alike: on declared async ports, or in a thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from support.payloads import SECRET, load_fixture, signed

from layer_webhooks import Event, Hook, InvalidJobData, MemoryQueue, MemoryStore, QueueError, Receiver, Request
from layer_webhooks.receiving._decision import Decider, DeliveryPlan, PlannedJob, listen_job
from layer_webhooks.store._port import AsyncStore

HOOKS = [Hook("A", "/hook", ["message.sent"]), Hook("B", "/hook"), Hook("Read", "/hook", ["message.read"])]


def test_decide_plans_one_claimed_job_per_hook_that_takes_the_event() -> None:
    payload = load_fixture("message.sent")
    event_id = payload["event"]["id"]
    decision = Decider(SECRET, HOOKS).decide(signed(payload))
    assert isinstance(decision, DeliveryPlan)
    assert [(job.name, job.job_id, job.claim, job.delay) for job in decision.jobs] == [
        ("A", f"A:{event_id}", f"seen:A:{event_id}", 0.0),
        ("B", f"B:{event_id}", f"seen:B:{event_id}", 0.0),
    ]
    assert decision.jobs[0].data == listen_job(HOOKS[0], Event(payload), payload)[1]
    assert decision.claim_ttl == 3600.0
    answer = decision.answer
    assert (answer.status, answer.body, answer.headers) == (200, b"", (("Content-Length", "0"),))


def test_decide_touches_no_state_so_the_same_request_gets_the_same_plan() -> None:
    decider = Decider(SECRET, HOOKS)
    request = signed(load_fixture("message.sent"))
    assert decider.decide(request) == decider.decide(request)


def test_decide_answers_outright_what_needs_no_job() -> None:
    decider = Decider(SECRET, HOOKS)
    assert decider.decide(Request("GET", "/elsewhere")) is None
    challenge = decider.decide(Request("GET", "/hook", "verification_challenge=c"))
    assert not isinstance(challenge, DeliveryPlan) and challenge is not None and challenge.body == b"c"
    forged = decider.decide(signed(load_fixture("message.sent"), secret="other"))
    assert not isinstance(forged, DeliveryPlan) and forged is not None and forged.status == 403
    unwanted = decider.decide(signed(load_fixture("conversation.created"), path="/hook"))
    assert isinstance(unwanted, DeliveryPlan)  # B takes every type
    nobody = Decider(SECRET, [HOOKS[0]]).decide(signed(load_fixture("message.read")))
    assert not isinstance(nobody, DeliveryPlan) and nobody is not None and nobody.status == 200


def test_without_an_event_id_or_request_id_nothing_is_claimed() -> None:
    payload = load_fixture("message.sent")
    del payload["event"]["id"]
    request = signed(payload)
    anonymous = Request(
        "POST", "/hook", "", {k: v for k, v in request.headers.items() if "request-id" not in k}, request.body
    )
    plan = Decider(SECRET, [HOOKS[0]]).decide(anonymous)
    assert isinstance(plan, DeliveryPlan)
    assert plan.jobs == (PlannedJob("A", plan.jobs[0].data, 0.0, None, None),)
    receiver = Receiver(SECRET, [HOOKS[0]], MemoryQueue())
    receiver.handle(anonymous)
    receiver.handle(anonymous)
    assert len(receiver.queue.pending()) == 2  # type: ignore[attr-defined]  # no id: no de-duplication


def test_make_job_replaces_the_listen_job_and_none_makes_no_job() -> None:
    seen: list[tuple[str, str]] = []

    def make_job(hook: Hook, event: Event, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any], float] | None:
        seen.append((hook.name, event.type))
        if hook.name == "B":
            return None
        return f"custom:{hook.name}", {"id": event.id}, 30.0

    queue = MemoryQueue()
    receiver = Receiver(SECRET, HOOKS, queue, make_job=make_job)
    payload = load_fixture("message.sent")
    assert receiver.handle(signed(payload)).status == 200  # type: ignore[union-attr]
    assert seen == [("A", "message.sent"), ("B", "message.sent")]
    [job] = queue.pending()
    assert (job.name, job.data, job.id) == (
        "custom:A",
        {"id": payload["event"]["id"]},
        f"custom:A:{payload['event']['id']}",
    )
    assert Receiver(SECRET, HOOKS, queue, make_job=lambda *_: None).handle(signed(payload)).status == 200  # type: ignore[union-attr]
    assert len(queue.pending()) == 1


def test_execute_carries_out_a_plan_and_a_repeated_plan_is_a_logged_duplicate(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(SECRET, [HOOKS[0]], MemoryQueue())
    plan = receiver.decide(signed(load_fixture("message.sent")))
    assert isinstance(plan, DeliveryPlan)
    assert receiver.execute(plan) is plan.answer
    with caplog.at_level(logging.INFO, logger="layer_webhooks.receiver"):
        assert receiver.execute(plan).status == 200
    assert f"duplicate {plan.jobs[0].job_id} not queued again as 'A'" in caplog.text
    assert len(receiver.queue.pending()) == 1  # type: ignore[attr-defined]


class SyncStore:
    """A Store with no async twins, recording the threads it is called on."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.threads: list[int] = []

    def add_if_absent(self, key: str, value: Any, ttl: float) -> bool:
        self.threads.append(threading.get_ident())
        return self.inner.add_if_absent(key, value, ttl)

    def get(self, key: str) -> Any:
        return self.inner.get(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


class TracedQueue(MemoryQueue):
    """An AsyncQueue recording which method ran on which thread; ``down`` makes both fail."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []
        self.down: Exception | None = None

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        self.calls.append(("enqueue", threading.get_ident()))
        if self.down is not None:
            raise self.down
        super().enqueue(name, data, delay=delay, job_id=job_id)

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        self.calls.append(("enqueue_async", threading.get_ident()))
        if self.down is not None:
            raise self.down
        super().enqueue(name, data, delay=delay, job_id=job_id)


class SyncTracedQueue(TracedQueue):
    """A TracedQueue that declares no async twin (a class attribute of None blocks a Protocol member)."""

    enqueue_async = None  # type: ignore[assignment]


def handle_on_a_loop(receiver: Receiver, request: Request) -> tuple[int, int]:
    async def main() -> tuple[int, int]:
        response = await receiver.handle_async(request)
        assert response is not None
        return response.status, threading.get_ident()

    return asyncio.run(main())


def test_declared_async_ports_are_awaited_on_the_loop() -> None:
    queue = TracedQueue()
    receiver = Receiver(SECRET, [HOOKS[0]], queue)
    assert isinstance(receiver.store, AsyncStore)
    status, loop_thread = handle_on_a_loop(receiver, signed(load_fixture("message.sent")))
    assert status == 200
    assert queue.calls == [("enqueue_async", loop_thread)]


@pytest.mark.parametrize("sync_side", ["store", "queue"])
def test_one_sync_port_runs_the_whole_plan_in_a_thread(sync_side: str) -> None:
    queue = TracedQueue() if sync_side == "store" else SyncTracedQueue()
    store = SyncStore() if sync_side == "store" else MemoryStore()
    receiver = Receiver(SECRET, [HOOKS[0]], queue, store=store)
    status, loop_thread = handle_on_a_loop(receiver, signed(load_fixture("message.sent")))
    assert status == 200
    [(method, thread)] = queue.calls
    assert method == "enqueue" and thread != loop_thread
    if isinstance(store, SyncStore):
        assert store.threads == [thread]


def test_the_async_driver_answers_503_and_releases_the_claim_as_the_sync_one_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = TracedQueue()
    receiver = Receiver(SECRET, [HOOKS[0]], queue)
    request = signed(load_fixture("message.sent"))
    queue.down = QueueError("redis is down")
    with caplog.at_level(logging.ERROR, logger="layer_webhooks.receiver"):
        assert handle_on_a_loop(receiver, request)[0] == 503
    assert "queue unavailable" in caplog.text
    queue.down = InvalidJobData("not JSON-safe")
    with pytest.raises(InvalidJobData):
        handle_on_a_loop(receiver, request)
    queue.down = None
    assert handle_on_a_loop(receiver, request)[0] == 200  # every claim was released
    assert [job.name for job in queue.pending()] == ["A"]


def test_failures_are_logged_with_the_job_and_the_claim(caplog: pytest.LogCaptureFixture) -> None:
    class DownStore(MemoryStore):
        def get(self, key: str) -> Any:
            raise ConnectionError("store down")

        def add_if_absent(self, key: str, value: Any, ttl: float) -> bool:
            raise ConnectionError("store down")

    class NoMark(MemoryStore):
        def add_if_absent(self, key: str, value: Any, ttl: float) -> bool:
            raise ConnectionError("gone mid-way")

    request = signed(load_fixture("message.sent"))
    event_id = load_fixture("message.sent")["event"]["id"]
    queue = TracedQueue()
    with caplog.at_level(logging.WARNING, logger="layer_webhooks.receiver"):
        assert Receiver(SECRET, [HOOKS[0]], queue, store=DownStore()).handle(request).status == 503  # type: ignore[union-attr]
        queue.down = QueueError("full")
        assert Receiver(SECRET, [HOOKS[0]], queue, store=MemoryStore()).handle(request).status == 503  # type: ignore[union-attr]
        queue.down = None
        # The job is stored: its claim could not be written after it, which is no reason for a 503.
        assert Receiver(SECRET, [HOOKS[0]], queue, store=NoMark()).handle(request).status == 200  # type: ignore[union-attr]
    assert f"store unavailable, A:{event_id} not queued as 'A'" in caplog.text
    assert f"queue unavailable, A:{event_id} not queued as 'A'" in caplog.text
    assert f"A:{event_id} queued as 'A', but not marked seen" in caplog.text
