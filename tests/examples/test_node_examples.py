"""The Node module's examples, ported (examples/node/), each scenario end to end.

Layer's emulator delivers over real HTTP to the example server (``server.build``: the groups'
receivers behind the WSGI middleware, served on loopback, registered through the REST client);
the bots answer through ``services.client``, so that each reply is itself delivered as a
``message.sent`` webhook, which listen's bot guard keeps out of the queue. Run on two stacks:

- ``memory``: MemoryQueue + MemoryStore on a controlled clock;
- ``huey``: HueyQueue + RedisStore on a real redis-server, the jobs run in the test's thread
  as huey's own tests run them (``dequeue()``, then ``execute(task, timestamp)``).

Receipts delays are driven (the clock, or huey's timestamps), never slept. Each scenario counts
its deliveries and its job runs exactly: a bot loop would show as more of both.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("werkzeug")

from support.clock import Clock
from support.emulator import emulator_fixture
from support.wsgi_server import Served

from layer_webhooks import Job, MemoryQueue, MemoryStore, Queue, Store, WebhooksServices
from layer_webhooks.testing import LayerEmulator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "node examples token"
if not (ROOT / "examples" / "node" / "server.py").exists():
    pytest.skip("examples/node is not in this tree", allow_module_level=True)
sys.path.append(str(ROOT))  # last: the layer_webhooks under test stays the one already imported
server = importlib.import_module("examples.node.server")


class Stack:
    """A queue and a store, and the two ways of letting time pass."""

    queue: Queue
    store: Store
    now: Callable[[], float] | None = None

    def run_due(self) -> int:
        """Run every job due now, here; return how many ran."""
        raise NotImplementedError

    def advance(self, seconds: float) -> int:
        """Let ``seconds`` pass, then run every job due; return how many ran."""
        raise NotImplementedError

    def pending(self) -> list[Job]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class MemoryStack(Stack):
    def __init__(self) -> None:
        self.clock = self.now = Clock(70_000.0)
        self.queue = self.memory = MemoryQueue(now=self.clock)
        self.store = MemoryStore(now=self.clock)

    def run_due(self) -> int:
        return self.memory.run_due()

    def advance(self, seconds: float) -> int:
        self.clock.advance(seconds)
        return self.memory.run_due()

    def pending(self) -> list[Job]:
        return self.memory.pending()


class HueyStack(Stack):
    def __init__(self, redis_url: str) -> None:
        from huey import RedisHuey

        from layer_webhooks.adapters.huey import HueyQueue
        from layer_webhooks.adapters.redis import RedisStore

        name = f"node-examples-{uuid.uuid4().hex[:8]}"
        self.huey = RedisHuey(name, url=redis_url, blocking=False)
        self.queue = self.huey_queue = HueyQueue(self.huey)
        self.store = RedisStore(self.huey.storage.conn, prefix=f"{name}:")
        self.ahead = 0.0  # how far the test has moved huey's time past the real one (s)

    def run_due(self) -> int:
        ran = 0
        for _ in range(1000):
            at = self.huey._get_timestamp() + datetime.timedelta(seconds=self.ahead)
            for task in self.huey.read_schedule(at):
                self.huey.enqueue(task)
            task = self.huey.dequeue()
            if task is None:
                return ran
            ran += bool(self.huey.ready_to_run(task, at))
            self.huey.execute(task, timestamp=at)  # one not due yet goes (back) to the schedule
        raise AssertionError(f"jobs kept coming: {self.huey_queue.pending()}")

    def advance(self, seconds: float) -> int:
        self.ahead += seconds
        return self.run_due()

    def pending(self) -> list[Job]:
        return self.huey_queue.pending()

    def close(self) -> None:
        self.huey_queue.close()


class World:
    """The example server for some groups, registered with the emulator; its job runs counted."""

    def __init__(self, layer: LayerEmulator, stack: Stack, groups: tuple[str, ...]) -> None:
        self.layer, self.stack = layer, stack
        self.runs: Counter[str] = Counter()
        process = stack.queue.process

        def counted(name: str, handler: Callable[[Job], object], **policy: Any) -> None:
            def run(job: Job) -> object:
                self.runs[job.name] += 1
                return handler(job)

            process(name, handler if name.startswith("receipts:") else run, **policy)

        stack.queue.process = counted  # type: ignore[method-assign]
        self.services = WebhooksServices(
            TOKEN,
            layer.app_id,
            base_url=layer.base_url,
            queue=stack.queue,
            store=stack.store,
            now=stack.now or time.time,
        )
        app, hooks = server.build(self.services, groups)
        self.served = Served(app)
        report = self.services.register(server.SECRET, self.served.url, hooks)
        assert report.ok, str(report)
        layer.wait_idle()
        assert [w["status"] for w in layer.list_webhooks()] == ["active"] * len(hooks)
        self.seen = 0

    def deliveries(self) -> list[tuple[str, str, str]]:
        """``(hook path, event type, sender)`` of each delivery since the last call, sorted;
        each was answered 2xx."""
        new, self.seen = self.layer.deliveries[self.seen :], len(self.layer.deliveries)
        found = []
        for delivery in new:
            assert delivery.delivered, delivery
            sender = (delivery.payload.get("message") or {}).get("sender") or {}
            who = sender.get("user_id") or sender.get("name") or ""
            found.append((urlsplit(delivery.target_url).path, delivery.event_type, who))
        return sorted(found)

    def bot_messages(self) -> list[tuple[str, str]]:
        """``(bot name, text)`` of every message sent by a service, oldest first."""
        return [
            (message["sender"]["name"], "; ".join(part["body"] for part in message["parts"]))
            for message in self.layer.messages()
            if "user_id" not in message["sender"]
        ]


layer = emulator_fixture(token=TOKEN, retry_scale=0.0005)


@pytest.fixture(params=["memory", "huey"])
def world(request: pytest.FixtureRequest, layer: LayerEmulator) -> Iterator[Callable[..., World]]:
    made: list[World] = []

    def make(*groups: str) -> World:
        if request.param == "memory":
            stack: Stack = MemoryStack()
        else:
            pytest.importorskip("huey")
            pytest.importorskip("redis")
            stack = HueyStack(request.getfixturevalue("redis_server").url)
        made.append(World(layer, stack, groups))
        return made[-1]

    yield make
    for one in made:
        one.served.stop()
        one.stack.close()


INLINE = "/inline_sample_message_sent"
BASIC = ("inline", "basic")


def bot_echoes(bot: str) -> list[tuple[str, str, str]]:
    """The deliveries of one bot message to the inline and basic groups (both skip it)."""
    return [(INLINE, "message.sent", bot), ("/message-sent", "message.sent", bot)]


def test_welcome_bot_opens_each_new_conversation(world: Callable[..., World]) -> None:
    w = world(*BASIC)
    w.layer.create_conversation(["alice", "bob", "carol"], actor="alice")
    w.layer.create_conversation(["alice", "bob"], actor="bob")
    assert w.stack.run_due() == 2
    assert w.bot_messages() == [
        ("Welcome-bot", "Starting a dialog with 2 users"),
        ("Welcome-bot", "Starting a dialog with 1 user"),
    ]
    created = ("/conversation-create", "conversation.created", "")
    assert w.deliveries() == sorted([created, created, *bot_echoes("Welcome-bot") * 2])
    [reply, _] = w.layer.messages()
    assert reply["sender"] == {"name": "Welcome-bot"}  # a service sender: no user_id
    assert w.runs == {"conversation-create": 2}  # the replies made no job: the bot guard
    assert w.stack.run_due() == 0
    assert w.stack.pending() == []


def test_participant_and_metadata_changes_are_answered(world: Callable[..., World]) -> None:
    w = world(*BASIC)
    conversation = w.layer.create_conversation(["alice", "bob"], actor="alice")
    w.stack.run_due()
    w.deliveries()
    w.layer.update_participants(conversation, add=["carol"], actor="alice")
    w.layer.set_metadata(conversation, {"conversationName": "Lunch plans"}, actor="bob")
    w.layer.set_metadata(conversation, {"theme": "dark"}, actor="bob")  # no name: no answer
    # Through the Platform API too: Layer sends the same webhook for the client's PATCH.
    w.services.client.conversations.update_metadata(conversation, {"conversationName": "Dinner"})
    assert w.stack.run_due() == 4
    assert w.bot_messages()[1:] == [
        ("Welcome-bot", "Participants have left or joined this conversation..."),
        ("Welcome-bot", "The topic has been changed to Lunch plans"),
        ("Welcome-bot", "The topic has been changed to Dinner"),
    ]
    assert w.deliveries() == sorted(
        [("/conversation-participant-change", "conversation.updated.participants", "")]
        + [("/conversation-metadata-change", "conversation.updated.metadata", "")] * 3
        + bot_echoes("Welcome-bot") * 3
    )
    assert w.runs == {"conversation-create": 1, "conversation-participant-change": 1, "conversation-metadata-change": 3}
    assert w.layer.conversation(conversation)["metadata"] == {"theme": "dark", "conversationName": "Dinner"}
    assert w.stack.run_due() == 0


def test_die_bot_and_food_bot_answer_keywords(world: Callable[..., World], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="examples.node")
    w = world(*BASIC)
    conversation = w.layer.create_conversation(["alice", "bob"], actor="alice")
    w.stack.run_due()
    w.deliveries()
    w.layer.send_message(conversation, "alice", "I will DIE 3 times unless I eat my vegetables")
    w.layer.send_message(conversation, "bob", "die 25")
    w.layer.send_message(conversation, "bob", "Shall we eat?")
    w.layer.send_message(conversation, "alice", "diet and eating are no keywords")
    assert w.stack.run_due() == 8  # four messages, each to the inline and the message-sent hook
    (dice_bot, dice), *others = w.bot_messages()[1:]
    assert dice_bot == "Die-bot" and re.fullmatch(r"Rolled a [1-6], [1-6] and [1-6]", dice)
    assert others[0] == ("Food-bot", "My vegetables taste a lot better than yours")
    assert others[1] == ("Die-bot", "I only have 20 dice: I will not roll 25")
    assert others[2][0] == "Food-bot" and others[2][1] in server.message_sent.FOOD_LINES
    assert len(others) == 3
    users = [(INLINE, "message.sent", u) for u in ("alice", "bob", "bob", "alice")]
    users += [("/message-sent", "message.sent", u) for u in ("alice", "bob", "bob", "alice")]
    bots = bot_echoes("Die-bot") * 2 + bot_echoes("Food-bot") * 2
    assert w.deliveries() == sorted(users + bots)
    assert w.runs == {"conversation-create": 1, "Inline Sample": 4, "message-sent": 4}
    logged = sorted(r.getMessage() for r in caplog.records if r.name == "examples.node")
    assert logged == ["Inline Sample: a message from alice"] * 2 + ["Inline Sample: a message from bob"] * 2
    assert w.stack.run_due() == 0


def test_delete_bot_repeats_the_deleted_text(world: Callable[..., World]) -> None:
    w = world(*BASIC)
    conversation = w.layer.create_conversation(["alice", "bob"], actor="alice")
    two = w.layer.send_message(
        conversation,
        "alice",
        parts=[
            {"body": "the plan", "mime_type": "text/plain"},
            {"body": "aGk=", "mime_type": "image/png", "encoding": "base64"},
            {"body": "is secret", "mime_type": "text/plain"},
        ],
    )
    picture = w.layer.send_message(conversation, "bob", parts=[{"body": "aGk=", "mime_type": "image/png"}])
    long = w.layer.send_message(conversation, "bob", "é" * 1024)  # 2048 bytes: the reply must be cut
    w.stack.run_due()
    w.deliveries()
    for message in (two, picture, long):
        w.layer.delete_message(message)
    assert w.stack.run_due() == 3
    deleted = w.bot_messages()[1:]
    assert deleted[0] == ("Delete-bot", "The following message was deleted: the plan; is secret")
    assert deleted[1][1].startswith("The following message was deleted: éé") and deleted[1][1].endswith("...")
    assert len(deleted[1][1].encode()) <= 2048
    assert len(deleted) == 2
    assert w.deliveries() == sorted(
        [("/message-delete", "message.deleted", u) for u in ("alice", "bob", "bob")] + bot_echoes("Delete-bot") * 2
    )
    assert w.runs["message-delete"] == 3


def test_a_deleted_conversation_is_announced_to_its_participants(world: Callable[..., World]) -> None:
    w = world(*BASIC)
    named = w.layer.create_conversation(["alice", "bob"], metadata={"conversationName": "Lunch"}, actor="alice")
    unnamed = w.layer.create_conversation(["alice", "bob", "carol"], actor="alice")
    w.stack.run_due()
    w.deliveries()
    w.layer.delete_conversation(named, actor="alice")
    w.layer.delete_conversation(unnamed, actor="bob")
    assert w.stack.run_due() == 2
    first, second = w.layer.announcements
    assert first["recipients"] == ["alice", "bob"]
    assert first["sender"]["name"] == "System Alerts"
    assert first["parts"] == [{"body": "The Conversation Lunch has been deleted", "mime_type": "text/plain"}]
    assert second["recipients"] == ["alice", "bob", "carol"]
    assert second["parts"][0]["body"] == "The Conversation with alice, bob and carol has been deleted"
    sent = [r.json() for r in w.layer.api_requests if r.path.endswith("/announcements")]
    assert [body["notification"] for body in sent] == [{"text": "Conversation Deleted", "sound": "chime.aiff"}] * 2
    # Announcements make no webhook event: only the two deletions were delivered.
    assert w.deliveries() == [("/conversation-delete", "conversation.deleted", "")] * 2


def test_receipts_report_after_their_delays(world: Callable[..., World], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="examples.node")
    w = world("receipts")
    w.layer.set_identity("carol", display_name="Carol C.")
    conversation = w.layer.create_conversation(["alice", "bob", "carol", "dave"], actor="alice")
    message = w.layer.send_message(conversation, "alice", "lunch?")
    for user in ("bob", "carol"):
        w.layer.mark(message, user, "delivered")
    w.layer.mark(message, "bob", "read")
    w.stack.run_due()
    assert w.deliveries() == sorted(
        [("/message-read", "message.sent", "alice"), ("/message-delivered", "message.sent", "alice")]
        + [("/message-delivered", "message.delivered", "alice")] * 2
        + [("/message-read", "message.read", "alice")]
    )

    def reports() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "examples.node"]

    w.stack.advance(14)
    assert reports() == []
    w.stack.advance(1)  # 15 s: the undelivered report
    assert reports() == [f"message-delivered: {message['id']} was not delivered to dave"]
    w.stack.advance(14)
    assert len(reports()) == 1
    w.stack.advance(1)  # 30 s: the unread report, with the identities Layer has
    assert reports()[1:] == [
        f"message-read: carol (Carol C.) has not read {message['id']}",
        f"message-read: dave (no identity) has not read {message['id']}",
    ]
    assert w.runs == {"message-delivered": 1, "message-read": 1}
    assert w.stack.pending() == []


def test_a_deleted_message_gets_no_receipts_report(
    world: Callable[..., World], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="examples.node")
    w = world("receipts")
    conversation = w.layer.create_conversation(["alice", "bob"], actor="alice")
    message = w.layer.send_message(conversation, "alice", "oops")
    w.layer.delete_message(message)
    w.stack.run_due()
    w.stack.advance(31)
    assert [r for r in caplog.records if r.name == "examples.node"] == []
    assert w.runs == {}


def test_the_whole_server_reports_no_bot_message(world: Callable[..., World], caplog: pytest.LogCaptureFixture) -> None:
    """Every group at once, as the Node example server ran them: the bots' replies reach the
    receipts hooks too, which keep them out as listen does (waits on the receipts bot guard)."""
    caplog.set_level(logging.INFO, logger="examples.node")
    w = world("inline", "basic", "receipts")
    conversation = w.layer.create_conversation(["alice", "bob"], actor="alice")
    message = w.layer.send_message(conversation, "alice", "die 2")
    w.stack.run_due()
    assert [bot for bot, _ in w.bot_messages()] == ["Welcome-bot", "Die-bot"]
    w.stack.advance(31)
    reports = [r.getMessage() for r in caplog.records if r.name == "examples.node" and "message-" in r.getMessage()]
    assert reports == [
        f"message-delivered: {message['id']} was not delivered to bob",
        f"message-read: bob (no identity) has not read {message['id']}",
    ]
    assert w.runs == {
        "conversation-create": 1,
        "Inline Sample": 1,
        "message-sent": 1,
        "message-delivered": 1,
        "message-read": 1,
    }
    assert w.stack.pending() == []
