"""The Platform API's request bodies, checked before anything is sent: pure, values in and values out.

Shapes from Layer's Platform API reference (layer-protocol.md §5 names the API; the shapes are
those of its "Send a Message", "Send an Announcement", "Create a Conversation" and "Edit a
Conversation" pages):

- a message: ``{"sender": {"user_id": ...} | {"name": ...}, "parts": [...], "notification"?}``
  (1.0; never both ``user_id`` and ``name``), or ``{"sender_id": "layer:///identities/<id>", ...}``
  (2.0+, the id ``encodeURIComponent``-ed);
- an announcement: ``{"recipients": [user_id, ...], "sender": {"name": ...}, "parts", "notification"?}``
  (never from a ``user_id``);
- a conversation: ``{"participants": [...], "distinct": bool, "metadata"?: {...}}``;
- an edit: a list of Layer Patch operations, sent as :data:`PATCH_MEDIA_TYPE`:
  ``add`` / ``remove`` one participant, ``set`` them all, ``set`` / ``delete`` ``metadata.<path>``.

Each part's ``body`` is at most :data:`MAX_PART_BYTES` (2048) bytes of UTF-8: Layer refused
larger ones, so a larger part is a :class:`ConfigurationError` here, naming the part and its size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .._layer import IDENTITY_PREFIX, MAX_PART_BYTES
from ..errors import ConfigurationError

__all__ = [
    "Sender",
    "announcement_body",
    "conversation_body",
    "message_body",
    "metadata_operations",
    "participant_operations",
    "text_part",
]

#: A user id (1.0 ``sender.user_id``), an identity id ``layer:///identities/<id>`` (2.0+
#: ``sender_id``), or a mapping: ``{"user_id": ...}``, ``{"name": ...}`` (a service sender),
#: ``{"sender_id": ...}``, or an identity object with its ``id``.
Sender = str | Mapping[str, Any]

# What encodeURIComponent leaves as it is, besides letters, digits and "-_.~".
_URI_COMPONENT_SAFE = "!*'()"


def _text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{field} must be a non-empty string, got {value!r}")
    return value


def _identity_id(value: object) -> str:
    text = _text("sender_id", value)
    if text.startswith(IDENTITY_PREFIX):
        return text
    return IDENTITY_PREFIX + quote(text, safe=_URI_COMPONENT_SAFE)


def sender_field(sender: Sender) -> dict[str, Any]:
    """The sender's part of a message body.

    >>> sender_field("alice"), sender_field({"name": "Die-bot"})
    ({'sender': {'user_id': 'alice'}}, {'sender': {'name': 'Die-bot'}})
    >>> sender_field({"sender_id": "alice@example.com"})
    {'sender_id': 'layer:///identities/alice%40example.com'}

    :raises ConfigurationError: for anything else, or both a ``user_id`` and a ``name``.
    """
    if isinstance(sender, str):
        if sender.startswith(IDENTITY_PREFIX):
            return {"sender_id": _identity_id(sender)}
        return {"sender": {"user_id": _text("sender", sender)}}
    if not isinstance(sender, Mapping):
        raise ConfigurationError(f"sender must be a user id or a mapping such as {{'name': 'Bot'}}, got {sender!r}")
    given = {key: value for key, value in sender.items() if value is not None}
    identity = given.get("sender_id", given.get("id"))
    if identity is not None:
        return {"sender_id": _identity_id(identity)}
    if "user_id" in given and "name" in given:
        raise ConfigurationError("sender: give either 'user_id' or 'name', not both (Layer refuses both)")
    if "user_id" in given:
        return {"sender": {"user_id": _text("sender.user_id", given["user_id"])}}
    if "name" in given:
        return {"sender": {"name": _text("sender.name", given["name"])}}
    raise ConfigurationError(
        "sender must have 'user_id' (a participant), 'name' (a service) or 'sender_id' (an identity id), "
        f"got keys {sorted(sender)}"
    )


def text_part(text: str, mime_type: str = "text/plain") -> dict[str, Any]:
    """One part holding ``text``.

    >>> text_part("Rolled a 3")
    {'body': 'Rolled a 3', 'mime_type': 'text/plain'}
    """
    if not isinstance(text, str):
        raise ConfigurationError(f"text must be a string, got {type(text).__name__}")
    return {"body": text, "mime_type": _text("mime_type", mime_type)}


def parts_field(parts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``parts``, each checked: a ``body`` string of at most 2048 bytes of UTF-8, a
    ``mime_type``, and ``encoding`` absent or ``"base64"``.

    :raises ConfigurationError: naming the part (its index and mime type), and its size when too large.
    """
    if isinstance(parts, (str, bytes, Mapping)) or not isinstance(parts, Sequence) or not parts:
        raise ConfigurationError("parts must be a non-empty list of {'body', 'mime_type'} mappings")
    checked = []
    for index, part in enumerate(parts):
        if not isinstance(part, Mapping):
            raise ConfigurationError(f"message part {index} must be a mapping, got {type(part).__name__}")
        body, mime_type = part.get("body"), part.get("mime_type")
        if not isinstance(mime_type, str) or not mime_type:
            raise ConfigurationError(f"message part {index} needs a 'mime_type' such as 'text/plain'")
        if not isinstance(body, str):
            raise ConfigurationError(f"message part {index} ({mime_type}) needs a 'body' string (base64 for binary)")
        if part.get("encoding") not in (None, "base64"):
            raise ConfigurationError(f"message part {index} ({mime_type}): encoding must be 'base64' or absent")
        size = len(body.encode("utf-8"))
        if size > MAX_PART_BYTES:
            raise ConfigurationError(
                f"message part {index} ({mime_type}) is {size} bytes; Layer's Platform API takes at most "
                f"{MAX_PART_BYTES} bytes per part: split it into several parts or messages"
            )
        checked.append(dict(part))
    return checked


def _notification(notification: Mapping[str, Any] | None) -> dict[str, Any]:
    if notification is None:
        return {}
    if not isinstance(notification, Mapping):
        raise ConfigurationError("notification must be a mapping such as {'text': ..., 'sound': ...}")
    return {"notification": dict(notification)}


def message_body(
    sender: Sender, parts: Sequence[Mapping[str, Any]], notification: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The body of ``POST /conversations/<uuid>/messages``.

    >>> message_body({"name": "Welcome-bot"}, [text_part("Hi")])
    {'sender': {'name': 'Welcome-bot'}, 'parts': [{'body': 'Hi', 'mime_type': 'text/plain'}]}
    """
    return {**sender_field(sender), "parts": parts_field(parts), **_notification(notification)}


def _users(field: str, users: Iterable[str]) -> list[str]:
    if isinstance(users, (str, bytes)) or not isinstance(users, Iterable):
        raise ConfigurationError(f"{field} must be a list of user ids, not {type(users).__name__}")
    listed = list(dict.fromkeys(users))
    for user in listed:
        _text(f"each of {field}", user)
    if not listed:
        raise ConfigurationError(f"{field} must name at least one user")
    return listed


def announcement_body(
    recipients: Iterable[str],
    sender: str | Mapping[str, Any],
    parts: Sequence[Mapping[str, Any]],
    notification: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of ``POST /announcements``: ``sender`` is a service's name (or ``{"name": ...}``).

    >>> announcement_body(["bob"], "System Alerts", [text_part("Gone")])["sender"]
    {'name': 'System Alerts'}

    :raises ConfigurationError: for a ``user_id`` sender (Layer sends announcements from a name only).
    """
    name = sender if isinstance(sender, str) else sender.get("name") if isinstance(sender, Mapping) else None
    if isinstance(sender, Mapping) and sender.get("user_id") is not None:
        raise ConfigurationError("an announcement is sent from a name, never a user_id: sender={'name': ...}")
    return {
        "recipients": _users("recipients", recipients),
        "sender": {"name": _text("sender name", name)},
        "parts": parts_field(parts),
        **_notification(notification),
    }


def _metadata_value(key: str, value: object) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {_text(f"metadata key in {key!r}", k): _metadata_value(f"{key}.{k}", v) for k, v in value.items()}
    raise ConfigurationError(
        f"metadata {key!r}: {value!r} is not a string; Layer's metadata holds strings and objects of strings"
    )


def conversation_body(
    participants: Iterable[str], distinct: bool = False, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The body of ``POST /conversations``.

    >>> conversation_body(["alice", "bob"], metadata={"conversationName": "Lunch"})
    {'participants': ['alice', 'bob'], 'distinct': False, 'metadata': {'conversationName': 'Lunch'}}
    """
    body: dict[str, Any] = {"participants": _users("participants", participants), "distinct": bool(distinct)}
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise ConfigurationError("metadata must be a mapping of strings")
        body["metadata"] = {_text("metadata key", k): _metadata_value(k, v) for k, v in metadata.items()}
    return body


def participant_operations(operation: str, users: Iterable[str]) -> list[dict[str, Any]]:
    """Layer Patch operations on ``participants``: one ``add`` or ``remove`` per user, or one ``set``.

    >>> participant_operations("add", ["carol"])
    [{'operation': 'add', 'property': 'participants', 'value': 'carol'}]
    """
    listed = _users("participants", users)
    if operation == "set":
        return [{"operation": "set", "property": "participants", "value": listed}]
    if operation not in ("add", "remove"):
        raise ConfigurationError(f"participants operation must be 'add', 'remove' or 'set', not {operation!r}")
    return [{"operation": operation, "property": "participants", "value": user} for user in listed]


def _metadata_property(key: object) -> str:
    path = _text("metadata key", key).removeprefix("metadata.")
    if any(not name for name in path.split(".")):
        raise ConfigurationError(f"metadata key {key!r} has an empty name between its dots")
    return f"metadata.{path}"


def metadata_operations(values: Mapping[str, Any] | None = None, delete: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Layer Patch operations on ``metadata``: ``set`` each of ``values`` (a key may be a dotted
    path, ``"a.b"``; a value a string or an object of strings), then ``delete`` each key of ``delete``.

    >>> metadata_operations({"conversationName": "Lunch"}, delete=["draft.title"])
    [{'operation': 'set', 'property': 'metadata.conversationName', 'value': 'Lunch'}, \
{'operation': 'delete', 'property': 'metadata.draft.title'}]

    :raises ConfigurationError: for a value that is not a string (Layer's metadata holds strings),
        or for nothing to change.
    """
    if values is not None and not isinstance(values, Mapping):
        raise ConfigurationError("metadata values must be a mapping of keys to strings")
    if isinstance(delete, (str, bytes)):
        raise ConfigurationError("delete must be a list of metadata keys, not a string")
    operations = [
        {"operation": "set", "property": _metadata_property(key), "value": _metadata_value(str(key), value)}
        for key, value in (values or {}).items()
    ]
    operations += [{"operation": "delete", "property": _metadata_property(key)} for key in delete]
    if not operations:
        raise ConfigurationError("update_metadata needs values to set or keys to delete")
    return operations
