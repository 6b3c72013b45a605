"""The kit speaks Layer's v2/v3: ``Receipt.created`` in Layer's shape, encoded identity ids,
``message.position`` (no werkzeug needed)."""

from __future__ import annotations

import json

import pytest
from support.payloads import recorded

from layer_webhooks import parse_event
from layer_webhooks.receipts._rules import receipt_range
from layer_webhooks.testing import EVENT_TYPES, compact, make_event


def keys(value: object) -> object:
    """The structure of a JSON object: its keys, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


def test_receipt_created_is_layers_shape_with_no_message() -> None:
    payload = make_event(
        "Receipt.created",
        sender="alice",
        recipients=["bob", "carol"],
        conversation="layer:///conversations/0f9a0c4e-6b0e-4f7b-9a53-3f7c3c1c2b01",
        positions=(262667829248, 262667895000),
        receipt="Delivery",
        event_id="e-1",
    )
    assert set(payload) == {"event", "actor", "conversation", "receipt"}
    assert payload["event"]["type"] == "Receipt.created" and payload["event"]["id"] == "e-1"
    assert "actor" not in payload["event"]
    assert payload["actor"]["id"] == "layer:///identities/bob"  # the first recipient, unless given
    assert payload["receipt"] == {"type": "Delivery", "positions": {"from": 262667829248, "to": 262667895000}}
    conversation = payload["conversation"]
    assert conversation["id"] == "layer:///conversations/0f9a0c4e-6b0e-4f7b-9a53-3f7c3c1c2b01"
    assert [p["user_id"] for p in conversation["participants"]] == ["alice", "bob", "carol"]
    event = parse_event(compact(payload))
    assert event.message is None
    assert event.actor is not None and event.actor.user_id == "bob"
    assert receipt_range(payload, "bob") == {
        "conversation": conversation["id"],
        "actor": "bob",
        "status": "delivered",
        "from": 262667829248,
        "to": 262667895000,
    }


def test_receipt_created_defaults_one_position_read_by_the_actor_given() -> None:
    payload = make_event("Receipt.created", actor="carol", position=42, config={"name": "Unread"})
    assert payload["receipt"] == {"type": "Read", "positions": {"from": 42, "to": 42}}
    assert payload["actor"]["user_id"] == "carol"
    assert payload["config"] == {"name": "Unread"}


def test_identity_ids_are_encoded_as_encode_uri_component_does() -> None:
    payload = make_event("Message.created", sender="alice@example.com", recipients=["bob smith", "c/d"])
    message = payload["message"]
    assert payload["actor"]["id"] == "layer:///identities/alice%40example.com"
    assert payload["actor"]["user_id"] == "alice@example.com"
    assert message["sender"]["id"] == "layer:///identities/alice%40example.com"
    assert set(message["recipient_status"]) == {
        "layer:///identities/alice%40example.com",
        "layer:///identities/bob%20smith",
        "layer:///identities/c%2Fd",
    }
    view = parse_event(compact(payload)).message
    assert view is not None
    assert dict(view.recipient_status) == {"alice@example.com": "read", "bob smith": "sent", "c/d": "sent"}


def test_participants_are_identities_with_encoded_ids() -> None:
    payload = make_event("Conversation.created", participants=["alice@example.com", "bob"])
    ids = [p["id"] for p in payload["conversation"]["participants"]]
    assert ids == ["layer:///identities/alice%40example.com", "layer:///identities/bob"]
    conversation = parse_event(compact(payload)).conversation
    assert conversation is not None and conversation.participants == ("alice@example.com", "bob")


@pytest.mark.parametrize("event_type", ["Message.created", "Message.deleted", "MessagePart.created"])
def test_v2_messages_have_their_position(event_type: str) -> None:
    assert make_event(event_type, position=7)["message"]["position"] == 7
    fresh = make_event(event_type)["message"]["position"]
    assert isinstance(fresh, int) and fresh > 0
    view = parse_event(compact(make_event(event_type, position=7))).message
    assert view is not None and view.position == 7
    assert parse_event(compact(make_event("message.sent"))).message.position is None  # type: ignore[union-attr]


def test_the_recorded_deliveries_have_the_shape_the_kit_makes() -> None:
    delivery = recorded("efb-v2-message")
    real = json.loads(delivery["body"])
    made = make_event("Message.created", sender="6516b622", recipients=["35b4f10e"])
    assert set(made) == set(real)
    assert keys(made["event"]) == keys(real["event"])
    assert keys(made["actor"]) == keys(real["actor"])
    assert set(made["message"]) == set(real["message"])
    assert keys(made["message"]["sender"]) == keys(real["message"]["sender"])
    assert keys(made["message"]["parts"]) == keys(real["message"]["parts"])
    assert type(made["message"]["position"]) is type(real["message"]["position"])


def test_event_types_are_layers_table() -> None:
    from layer_webhooks import _layer

    assert EVENT_TYPES is _layer.EVENT_TYPES
    assert "Receipt.created" in EVENT_TYPES["2.0"] and "Receipt.created" in EVENT_TYPES["3.0"]


def test_v2_payloads_keep_the_config_and_receipts_their_participants() -> None:
    assert make_event("Message.created", config={"name": "Unread"})["config"] == {"name": "Unread"}
    receipt = make_event("Receipt.created", participants=["a", "b", "c"], actor="b")
    assert [p["user_id"] for p in receipt["conversation"]["participants"]] == ["a", "b", "c"]
