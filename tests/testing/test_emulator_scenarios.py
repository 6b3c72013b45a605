"""LayerEmulator's scenario helpers: each keeps state and publishes the event Layer would send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("werkzeug")

from support.emulator import emulator_fixture
from support.target import Target

from layer_webhooks import parse_event
from layer_webhooks.testing import EVENT_TYPES, LayerEmulator

pytestmark = pytest.mark.slow


layer = emulator_fixture()


@pytest.fixture
def target(layer: LayerEmulator) -> Iterator[Target]:
    with Target() as endpoint:
        layer.create_webhook(endpoint.url, EVENT_TYPES["1.0"][:8], "s", config={"name": "All"})
        layer.wait_idle()
        yield endpoint


def events(target: Target) -> list[dict[str, Any]]:
    return [json.loads(post.body) for post in target.posts()]


def test_conversation_lifecycle(layer: LayerEmulator, target: Target) -> None:
    conversation = layer.create_conversation(["alice", "bob"], metadata={"title": "Lunch"}, actor="alice")
    assert conversation["participants"] == ["alice", "bob"]
    assert conversation["url"].startswith(layer.base_url)
    updated = layer.set_metadata(conversation, {"title": "Dinner", "nested": {"a": "b"}})
    assert updated["metadata"] == {"title": "Dinner", "nested": {"a": "b"}}
    updated = layer.update_participants(conversation["id"], add=["carol"], remove=["bob"])
    assert updated["participants"] == ["alice", "carol"]
    assert layer.update_participants(conversation, add=["alice"]) == updated  # nothing changes: no event
    layer.delete_conversation(conversation)
    with pytest.raises(KeyError):
        layer.conversation(conversation)

    created, metadata, participants, deleted = events(target)
    assert [e["event"]["type"] for e in (created, metadata, participants, deleted)] == [
        "conversation.created",
        "conversation.updated.metadata",
        "conversation.updated.participants",
        "conversation.deleted",
    ]
    assert created["event"]["actor"] == {"user_id": "alice"}
    assert created["conversation"] == conversation
    # The update events carry the whole conversation after the change, no diff.
    assert metadata["conversation"]["metadata"] == {"title": "Dinner", "nested": {"a": "b"}}
    assert metadata["conversation"]["participants"] == ["alice", "bob"]
    assert participants["conversation"]["participants"] == ["alice", "carol"]
    assert deleted["conversation"]["id"] == conversation["id"]
    assert {e["config"]["name"] for e in (created, metadata, participants, deleted)} == {"All"}


def test_message_lifecycle(layer: LayerEmulator, target: Target) -> None:
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(conversation, "alice", "Hello")
    assert message["recipient_status"] == {"alice": "read", "bob": "sent", "carol": "sent"}
    assert message["parts"][0]["body"] == "Hello"
    assert message["conversation"]["id"] == conversation["id"]

    assert layer.mark(message, "bob", "delivered")["recipient_status"]["bob"] == "delivered"
    assert layer.mark(message["id"], "bob", "read")["recipient_status"]["bob"] == "read"
    assert layer.mark(message, "bob", "delivered")["recipient_status"]["bob"] == "read"  # never back: no event
    assert layer.mark(message, "carol", "read")["recipient_status"] == {"alice": "read", "bob": "read", "carol": "read"}
    layer.delete_message(message)
    with pytest.raises(KeyError):
        layer.message(message)

    _, sent, delivered, read, read_carol, deleted = events(target)
    assert [e["event"]["type"] for e in (sent, delivered, read, read_carol, deleted)] == [
        "message.sent",
        "message.delivered",
        "message.read",
        "message.read",
        "message.deleted",
    ]
    assert sent["message"] == message
    assert sent["event"]["actor"] == {"user_id": "alice"}
    assert delivered["event"]["actor"] == {"user_id": "bob"}
    assert delivered["message"]["recipient_status"] == {"alice": "read", "bob": "delivered", "carol": "sent"}
    assert read["message"]["recipient_status"]["bob"] == "read"
    assert deleted["event"]["actor"] == {"user_id": "alice"}
    assert len({e["event"]["id"] for e in events(target)}) == 6
    event = parse_event(json.dumps(delivered))
    assert event.message is not None and event.message.recipient_status["bob"] == "delivered"


def test_returned_objects_are_copies(layer: LayerEmulator) -> None:
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "Hello")
    message["recipient_status"]["bob"] = "read"
    conversation["participants"].append("mallory")
    assert layer.message(message)["recipient_status"]["bob"] == "sent"
    assert layer.conversation(conversation)["participants"] == ["alice", "bob"]


def test_explicit_recipients_parts_and_a_service_sender(layer: LayerEmulator, target: Target) -> None:
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(
        conversation, "alice", recipients=["bob"], parts=[{"mime_type": "text/x", "body": "x"}]
    )
    assert message["recipient_status"] == {"alice": "read", "bob": "sent"}
    assert message["parts"] == [{"id": message["id"] + "/parts/0", "mime_type": "text/x", "body": "x"}]
    bot = layer.send_message(conversation, {"name": "t-bone"}, "beep")
    assert bot["sender"] == {"name": "t-bone"}
    assert bot["recipient_status"] == {"alice": "sent", "bob": "sent", "carol": "sent"}
    assert events(target)[-1]["event"]["actor"] == {"name": "t-bone"}


def test_deleting_a_conversation_deletes_its_messages(layer: LayerEmulator) -> None:
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "Hello")
    layer.delete_conversation(conversation)
    with pytest.raises(KeyError):
        layer.message(message)


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (lambda layer, c, m: layer.send_message(c, "mallory", "hi"), ValueError),
        (lambda layer, c, m: layer.mark(m, "mallory", "read"), ValueError),
        (lambda layer, c, m: layer.mark(m, "bob", "sent"), ValueError),
        (lambda layer, c, m: layer.send_message("layer:///conversations/nope", "alice", "hi"), KeyError),
        (lambda layer, c, m: layer.mark("nope", "bob", "read"), KeyError),
        (lambda layer, c, m: layer.create_conversation([]), ValueError),
        (lambda layer, c, m: layer.create_conversation("alice"), TypeError),
        (lambda layer, c, m: layer.send_message(c, "alice", "hi", recipients=[""]), ValueError),
        (lambda layer, c, m: layer.set_identity(""), ValueError),
    ],
)
def test_scenario_mistakes_are_refused(layer: LayerEmulator, action: Any, error: type[Exception]) -> None:
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "Hello")
    before = (layer.conversation(conversation), layer.message(message))
    with pytest.raises(error):
        action(layer, conversation, message)
    assert (layer.conversation(conversation), layer.message(message)) == before


def test_helpers_work_before_the_server_starts() -> None:
    layer = LayerEmulator()
    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "hi")
    assert message["url"].startswith("https://api.layer.com/apps/")
    assert layer.mark(message, "bob", "read")["recipient_status"]["bob"] == "read"
    assert layer.deliveries == []
    layer.close()
