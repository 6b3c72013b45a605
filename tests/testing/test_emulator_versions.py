"""The emulator's 2.0 and 3.0 webhooks receive the events of their version, in Layer's v2 shape:
``Message.created`` with its position, a read or a delivery as ``Receipt.created``."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("werkzeug")

from support.emulator import emulator_fixture
from support.target import Target

from layer_webhooks import parse_event, verify_signature
from layer_webhooks.testing import LayerEmulator, make_event

pytestmark = pytest.mark.slow
layer = emulator_fixture()

V1 = ["message.sent", "message.read", "message.delivered", "message.deleted", "conversation.created"]
V2 = ["Message.created", "Receipt.created", "Message.deleted", "Conversation.created"]


def bodies(target: Target) -> list[dict[str, Any]]:
    return [json.loads(post.body) for post in target.posts()]


def subscribe(layer: LayerEmulator, target: Target, events: list[str], version: str) -> None:
    layer.create_webhook(target.url, events, "s3cret", version=version, config={"name": version})
    layer.wait_idle()


def test_a_2_0_webhook_gets_v2_events_and_a_1_0_webhook_the_same_story_in_1_0(layer: LayerEmulator) -> None:
    with Target() as old, Target() as new:
        subscribe(layer, old, V1, "1.0")
        subscribe(layer, new, V2, "2.0")
        conversation = layer.create_conversation(["alice@example.com", "bob", "carol"])
        first = layer.send_message(conversation, "alice@example.com", "one")
        second = layer.send_message(conversation, "bob", "two")
        layer.mark(first, "bob", "read")
        layer.mark(second, "carol", "delivered")
        layer.delete_message(first)
        assert [b["event"]["type"] for b in bodies(old)] == [
            "conversation.created", "message.sent", "message.sent", "message.read", "message.delivered",
            "message.deleted",
        ]  # fmt: skip
        created, sent_one, sent_two, read, delivered, deleted = bodies(new)
        assert [b["event"]["type"] for b in bodies(new)] == [
            "Conversation.created", "Message.created", "Message.created", "Receipt.created", "Receipt.created",
            "Message.deleted",
        ]  # fmt: skip
        posts = new.posts()
    # Layer's v2 shape: identity objects with encoded ids, recipient_status by identity id, positions.
    assert created["conversation"]["participants"][0]["id"] == "layer:///identities/alice%40example.com"
    assert sent_one["actor"]["user_id"] == "alice@example.com"
    assert sent_one["message"]["recipient_status"] == {
        "layer:///identities/alice%40example.com": "read",
        "layer:///identities/bob": "sent",
        "layer:///identities/carol": "sent",
    }
    p1, p2 = sent_one["message"]["position"], sent_two["message"]["position"]
    assert 0 < p1 < p2 and p2 - p1 > 1  # rising, never contiguous
    assert set(read) == {"event", "actor", "conversation", "receipt", "config"}
    assert read["receipt"] == {"type": "Read", "positions": {"from": p1, "to": p1}}
    assert read["actor"]["user_id"] == "bob"
    assert read["conversation"]["id"] == conversation["id"]
    assert delivered["receipt"] == {"type": "Delivery", "positions": {"from": p2, "to": p2}}
    assert deleted["message"]["position"] == p1
    for post, body in zip(posts, bodies(new), strict=True):
        verify_signature(post.body, post.headers["Layer-Webhook-Signature"], "s3cret")
        assert post.headers["Content-Type"] == "application/vnd.layer.webhooks+json; version=2.0"
        assert post.headers["Layer-Webhook-Event-Type"] == body["event"]["type"]
        assert body["config"] == {"name": "2.0"}
        parse_event(post.body)


def test_two_webhooks_of_one_version_get_the_same_event(layer: LayerEmulator) -> None:
    with Target() as one, Target() as two:
        subscribe(layer, one, ["Message.created"], "2.0")
        subscribe(layer, two, ["Message.created"], "2.0")
        layer.send_message(layer.create_conversation(["alice", "bob"]), "alice", "hi")
        [first], [second] = bodies(one), bodies(two)
    assert first["message"] == second["message"]
    assert first["event"]["id"] == second["event"]["id"]


def test_a_3_0_webhook_gets_v2_events_too(layer: LayerEmulator) -> None:
    with Target() as target:
        subscribe(layer, target, ["Message.created", "MessagePart.created"], "3.0")
        layer.send_message(layer.create_conversation(["alice", "bob"]), "alice", "hi")
        [body] = bodies(target)
        headers = target.posts()[0].headers
    assert body["event"]["type"] == "Message.created"
    assert headers["Content-Type"].endswith("version=3.0")


def test_a_webhook_gets_only_the_v2_events_it_subscribed_to(layer: LayerEmulator) -> None:
    with Target() as target:
        subscribe(layer, target, ["Receipt.created"], "2.0")
        message = layer.send_message(layer.create_conversation(["alice", "bob"]), "alice", "hi")
        layer.mark(message, "bob", "read")
        [body] = bodies(target)
    assert body["event"]["type"] == "Receipt.created"


def test_published_payloads_reach_each_version_in_its_own_shape(layer: LayerEmulator) -> None:
    with Target() as old, Target() as new:
        subscribe(layer, old, ["message.sent"], "1.0")
        subscribe(layer, new, ["Message.created", "Receipt.created"], "2.0")
        v1 = make_event("message.sent", sender="alice", recipients=["bob"])
        layer.publish(v1)  # rendered for the 2.0 webhook
        v2 = make_event("Receipt.created", actor="bob", positions=(1, 9))
        layer.publish(v2)  # as it is, to the 2.0 webhook only
        assert [b["event"]["type"] for b in bodies(old)] == ["message.sent"]
        rendered, receipt = bodies(new)
    assert rendered["event"]["type"] == "Message.created"
    assert rendered["event"]["id"] == v1["event"]["id"]
    assert rendered["message"]["id"] == v1["message"]["id"]
    assert isinstance(rendered["message"]["position"], int)
    assert receipt["receipt"] == v2["receipt"]


def test_a_webhook_of_2_0_refuses_1_0_event_names(layer: LayerEmulator) -> None:
    from layer_webhooks import LayerAPIError

    with pytest.raises(LayerAPIError) as info:
        layer.create_webhook("http://127.0.0.1:9/hook", ["message.read"], "s", version="2.0")
    assert info.value.status == 422


def test_render_of_events_that_have_no_v2_form() -> None:
    from layer_webhooks.testing.emulator._chat_state import ChatState
    from layer_webhooks.testing.emulator._versions import render

    chat = ChatState("082d4684-0992-11e5-a6c0-1697f925ec7b", "https://api.layer.com")
    assert render(chat, {"event": {"type": "message.edited", "id": "e"}}, "2.0") is None
    read = make_event("message.read", actor="bob")
    del read["event"]["actor"]  # a read by nobody: no Receipt.created
    assert render(chat, read, "2.0") is None
    rendered = render(chat, make_event("message.read", actor="bob"), "3.0")
    assert rendered is not None and rendered["receipt"]["type"] == "Read"
    # a message the chat state never saw is placed on first sight, and keeps its place
    sent = make_event("message.sent")
    first = render(chat, sent, "2.0")
    assert first is not None and first["message"]["position"] == render(chat, sent, "2.0")["message"]["position"]  # type: ignore[index]
