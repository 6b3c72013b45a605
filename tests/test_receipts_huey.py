"""Receipts on the production stack: HueyQueue and RedisStore on a real redis-server, a real
huey consumer, the receiver served on loopback, Layer's emulator delivering over HTTP."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("werkzeug")
pytest.importorskip("huey")
pytest.importorskip("redis")

from huey import RedisHuey
from wsgi_server import serve

from layer_webhooks import Hook, Job, Receipts, WebhooksServices
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.redis import RedisStore
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator, make_event

TOKEN = "receipts token"
SECRET = "receipts secret"
EVENTS = ["message.sent", "message.delivered", "message.read", "message.deleted"]
pytestmark = pytest.mark.slow


class Stack:
    """Everything a deployment runs, in this process: web receiver, consumer, emulator."""

    def __init__(self, layer: LayerEmulator, redis_url: str, receipts: Receipts) -> None:
        name = f"receipts-{uuid.uuid4().hex[:8]}"
        self.huey = RedisHuey(name, url=redis_url)
        self.queue = HueyQueue(self.huey, lease=5)
        self.store = RedisStore(self.huey.storage.conn, prefix=f"{name}:")
        self.services = WebhooksServices(
            TOKEN, layer.app_id, base_url=layer.base_url, queue=self.queue, store=self.store
        )
        self.hook = Hook("Unread", "/unread", EVENTS, receipts=receipts)
        self.reports: list[Job] = []
        self._lock = threading.Lock()
        self.services.process("Unread")(self.report)
        self.receiver = self.services.receipts(SECRET, [self.hook])
        self.layer = layer

    def report(self, job: Job) -> None:
        with self._lock:
            self.reports.append(job)

    def wait_reports(self, count: int, timeout: float) -> list[Job]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.reports) >= count:
                    return list(self.reports)
            time.sleep(0.05)
        with self._lock:
            return list(self.reports)


@pytest.fixture
def layer() -> Iterator[LayerEmulator]:
    with LayerEmulator(token=TOKEN, retry_scale=0.0005) as emulator:
        yield emulator


@pytest.fixture
def stack(layer: LayerEmulator, redis_server: Any) -> Iterator[Any]:
    made: list[tuple[Any, Any]] = []
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def make(receipts: Receipts) -> Stack:
        running = Stack(layer, redis_server.url, receipts)
        server = serve(WebhookMiddleware(None, running.receiver))
        base_url = server.__enter__()
        consumer = running.huey.create_consumer(workers=2, worker_type="thread", periodic=False)
        consumer.start()  # also sets signal handlers: restored below
        made.append((server, consumer))
        report = running.services.register(SECRET, base_url, [running.hook], wait_active=True)
        assert report.ok, str(report)
        return running

    yield make
    for server, consumer in made:
        consumer.stop(graceful=True)
        server.__exit__(None, None, None)
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_one_reads_the_other_two_are_reported_with_identities(layer: LayerEmulator, stack: Any) -> None:
    world = stack(Receipts(delay="2 sec", identities=True))
    layer.set_identity("carol", display_name="Carol")
    conversation = layer.create_conversation(["alice", "bob", "carol", "dave"])
    message = layer.send_message(conversation, "alice", "lunch?")
    layer.mark(message, "bob", "read")
    reports = world.wait_reports(1, timeout=15)
    assert [r.data["recipients"] for r in reports] == [["carol", "dave"]]
    assert reports[0].id == f"Unread:{message['id']}"
    assert reports[0].data["identities"]["carol"]["display_name"] == "Carol"
    assert reports[0].data["identities"]["dave"] is None
    time.sleep(1.5)  # nothing else comes, and no state is left behind
    assert len(world.reports) == 1
    assert world.store.client.keys(f"{world.store.prefix}receipts:*") == []


def test_a_duplicated_delivery_and_a_read_before_sent_give_one_right_report(layer: LayerEmulator, stack: Any) -> None:
    world = stack(Receipts(delay="2 sec"))
    kwargs: dict[str, Any] = {"sender": "alice", "recipients": ["bob", "carol"], "config": {"name": "Unread"}}
    sent = make_event("message.sent", **kwargs)
    early = make_event(
        "message.read",
        sender="alice",
        recipients={"bob": "read", "carol": "sent"},
        actor="bob",
        message_id=sent["message"]["id"],
        conversation=sent["message"]["conversation"]["id"],
    )
    layer.publish(early)  # the read arrives first (Layer retried the message.sent on its own)
    time.sleep(0.5)
    layer.publish(sent)
    layer.publish(sent)  # and the message.sent twice
    reports = world.wait_reports(1, timeout=15)
    time.sleep(1.5)
    assert [r.data["recipients"] for r in world.reports] == [["carol"]]
    assert reports[0].data["message"]["id"] == sent["message"]["id"]


def test_a_deleted_message_is_not_reported(layer: LayerEmulator, stack: Any) -> None:
    world = stack(Receipts(delay="2 sec"))
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "oops")
    layer.delete_message(message)
    assert world.wait_reports(1, timeout=4.5) == []
