"""Receipts end to end: Layer's emulator delivers over real HTTP to a receipts receiver served
on loopback and registered through the REST client, on three stacks. The receipts delay is
driven, never slept:

- ``memory``: MemoryQueue + MemoryStore on a controlled clock;
- ``huey``: HueyQueue + RedisStore on a real redis-server; the jobs run in the test's thread as
  huey's own tests run them (``huey.dequeue()``, then ``huey.execute(task, timestamp)``), on a
  timestamp that the test moves past the delay;
- ``huey-consumer``: the same, run by a real huey consumer (2 worker threads, so that two events
  of one message can be handled at once) in this process, the test playing its scheduler: once
  the delay has "passed" it hands the consumer the tasks that are due by then.
"""

from __future__ import annotations

import datetime
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("werkzeug")

from support.clock import Clock
from support.emulator import emulator_fixture
from support.wsgi_server import Served

from layer_webhooks import Hook, Job, MemoryQueue, MemoryStore, Queue, Receipts, Store, WebhooksServices
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator, make_event

TOKEN = "receipts token"
SECRET = "receipts secret"
DELAY = 2.0
EVENTS = ["message.sent", "message.delivered", "message.read", "message.deleted"]
V2_EVENTS = ["Message.created", "Receipt.created", "Message.deleted"]
pytestmark = pytest.mark.slow


class Stack:
    """Queue, store and the two ways of letting time pass, for one backend."""

    queue: Queue
    store: Store

    def settle(self) -> None:
        """Let every job that is due now run."""
        raise NotImplementedError

    def after_delay(self) -> None:
        """Let the receipts delay pass and every job run."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop what the stack started."""

    def state_keys(self) -> int:
        """How many receipts records the store holds."""
        raise NotImplementedError


class MemoryStack(Stack):
    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.clock = Clock(5_000.0)
        self.queue = self.memory_queue = MemoryQueue(now=self.clock)
        self.store = self.memory_store = MemoryStore(now=self.clock)

    def settle(self) -> None:
        self.memory_queue.run_due()

    def after_delay(self) -> None:
        self.clock.t += DELAY
        self.memory_queue.run_due()

    def state_keys(self) -> int:
        return sum(1 for key in self.memory_store._data if key.startswith("receipts:"))


class HueyStack(Stack):
    def __init__(self, request: pytest.FixtureRequest, *, consumer: bool) -> None:
        pytest.importorskip("huey")
        pytest.importorskip("redis")
        from huey import RedisHuey

        from layer_webhooks.adapters.huey import HueyQueue
        from layer_webhooks.adapters.redis import RedisStore

        redis_server = request.getfixturevalue("redis_server")
        name = f"receipts-{uuid.uuid4().hex[:8]}"
        # The consumer's workers block 0.1 s on an empty queue (so that stopping them is quick);
        # the test's own dequeue does not block at all.
        self.huey = RedisHuey(name, url=redis_server.url, blocking=consumer, read_timeout=0.1)
        self.queue = self.huey_queue = HueyQueue(self.huey, lease=5)
        self.store = self.redis_store = RedisStore(self.huey.storage.conn, prefix=f"{name}:")
        self.with_consumer = consumer
        self.ahead = 0.0  # how far the test has moved huey's time past the real one (s)
        self.signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        self.consumer: Any = None

    def start(self) -> None:
        if self.with_consumer:
            self.consumer = self.huey.create_consumer(workers=2, worker_type="thread", periodic=False)
            self.consumer.start()  # it sets signal handlers: restored in close()

    def _timestamp(self) -> datetime.datetime:
        """Huey's kind of timestamp (naive UTC), moved ahead by the time the test let pass."""
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        return now + datetime.timedelta(seconds=self.ahead)

    def _run_due(self) -> None:
        """Run every task due by the test's timestamp, here, as a huey worker and scheduler would."""
        for _ in range(1000):
            at = self._timestamp()
            for task in self.huey.read_schedule(at):
                self.huey.enqueue(task)
            task = self.huey.dequeue()
            if task is None:
                return
            self.huey.execute(task, at)  # one not due yet goes (back) to the schedule
        raise AssertionError(f"jobs kept coming: {self.huey_queue.pending()}")

    def _hand_due_to_the_consumer(self) -> None:
        for task in self.huey.read_schedule(self._timestamp()):
            task.eta = None  # the consumer's workers read the real time: make it due for them too
            self.huey.enqueue(task)

    def _wait(self, done: Callable[[list[Job]], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.huey_queue.pending()):
            assert time.monotonic() < deadline, f"jobs still pending: {self.huey_queue.pending()}"
            if self.ahead:
                self._hand_due_to_the_consumer()
            time.sleep(0.02)

    def settle(self) -> None:
        if not self.with_consumer:
            self._run_due()
            return
        self._wait(lambda jobs: all(job.name.startswith("receipts:check:") for job in jobs), timeout=10)

    def after_delay(self) -> None:
        self.ahead += DELAY
        if not self.with_consumer:
            self._run_due()
            return
        self._wait(lambda jobs: not jobs, timeout=10)

    def state_keys(self) -> int:
        return len(self.redis_store.client.keys(f"{self.redis_store.prefix}receipts:*"))

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
        self.huey_queue.close()
        for sig, handler in self.signals.items():
            signal.signal(sig, handler)


def make_stack(kind: str, request: pytest.FixtureRequest) -> Stack:
    if kind == "memory":
        return MemoryStack(request)
    return HueyStack(request, consumer=kind == "huey-consumer")


class World:
    """One deployment: the receipts hook served, registered with the emulator, its reports."""

    def __init__(self, layer: LayerEmulator, stack: Stack, base_url: str, hook: Hook) -> None:
        self.layer, self.stack, self.base_url, self.hook = layer, stack, base_url, hook
        self.reports: list[Job] = []
        self.lock = threading.Lock()

    def report(self, job: Job) -> None:
        with self.lock:
            self.reports.append(job)

    def recipients(self) -> list[list[str]]:
        with self.lock:
            return [job.data["recipients"] for job in self.reports]


layer = emulator_fixture(token=TOKEN, retry_scale=0.0005)


@pytest.fixture(params=["memory", "huey", "huey-consumer"])
def deploy(request: pytest.FixtureRequest, layer: LayerEmulator) -> Iterator[Callable[..., World]]:
    cleanup: list[Callable[[], None]] = []

    def make(receipts: Receipts, events: list[str] = EVENTS, run_twice: bool = False, version: str = "1.0") -> World:
        stack = make_stack(request.param, request)
        cleanup.append(stack.close)
        services = WebhooksServices(TOKEN, layer.app_id, base_url=layer.base_url, queue=stack.queue, store=stack.store)
        if run_twice:  # at-least-once taken literally: every internal job runs twice
            process = stack.queue.process

            def doubled(name: str, handler: Callable[[Job], object], **policy: Any) -> None:
                if name.startswith("receipts:"):
                    process(name, lambda job: (handler(job), handler(job)), **policy)
                else:
                    process(name, handler, **policy)

            stack.queue.process = doubled  # type: ignore[method-assign]
        hook = Hook("Unread", "/unread", events, receipts=receipts)
        receiver = services.receipts(SECRET, [hook])
        served = Served(WebhookMiddleware(None, receiver))
        cleanup.append(served.stop)
        base_url = served.url
        world = World(layer, stack, base_url, hook)
        services.process("Unread")(world.report)
        if isinstance(stack, HueyStack):
            stack.start()
        registration = services.register(SECRET, base_url, [hook], version=version)
        assert registration.ok, str(registration)
        # The emulator verifies the webhook in the background: wait until it is active, looking
        # every 10 ms (register's wait_active looks every 200 ms).
        [webhook] = layer.wait_for(lambda: [w for w in services.client.webhooks.list() if w["status"] == "active"])
        assert webhook["target_url"].startswith(base_url)
        return world

    yield make
    for step in reversed(cleanup):
        step()


def test_three_recipients_one_reads_the_other_two_are_reported(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000))
    conversation = layer.create_conversation(["alice", "bob", "carol", "dave"])
    message = layer.send_message(conversation, "alice", "lunch?")
    world.stack.settle()
    layer.mark(message, "bob", "read")
    world.stack.settle()
    assert world.reports == []
    world.stack.after_delay()
    assert world.recipients() == [["carol", "dave"]]
    [report] = world.reports
    assert report.id == f"Unread:{message['id']}"
    assert report.data["message"]["id"] == message["id"]
    assert report.data["identities"] == {}
    assert world.stack.state_keys() == 0  # nothing lingers
    assert all(d.delivered for d in layer.deliveries)


def test_identities_true_returns_the_emulators_identities(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000, report_for_status=["sent", "delivered"], identities=True))
    layer.set_identity("alice", display_name="Alice A.", email_address="alice@example.com")
    layer.set_identity("carol", display_name="Carol C.")
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(conversation, "alice", "hello")
    world.stack.settle()
    layer.mark(message, "carol", "delivered")
    world.stack.settle()
    world.stack.after_delay()
    [report] = world.reports
    assert report.data["recipients"] == ["bob", "carol"]
    identities = report.data["identities"]
    assert set(identities) == {"alice", "bob", "carol"}
    assert identities["alice"]["email_address"] == "alice@example.com"
    assert identities["carol"]["display_name"] == "Carol C."
    assert identities["bob"] is None  # unknown to Layer: a 404, logged, and the report still goes


def test_a_deleted_message_makes_no_report(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000))
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "oops")
    layer.delete_message(message)  # both events at once: two workers may take them together
    world.stack.settle()
    world.stack.after_delay()
    assert world.reports == []


def test_read_arriving_before_delivered_stays_read(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000, report_for_status=["sent", "delivered"]))
    sent = make_event("message.sent", sender="alice", recipients=["bob", "carol"])
    ids = {"message_id": sent["message"]["id"], "conversation": sent["message"]["conversation"]["id"]}
    layer.publish(sent)
    world.stack.settle()
    statuses = {"bob": "read", "carol": "sent"}
    layer.publish(make_event("message.read", sender="alice", recipients=statuses, actor="bob", **ids))
    world.stack.settle()
    statuses = {"bob": "delivered", "carol": "sent"}
    layer.publish(make_event("message.delivered", sender="alice", recipients=statuses, actor="bob", **ids))
    world.stack.settle()
    world.stack.after_delay()
    assert world.recipients() == [["carol"]]


def test_read_arriving_before_message_sent_is_not_reported(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000))
    sent = make_event("message.sent", sender="alice", recipients=["bob", "carol"])
    ids = {"message_id": sent["message"]["id"], "conversation": sent["message"]["conversation"]["id"]}
    statuses = {"bob": "read", "carol": "sent"}
    layer.publish(make_event("message.read", sender="alice", recipients=statuses, actor="bob", **ids))
    world.stack.settle()
    layer.publish(sent)  # Layer's retry of a message.sent whose first try failed
    world.stack.settle()
    world.stack.after_delay()
    assert world.recipients() == [["carol"]]


def test_a_duplicated_delivery_makes_one_report(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000))
    sent = make_event("message.sent", sender="alice", recipients=["bob", "carol"])
    layer.publish(sent)
    layer.publish(sent)
    world.stack.settle()
    world.stack.after_delay()
    assert world.recipients() == [["bob", "carol"]]


def test_every_internal_job_run_twice_makes_one_report(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000), run_twice=True)
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(conversation, "alice", "twice?")
    world.stack.settle()
    layer.mark(message, "bob", "read")
    world.stack.settle()
    world.stack.after_delay()
    assert world.recipients() == [["carol"]]


def test_conversation_events_make_no_error_and_no_state(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000), events=[*EVENTS, "conversation.created", "conversation.deleted"])
    conversation = layer.create_conversation(["alice", "bob"])
    layer.delete_conversation(conversation)
    world.stack.settle()
    assert [d.attempts[-1].status for d in layer.deliveries] == [200, 200]
    assert world.stack.state_keys() == 0
    world.stack.after_delay()
    assert world.reports == []


def test_refresh_reads_statuses_the_hook_never_received(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000, refresh=True), events=["message.sent"])
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(conversation, "alice", "hello")
    world.stack.settle()
    layer.mark(message, "bob", "read")  # not delivered to this hook: only refresh sees it
    world.stack.after_delay()
    assert world.recipients() == [["carol"]]


def test_refresh_of_a_message_layer_no_longer_has_reports_nothing(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000, refresh=True), events=["message.sent"])
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "hello")
    world.stack.settle()
    layer.delete_message(message)  # not delivered to this hook either
    world.stack.after_delay()
    assert world.reports == []
    assert world.stack.state_keys() == 0


# -- Webhooks 2.0: position receipts, encoded identity ids -------------------------------------


def test_v2_a_reader_by_position_is_not_reported(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000, report_for_status=["sent", "delivered"]), V2_EVENTS, version="2.0")
    conversation = layer.create_conversation(["alice", "bob", "carol", "dave"])
    message = layer.send_message(conversation, "alice", "lunch?")
    world.stack.settle()
    layer.mark(message, "bob", "read")  # a 2.0 webhook gets Receipt.created: no message, a position
    layer.mark(message, "carol", "delivered")
    world.stack.settle()
    world.stack.after_delay()
    assert [d.event_type for d in layer.deliveries] == ["Message.created", "Receipt.created", "Receipt.created"]
    [report] = world.reports
    assert report.data["recipients"] == ["carol", "dave"]
    assert report.data["message"]["recipient_status"] == {
        "layer:///identities/alice": "read",
        "layer:///identities/bob": "read",
        "layer:///identities/carol": "delivered",
        "layer:///identities/dave": "sent",
    }
    assert world.stack.state_keys() == 0


def test_v2_encoded_identity_ids_are_users_in_the_report_and_the_lookups(layer: LayerEmulator, deploy: Any) -> None:
    world = deploy(Receipts(delay=DELAY * 1000, identities=True), V2_EVENTS, version="2.0")
    layer.set_identity("alice@example.com", email_address="alice@example.com")
    layer.set_identity("bob@example.com", email_address="bob@example.com")
    conversation = layer.create_conversation(["alice@example.com", "bob@example.com"])
    layer.send_message(conversation, "alice@example.com", "hello")
    world.stack.settle()
    world.stack.after_delay()
    [report] = world.reports
    assert report.data["recipients"] == ["bob@example.com"]  # the sender is left out
    identities = report.data["identities"]
    assert identities["alice@example.com"]["email_address"] == "alice@example.com"
    assert identities["bob@example.com"]["email_address"] == "bob@example.com"
    # The server decodes the path once: escaped once, the user id arrives as it is.
    lookups = sorted(r.path for r in layer.api_requests if r.path.endswith("/identity"))
    app = f"/apps/{layer.app_id}"
    assert lookups == [f"{app}/users/alice@example.com/identity", f"{app}/users/bob@example.com/identity"]
