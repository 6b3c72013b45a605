from __future__ import annotations

from support.clock import Clock
from support.payloads import load_fixture, signed

from layer_webhooks import Job, MemoryQueue, MemoryStore, WebhooksServices


def test_listen_and_process_mirror_the_node_module() -> None:
    services = WebhooksServices("secret-token", "app", run_jobs=False)  # run_due below, deterministic
    receiver = services.listen(
        "test secret", [{"name": "Webhook Example", "path": "/hook", "events": ["message.sent"]}]
    )
    seen: list[Job] = []

    @services.process("Webhook Example")
    def on_message(job: Job) -> None:
        seen.append(job)

    assert on_message is not None
    assert receiver.handle(signed(load_fixture("message.sent"))).status == 200  # type: ignore[union-attr]
    assert isinstance(services.queue, MemoryQueue)
    assert services.queue.run_due() == 1
    assert seen[0].data["message"]["sender"] == {"user_id": "12345"}


def test_one_clock_and_one_store_shared_with_what_it_builds() -> None:
    clock = Clock(0.0)
    services = WebhooksServices(now=clock, run_jobs=False)
    first = services.listen("s", [{"name": "A", "path": "/a"}])
    second = services.listen("s", [{"name": "A", "path": "/a"}])
    assert first.store is second.store is services.store
    assert isinstance(services.store, MemoryStore)
    request = signed(load_fixture("message.sent"), path="/a", secret="s")
    first.handle(request)
    second.handle(request)  # the shared store de-duplicates across receivers
    assert len(services.queue.pending()) == 1  # type: ignore[attr-defined]
    clock.t = 42.0
    services.queue.process("A", lambda job: None)
    assert services.queue.run_due() == 1  # type: ignore[attr-defined]
    services.queue.process("x", lambda job: None)
    services.queue.enqueue("x", {}, delay=1)
    assert services.queue.run_due() == 0  # type: ignore[attr-defined]
    clock.t = 43.0
    assert services.queue.run_due() == 1  # type: ignore[attr-defined]


def test_the_token_is_not_in_the_repr() -> None:
    assert "secret-token" not in repr(WebhooksServices("secret-token", "app"))
