"""The Platform API's request bodies, pure: senders, Layer's 2 KB part limit, announcements,
Layer Patch operations, conversation references."""

from __future__ import annotations

from typing import Any

import pytest

from layer_webhooks import ConfigurationError
from layer_webhooks._layer import MAX_PART_BYTES
from layer_webhooks.rest._bodies import (
    announcement_body,
    conversation_body,
    message_body,
    metadata_operations,
    participant_operations,
    sender_field,
    text_part,
)
from layer_webhooks.rest._urls import ref_segment

TEXT = "text/plain"


@pytest.mark.parametrize(
    ("sender", "field"),
    [
        ("alice", {"sender": {"user_id": "alice"}}),
        ({"user_id": "alice"}, {"sender": {"user_id": "alice"}}),
        ({"name": "Die-bot"}, {"sender": {"name": "Die-bot"}}),
        ({"name": "t-bone", "user_id": None}, {"sender": {"name": "t-bone"}}),  # as Layer shows a service sender
        ("layer:///identities/alice%40example.com", {"sender_id": "layer:///identities/alice%40example.com"}),
        ({"sender_id": "alice@example.com"}, {"sender_id": "layer:///identities/alice%40example.com"}),
        (
            {"id": "layer:///identities/bob", "user_id": "bob", "display_name": "Bob"},
            {"sender_id": "layer:///identities/bob"},
        ),
    ],
    ids=["user id", "1.0 user", "1.0 name", "name with null user_id", "identity id", "sender_id", "identity"],
)
def test_each_form_of_sender(sender: Any, field: dict[str, Any]) -> None:
    assert sender_field(sender) == field


@pytest.mark.parametrize(
    ("sender", "match"),
    [
        ({"user_id": "alice", "name": "bot"}, "not both"),
        ({}, "must have 'user_id'"),
        ("", "non-empty"),
        ({"name": 3}, "sender.name"),
        (["alice"], "mapping"),
    ],
)
def test_an_invalid_sender_is_refused_before_sending(sender: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        message_body(sender, [{"body": "x", "mime_type": TEXT}])


def test_a_part_over_2_kb_is_refused_naming_the_part_and_its_size() -> None:
    fits = "a" * MAX_PART_BYTES
    assert message_body("alice", [{"body": fits, "mime_type": TEXT}])["parts"][0]["body"] == fits
    with pytest.raises(ConfigurationError, match=r"message part 1 \(text/plain\) is 2050 bytes; .* at most 2048"):
        message_body("alice", [{"body": "ok", "mime_type": TEXT}, {"body": "é" * 1025, "mime_type": TEXT}])


@pytest.mark.parametrize(
    ("parts", "match"),
    [
        ([], "non-empty list"),
        ("hello", "non-empty list"),
        ({"body": "x", "mime_type": TEXT}, "non-empty list"),
        ([{"body": "x"}], "part 0 needs a 'mime_type'"),
        ([{"mime_type": "image/png"}], r"part 0 \(image/png\) needs a 'body'"),
        ([{"body": "x", "mime_type": TEXT, "encoding": "gzip"}], "encoding must be 'base64'"),
        (["x"], "part 0 must be a mapping"),
    ],
)
def test_invalid_parts(parts: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        message_body({"name": "bot"}, parts)


def test_announcements_come_from_a_name_only() -> None:
    body = announcement_body(("bob", "bob", "carol"), {"name": "System Alerts"}, [{"body": "x", "mime_type": TEXT}])
    assert body == {
        "recipients": ["bob", "carol"],
        "sender": {"name": "System Alerts"},
        "parts": [{"body": "x", "mime_type": TEXT}],
    }
    with pytest.raises(ConfigurationError, match="never a user_id"):
        announcement_body(["bob"], {"user_id": "alice"}, [{"body": "x", "mime_type": TEXT}])
    with pytest.raises(ConfigurationError, match="recipients must be a list"):
        announcement_body("bob", "System Alerts", [{"body": "x", "mime_type": TEXT}])


def test_patch_operations() -> None:
    assert participant_operations("remove", ["a", "b"]) == [
        {"operation": "remove", "property": "participants", "value": "a"},
        {"operation": "remove", "property": "participants", "value": "b"},
    ]
    assert participant_operations("set", ("a",)) == [{"operation": "set", "property": "participants", "value": ["a"]}]
    assert metadata_operations({"metadata.theme.color": "red", "title": {"en": "Lunch"}}) == [
        {"operation": "set", "property": "metadata.theme.color", "value": "red"},
        {"operation": "set", "property": "metadata.title", "value": {"en": "Lunch"}},
    ]
    with pytest.raises(ConfigurationError, match="'count': 3 is not a string"):
        metadata_operations({"count": 3})
    with pytest.raises(ConfigurationError, match=r"'title\.n'"):
        metadata_operations({"title": {"n": 1}})
    with pytest.raises(ConfigurationError, match="empty name"):
        metadata_operations(delete=["a..b"])
    with pytest.raises(ConfigurationError, match="needs values to set or keys to delete"):
        metadata_operations()
    with pytest.raises(ConfigurationError, match="'add', 'remove' or 'set'"):
        participant_operations("replace", ["a"])
    with pytest.raises(ConfigurationError, match="at least one"):
        participant_operations("add", [])
    assert conversation_body(["a"], True) == {"participants": ["a"], "distinct": True}


def test_a_conversation_is_an_id_a_uuid_or_an_object() -> None:
    prefix = "layer:///conversations/"
    assert ref_segment("c1", prefix) == ref_segment(prefix + "c1", prefix) == ref_segment({"id": prefix + "c1"}, prefix)
    with pytest.raises(ConfigurationError, match=r"expected a conversation id .* got 'layer:///messages/m1'"):
        ref_segment({"id": "layer:///messages/m1"}, prefix)  # a message given for its conversation
    with pytest.raises(ConfigurationError, match="an object with 'id' None"):
        ref_segment({"url": "x"}, prefix)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: text_part(3), "text must be a string"),  # type: ignore[arg-type]
        (lambda: message_body("a", [{"body": "x", "mime_type": TEXT}], ["x"]), "notification must be a mapping"),  # type: ignore[arg-type]
        (lambda: conversation_body(["a"], metadata=["x"]), "metadata must be a mapping"),  # type: ignore[arg-type]
        (lambda: metadata_operations(["x"]), "values must be a mapping"),  # type: ignore[arg-type]
        (lambda: metadata_operations(delete="title"), "not a string"),
    ],
)
def test_other_mistakes_are_named(call: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        call()
