"""The Platform API's request bodies as Layer read them, and Layer Patch applied to a
conversation (layer-protocol.md §5; shapes in :mod:`layer_webhooks.rest._bodies`).

Pure: each function returns values or raises the error Layer answered (400 for a body that is
not what the endpoint takes, 422 naming the property in ``data``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from ..._layer import IDENTITY_PREFIX, MAX_PART_BYTES
from ...errors import LayerAPIError
from .._layer_objects import Who
from ._layer_errors import layer_error

__all__ = ["patched", "read_announcement", "read_conversation", "read_message"]


def _missing(name: str) -> LayerAPIError:
    return layer_error("missing_property", f"The {name} property cannot be omitted.", data={"property": name})


def _invalid(name: str, why: str, **data: Any) -> LayerAPIError:
    return layer_error("invalid_property", f"The {name} property {why}.", data={"property": name, **data})


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise layer_error("invalid_request", "The request body must be a JSON object.")
    return body


def _string(name: str, value: object) -> str:
    if value is None:
        raise _missing(name)
    if not isinstance(value, str) or not value:
        raise _invalid(name, "must be a non-empty string")
    return value


def _users(name: str, value: object) -> list[str]:
    if value is None:
        raise _missing(name)
    if not isinstance(value, list) or not value:
        raise _invalid(name, "must be a non-empty array of user ids")
    return list(dict.fromkeys(_string(name, user) for user in value))


def _sender(body: Mapping[str, Any]) -> Who:
    sender_id, sender = body.get("sender_id"), body.get("sender")
    if sender_id is not None:
        if sender is not None:
            raise _invalid("sender", "cannot be given with sender_id")
        identity = _string("sender_id", sender_id)
        user_id = unquote(identity.removeprefix(IDENTITY_PREFIX))
        if not identity.startswith(IDENTITY_PREFIX) or not user_id:
            raise _invalid("sender_id", "must be an identity id, layer:///identities/<user_id>")
        return user_id
    if sender is None:
        raise _missing("sender")
    if not isinstance(sender, Mapping):
        raise _invalid("sender", "must be an object")
    user, name = sender.get("user_id"), sender.get("name")
    if (user is None) == (name is None):
        raise _invalid("sender", "must have either user_id or name")
    return _string("sender.user_id", user) if user is not None else {"name": _string("sender.name", name)}


def _parts(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    parts = body.get("parts")
    if parts is None:
        raise _missing("parts")
    if not isinstance(parts, list) or not parts:
        raise _invalid("parts", "must be a non-empty array of message parts")
    read = []
    for index, part in enumerate(parts):
        name = f"parts[{index}]"
        if not isinstance(part, Mapping):
            raise _invalid(name, "must be an object")
        _string(f"{name}.mime_type", part.get("mime_type"))
        content = part.get("body")
        if content is None:
            raise _missing(f"{name}.body")
        if not isinstance(content, str):
            raise _invalid(f"{name}.body", "must be a string (base64 for binary data)")
        size = len(content.encode("utf-8"))
        if size > MAX_PART_BYTES:
            raise _invalid(f"{name}.body", f"is {size} bytes, more than the {MAX_PART_BYTES} allowed", size=size)
        if part.get("encoding") not in (None, "base64"):
            raise _invalid(f"{name}.encoding", "must be base64 or omitted")
        read.append(dict(part))
    return read


def read_message(body: object) -> tuple[Who, list[dict[str, Any]]]:
    """The sender (a user id, or ``{"name": ...}``) and the parts of a message POST."""
    message = _object(body)
    return _sender(message), _parts(message)


def read_announcement(body: object) -> tuple[list[str], str, list[dict[str, Any]]]:
    """The recipients, the sender's name and the parts of an announcement POST."""
    announcement = _object(body)
    sender = announcement.get("sender")
    if isinstance(sender, Mapping) and sender.get("user_id") is not None:
        raise _invalid("sender.user_id", "cannot be used to send an announcement")
    if sender is not None and not isinstance(sender, Mapping):
        raise _invalid("sender", "must be an object")
    name = _string("sender.name", (sender or {}).get("name")) if sender is not None else None
    if name is None:
        raise _missing("sender")
    return _users("recipients", announcement.get("recipients")), name, _parts(announcement)


def _metadata(name: str, value: object) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {key: _metadata(f"{name}.{key}", item) for key, item in value.items()}
    raise _invalid(name, "must be a string or an object of strings")


def read_conversation(body: object) -> tuple[list[str], bool, dict[str, Any] | None]:
    """The participants, ``distinct`` and the metadata (None: not given) of a conversation POST."""
    conversation = _object(body)
    distinct = conversation.get("distinct", False)
    if not isinstance(distinct, bool):
        raise _invalid("distinct", "must be a boolean")
    metadata = conversation.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise _invalid("metadata", "must be an object")
    read = None if metadata is None else _metadata("metadata", metadata)
    return _users("participants", conversation.get("participants")), distinct, read


def _set_metadata(metadata: dict[str, Any], path: list[str], value: Any, prop: str) -> None:
    node = metadata
    for key in path[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise _invalid(prop, f"cannot be set: {key} is a string, not an object")
        node = child
    node[path[-1]] = value


def _delete_metadata(metadata: dict[str, Any], path: list[str]) -> None:
    node: Any = metadata
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _participants(participants: list[str], operation: str, value: object, prop: str) -> list[str]:
    if operation == "set":
        return _users(f"{prop} value", value)
    user = _string(f"{prop} value", value)
    if operation == "add":
        return participants if user in participants else [*participants, user]
    if operation == "remove":
        return [p for p in participants if p != user]
    raise _invalid("operation", f"{operation!r} cannot change participants (add, remove or set)")


def patched(conversation: Mapping[str, Any], operations: object) -> tuple[list[str], dict[str, Any]]:
    """The participants and metadata of ``conversation`` after Layer Patch ``operations``, all
    checked before any applies (the conversation itself is not changed)."""
    if not isinstance(operations, list) or not all(isinstance(op, Mapping) for op in operations):
        raise layer_error("invalid_request", "A Layer Patch body must be a JSON array of operations.")
    participants = list(conversation["participants"])
    metadata = copy.deepcopy(conversation["metadata"])
    for operation in operations:
        kind, prop = operation.get("operation"), operation.get("property")
        if not isinstance(kind, str) or kind not in ("add", "remove", "set", "delete"):
            raise _invalid("operation", "must be add, remove, set or delete")
        if prop == "participants":
            participants = _participants(participants, kind, operation.get("value"), prop)
            continue
        path = prop.split(".") if isinstance(prop, str) else []
        if len(path) < 1 or path[0] != "metadata" or not all(path):
            raise _invalid("property", f"{prop!r} cannot be changed (participants or metadata[.<key>...])")
        if kind == "delete" and len(path) > 1:
            _delete_metadata(metadata, path[1:])
        elif kind == "set" and len(path) > 1:
            _set_metadata(metadata, path[1:], _metadata(prop, operation.get("value")), prop)
        elif kind == "set" and isinstance(operation.get("value"), Mapping):
            metadata = _metadata(prop, operation.get("value"))
        else:
            raise _invalid(prop, f"cannot take the operation {kind!r}")
    return participants, metadata
