from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from support.payloads import compact, fixture_names, load_fixture, recorded

from layer_webhooks import Actor, InvalidPayload, parse_event


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_parses(name: str) -> None:
    payload = load_fixture(name)
    event = parse_event(compact(payload))
    assert event.type == payload["event"]["type"]
    assert event.id == payload["event"]["id"]
    assert event.created_at == datetime(2015, 9, 17, 20, 46, 47, 561000, tzinfo=timezone.utc)
    assert event.config == {"name": "Webhook Example"}
    assert dict(event.raw) == payload
    assert (event.message is None) == ("message" not in payload)
    assert (event.conversation is None) == ("conversation" not in payload)


def test_message_view() -> None:
    event = parse_event(compact(load_fixture("message.sent")))
    message = event.message
    assert message is not None
    assert message.id == "layer:///messages/940de862-3c96-11e4-baad-164230d1df67"
    assert message.conversation == "layer:///conversations/e67b5da2-95ca-40c4-bfc5-a2a8baaeb50f"
    assert message.sent_at == datetime(2014, 9, 9, 4, 44, 47, tzinfo=timezone.utc)
    assert message.sender == Actor("12345", None)
    assert dict(message.recipient_status) == {"12345": "read", "999": "sent", "111": "sent"}
    text, image = message.parts
    assert (text.mime_type, text.body, text.content) == ("text/plain", "This is the message.", None)
    assert image.body is None and image.content is not None and image.content["size"] == 172114124
    assert event.actor == Actor("12345", None)


def test_service_sender_and_actor() -> None:
    event = parse_event(compact(load_fixture("message.sent.platform")))
    assert event.actor == Actor(None, "t-bone")
    assert event.message is not None and event.message.sender == Actor(None, "t-bone")


def test_conversation_view() -> None:
    event = parse_event(compact(load_fixture("conversation.updated.metadata")))
    conversation = event.conversation
    assert conversation is not None
    assert conversation.id == "layer:///conversations/f3cc7b32-3c92-11e4-baad-164230d1df67"
    assert conversation.participants == ("1234", "5678")
    assert conversation.metadata == {"favorite": "true", "background_color": "#3c3c3c"}
    assert conversation.distinct is False
    assert conversation.created_at == datetime(2014, 9, 15, 4, 44, 47, tzinfo=timezone.utc)
    assert event.actor is None


def test_views_are_read_only() -> None:
    event = parse_event(compact(load_fixture("message.sent")))
    with pytest.raises(AttributeError):
        event.type = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.raw["event"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        event.message.recipient_status["999"] = "read"  # type: ignore[index,union-attr]


def test_v2_shapes_are_read_into_the_same_views() -> None:
    delivery = recorded("efb-v2-message")
    event = parse_event(delivery["body"].encode())
    assert event.type == "Message.created"
    assert event.actor is not None and event.actor.user_id == "6516b622-c276-4b88-aeb7-7b9f874362a6"
    assert event.actor.display_name == "Arun Shankar"
    message = event.message
    assert message is not None and message.sender is not None
    assert message.sender.user_id == "6516b622-c276-4b88-aeb7-7b9f874362a6"
    assert dict(message.recipient_status) == {
        "6516b622-c276-4b88-aeb7-7b9f874362a6": "read",
        "35b4f10e-faf1-4cbf-8271-a8a544f133da": "sent",
    }


def test_v2_conversation_participants_as_identities() -> None:
    payload = {
        "event": {"id": "e", "type": "Conversation.created", "created_at": "2017-01-01T00:00:00Z"},
        "conversation": {
            "participants": [{"id": "layer:///identities/a", "user_id": "a"}, "layer:///identities/b", "c"]
        },
    }
    event = parse_event(json.dumps(payload))
    assert event.conversation is not None and event.conversation.participants == ("a", "b", "c")


def test_tolerant_of_unknown_fields_types_and_odd_values() -> None:
    payload = {"event": {"type": "Something.new", "created_at": "yesterday", "extra": [1]}, "message": "not a dict"}
    event = parse_event(json.dumps(payload))
    assert (event.type, event.id, event.created_at, event.message, event.actor) == (
        "Something.new",
        None,
        None,
        None,
        None,
    )
    assert event.config == {}


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b'{"event": null}', b'{"event": {"type": null}}', b"{,}"])
def test_invalid_payloads(body: bytes) -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_event(body)
    assert info.value.status_code == 400
    assert isinstance(info.value, ValueError)
