"""Receipts end to end: the emulator delivers over real HTTP to a receipts receiver served on
loopback, registered through the REST client; identities and refresh use its Platform API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("werkzeug")

from wsgi_server import serve

from layer_webhooks import Hook, Job, MemoryQueue, MemoryStore, Receipts, WebhooksServices
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator

TOKEN = "receipts token"
SECRET = "receipts secret"
EVENTS = ["message.sent", "message.delivered", "message.read", "message.deleted"]
pytestmark = pytest.mark.slow


class Clock:
    def __init__(self) -> None:
        self.t = 5_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def layer() -> Iterator[LayerEmulator]:
    with LayerEmulator(token=TOKEN, retry_scale=0.0005) as emulator:
        yield emulator


class Deployment:
    """A receipts receiver on MemoryQueue + MemoryStore, served and registered with the emulator."""

    def __init__(self, layer: LayerEmulator, base_url: str, hook: Hook, services: WebhooksServices, clock: Clock):
        self.layer, self.base_url, self.hook, self.services, self.clock = layer, base_url, hook, services, clock
        self.reports: list[Job] = []
        services.process(hook.name)(self.reports.append)

    def run(self, seconds: float = 0.0) -> None:
        self.clock.t += seconds
        self.services.queue.run_due()  # type: ignore[attr-defined]


@pytest.fixture
def deploy(layer: LayerEmulator) -> Iterator[Any]:
    stack: list[Any] = []

    def make(receipts: Receipts, events: list[str] = EVENTS) -> Deployment:
        clock = Clock()
        services = WebhooksServices(
            TOKEN, layer.app_id, base_url=layer.base_url, queue=MemoryQueue(now=clock), store=MemoryStore(now=clock)
        )
        hook = Hook("Unread", "/unread", events, receipts=receipts)
        receiver = services.receipts(SECRET, [hook])
        server = serve(WebhookMiddleware(None, receiver))
        base_url = server.__enter__()
        stack.append(server)
        report = services.register(SECRET, base_url, [hook], wait_active=True)
        assert report.ok, str(report)
        return Deployment(layer, base_url, hook, services, clock)

    yield make
    for server in stack:
        server.__exit__(None, None, None)


def test_three_recipients_one_reads_the_other_two_are_reported(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay="5 minutes"))
    conversation = layer.create_conversation(["alice", "bob", "carol", "dave"])
    message = layer.send_message(conversation, "alice", "lunch?")
    world.run()
    layer.mark(message, "bob", "read")
    world.run(299)
    assert world.reports == []
    world.run(1)
    [report] = world.reports
    assert report.data["recipients"] == ["carol", "dave"]
    assert report.data["message"]["id"] == message["id"]
    assert report.data["identities"] == {}
    assert all(d.delivered for d in layer.deliveries)


def test_identities_true_returns_the_emulators_identities(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=60_000, report_for_status=["sent", "delivered"], identities=True))
    layer.set_identity("alice", display_name="Alice A.", email_address="alice@example.com")
    layer.set_identity("carol", display_name="Carol C.")
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(conversation, "alice", "hello")
    layer.mark(message, "carol", "delivered")
    world.run()
    world.run(60)
    [report] = world.reports
    assert report.data["recipients"] == ["bob", "carol"]
    identities = report.data["identities"]
    assert set(identities) == {"alice", "bob", "carol"}
    assert identities["alice"]["display_name"] == "Alice A."
    assert identities["alice"]["email_address"] == "alice@example.com"
    assert identities["carol"]["display_name"] == "Carol C."
    assert identities["bob"] is None  # unknown to Layer: 404, logged, and the report still goes


def test_refresh_reads_statuses_the_hook_never_received(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=60_000, refresh=True), events=["message.sent"])
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(conversation, "alice", "hello")
    world.run()
    layer.mark(message, "bob", "read")  # not delivered to this hook: only refresh can see it
    world.run(60)
    [report] = world.reports
    assert report.data["recipients"] == ["carol"]


def test_refresh_of_a_message_layer_no_longer_has_reports_nothing(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=60_000, refresh=True), events=["message.sent"])
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "hello")
    world.run()
    layer.delete_message(message)
    world.run(60)
    assert world.reports == []
    assert world.services.queue.pending() == []


def test_a_deleted_message_makes_no_report(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=60_000))
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "oops")
    world.run()
    layer.delete_message(message)
    world.run(60)
    assert world.reports == []


def test_conversation_events_make_no_error_and_no_state(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=60_000), events=[*EVENTS, "conversation.created", "conversation.deleted"])
    conversation = layer.create_conversation(["alice", "bob"])
    layer.delete_conversation(conversation)
    assert all(d.delivered for d in layer.deliveries)
    assert world.services.queue.pending() == []
    assert len(world.services.store) == 0
