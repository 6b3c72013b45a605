"""The test kit: make_event, layer_headers, signed_request (no werkzeug needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.payloads import SECRET, fixture_names, load_fixture

from layer_webhooks import Hook, InvalidSignature, MemoryQueue, Receiver, parse_event, sign, verify_signature
from layer_webhooks.testing import EVENT_TYPES, compact, layer_headers, make_event, signed_request

V1_TYPES = [t for t in EVENT_TYPES["1.0"] if "_updated" not in t]


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not values (a list by its first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def fields(obj: dict[str, Any]) -> dict[str, str]:
    """An object's keys and the types of their values; ``url`` left out (optional on messages)."""
    return {key: type(value).__name__ for key, value in obj.items() if key != "url"}


def test_every_1_0_type_has_a_fixture_to_compare_with() -> None:
    assert set(V1_TYPES) <= set(fixture_names())


@pytest.mark.parametrize("event_type", V1_TYPES)
def test_make_event_has_the_shape_of_the_fixture(event_type: str) -> None:
    fixture = load_fixture(event_type)
    made = make_event(event_type, config={"name": "Webhook Example"})
    kind = "message" if "message" in fixture else "conversation"
    assert set(made) == set(fixture)
    assert shape(made["event"]) == shape(fixture["event"])
    assert fields(made[kind]) == fields(fixture[kind])
    if kind == "message":
        assert shape(made["message"]["parts"][0]) == shape(fixture["message"]["parts"][0])
        assert shape(made["message"]["conversation"]) == shape(fixture["message"]["conversation"])
    assert made[kind]["id"].startswith(f"layer:///{kind}s/")
    event = parse_event(compact(made))
    assert event.type == event_type
    assert event.created_at is not None


def test_make_event_uses_fresh_ids() -> None:
    one, two = make_event("message.sent"), make_event("message.sent")
    assert one["event"]["id"] != two["event"]["id"]
    assert one["message"]["id"] != two["message"]["id"]


def test_make_event_overrides() -> None:
    payload = make_event(
        "message.read",
        sender="alice",
        recipients=["bob", "carol"],
        text="hello",
        config={"name": "Unread"},
        conversation="layer:///conversations/0f9a0c4e-6b0e-4f7b-9a53-3f7c3c1c2b01",
        event_id="e-1",
    )
    message = payload["message"]
    assert message["recipient_status"] == {"alice": "read", "bob": "read", "carol": "sent"}
    assert payload["event"]["actor"] == {"user_id": "bob"}
    assert message["parts"][0] == {"id": message["id"] + "/parts/0", "mime_type": "text/plain", "body": "hello"}
    assert message["conversation"]["id"] == "layer:///conversations/0f9a0c4e-6b0e-4f7b-9a53-3f7c3c1c2b01"
    assert payload["config"] == {"name": "Unread"}
    assert payload["event"]["id"] == "e-1"


def test_make_event_statuses_as_a_mapping_and_no_config_by_default() -> None:
    payload = make_event("message.delivered", sender="a", recipients={"b": "delivered", "c": "read"}, actor="b")
    assert payload["message"]["recipient_status"] == {"a": "read", "b": "delivered", "c": "read"}
    assert "config" not in payload


def test_make_event_service_sender_is_not_a_recipient() -> None:
    payload = make_event("message.sent", sender={"name": "t-bone"}, recipients=["999"])
    assert payload["message"]["sender"] == {"name": "t-bone"}
    assert payload["event"]["actor"] == {"name": "t-bone"}
    assert payload["message"]["recipient_status"] == {"999": "sent"}
    assert parse_event(compact(payload)).message.sender.user_id is None  # type: ignore[union-attr]


def test_make_event_conversation_participants_and_metadata() -> None:
    payload = make_event("conversation.updated.metadata", participants=["a", "b"], metadata={"title": "x"})
    conversation = parse_event(compact(payload)).conversation
    assert conversation is not None
    assert conversation.participants == ("a", "b")
    assert conversation.metadata == {"title": "x"}
    assert "actor" not in payload["event"]


def test_make_event_parts() -> None:
    parts = [{"mime_type": "image/png", "content": {"id": "layer:///content/1", "size": 3}}]
    message = make_event("message.sent", parts=parts)["message"]
    assert message["parts"] == [{"id": message["id"] + "/parts/0", **parts[0]}]


@pytest.mark.parametrize(("event_type", "version"), [("Message.created", "2.0"), ("MessagePart.created", "3.0")])
def test_make_event_v2_v3_shapes_parse_like_1_0(event_type: str, version: str) -> None:
    payload = make_event(event_type, sender="alice", recipients=["bob"])
    assert "actor" not in payload["event"]
    assert payload["actor"]["id"] == "layer:///identities/alice"
    message = payload["message"]
    assert message["sender"]["user_id"] == "alice"
    assert set(message["recipient_status"]) == {"layer:///identities/alice", "layer:///identities/bob"}
    event = parse_event(compact(payload))
    assert event.actor is not None and event.actor.user_id == "alice"
    assert event.message is not None and event.message.recipient_status == {"alice": "read", "bob": "sent"}
    assert layer_headers(compact(payload), SECRET)["Content-Type"].endswith("version=2.0")
    assert version in EVENT_TYPES and event_type in EVENT_TYPES[version]


def test_make_event_v2_conversation_participants_are_identities() -> None:
    payload = make_event("Conversation.created", participants=["a", "b"])
    assert [p["user_id"] for p in payload["conversation"]["participants"]] == ["a", "b"]
    assert parse_event(compact(payload)).conversation.participants == ("a", "b")  # type: ignore[union-attr]


@pytest.mark.parametrize(("event_type", "version"), [("message.edited", None), ("message.sent", "2.0")])
def test_make_event_refuses_unknown_types(event_type: str, version: str | None) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        make_event(event_type, version=version)


def test_compact_is_compact_and_keeps_unicode() -> None:
    body = compact({"a": [1, 2], "text": "héllo ✓"})
    assert body == '{"a":[1,2],"text":"héllo ✓"}'.encode()


def test_layer_headers_are_exactly_layers() -> None:
    payload = make_event("message.sent")
    body = compact(payload)
    headers = layer_headers(body, SECRET, webhook_id="layer:///apps/a/webhooks/b")
    assert headers == {
        "Content-Type": "application/vnd.layer.webhooks+json; version=1.0",
        "User-Agent": "layer-webhooks/1.0",
        "layer-webhook-event-type": "message.sent",
        "layer-webhook-id": "layer:///apps/a/webhooks/b",
        "layer-webhook-request-id": payload["event"]["id"],
        "layer-webhook-signature": sign(body, SECRET),
    }
    verify_signature(body, headers["layer-webhook-signature"], SECRET)


def test_layer_headers_defaults_and_errors() -> None:
    headers = layer_headers(b'{"event":{"type":"x"}}', SECRET, app_id="layer:///apps/staging/" + "1" * 32)
    assert headers["layer-webhook-id"].startswith("layer:///apps/11111111-1111-1111-1111-111111111111/webhooks/")
    assert len(headers["layer-webhook-request-id"]) == 36
    with pytest.raises(ValueError, match="event_type"):
        layer_headers(b"not json", SECRET)
    assert layer_headers(b"not json", SECRET, event_type="message.sent")["layer-webhook-event-type"] == "message.sent"


def test_signed_request_is_accepted_by_a_receiver() -> None:
    queue = MemoryQueue()
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue)
    payload = make_event("message.sent", text="hi", config={"name": "Webhook Example"})
    request = signed_request(payload, SECRET)
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.body == compact(payload)
    response = receiver.handle(request)
    assert response is not None and response.status == 200
    (job,) = queue.pending()
    assert job.data["message"]["parts"][0]["body"] == "hi"


def test_signed_request_with_a_wrong_secret_is_refused() -> None:
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook")], MemoryQueue())
    response = receiver.handle(signed_request(make_event("message.sent"), "another secret"))
    assert response is not None and response.status == 403


def test_signed_request_header_overrides_replace_in_any_case() -> None:
    request = signed_request(make_event("message.sent"), SECRET, headers={"Layer-Webhook-Signature": "0" * 40})
    assert request.headers["layer-webhook-signature"] == "0" * 40
    with pytest.raises(InvalidSignature):
        verify_signature(request.body, request.headers["layer-webhook-signature"], SECRET)


def test_signed_request_sends_bytes_as_given() -> None:
    body = b'{"event": {"type": "message.sent", "id": "x"}}'
    request = signed_request(body, SECRET, path="/other", query="a=1")
    assert (request.body, request.path, request.query) == (body, "/other", "a=1")
    assert request.headers["layer-webhook-request-id"] == "x"


def test_the_kit_imports_without_werkzeug() -> None:
    # A fresh interpreter in which werkzeug cannot be imported, as in the no-extras tox envs.
    code = (
        "import sys; sys.modules['werkzeug'] = None\n"
        "from layer_webhooks.testing import make_event, signed_request\n"
        "signed_request(make_event('message.sent'), 's')\n"
        "import layer_webhooks.testing as t\n"
        "try:\n    t.LayerEmulator\nexcept ImportError:\n    print('lazy')\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lazy"


def test_all_is_sorted_complete_and_documented() -> None:
    import inspect

    import layer_webhooks.testing as testing

    assert testing.__all__ == sorted(testing.__all__)
    lazy = {"APIRequest", "LayerEmulator"}  # need werkzeug: checked in test_emulator
    public = {name for name, value in vars(testing).items() if not name.startswith("_") and not inspect.ismodule(value)}
    assert public - {"annotations", "TYPE_CHECKING", "Any"} == set(testing.__all__) - lazy
    for name in set(testing.__all__) - lazy:
        value = getattr(testing, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


def test_unknown_attribute_of_the_testing_package() -> None:
    import layer_webhooks.testing as testing

    with pytest.raises(AttributeError):
        testing.NoSuchThing  # noqa: B018


def test_fixture_payloads_round_trip_through_the_kit() -> None:
    payload = load_fixture("message.sent")
    request = signed_request(payload, SECRET)
    assert json.loads(request.body) == payload
