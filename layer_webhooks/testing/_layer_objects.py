"""Layer's objects as its payloads carry them: messages, conversations, identities and the event
envelope, in the Webhooks 1.0 shape and the v2/v3 one (layer-protocol.md §3, §5).

In v2/v3, senders, actors and participants are identity objects whose ``id`` carries the user
id ``encodeURIComponent``-ed (``layer:///identities/alice%40example.com``), ``recipient_status``
is keyed by those ids, a message has its ``position`` in its conversation, and a receipt is
``Receipt.created``: no message, the ``conversation``, the top-level ``actor`` and ``receipt:
{type: "Read" | "Delivery", positions: {from, to}}`` (every message whose position is in the
range). Shared by :func:`~layer_webhooks.testing.make_event` and the emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from .._layer import CONVERSATION_PREFIX, DEFAULT_BASE_URL, LAYER_ID_PREFIX, MESSAGE_PREFIX
from ..receiving._events import identity_id

__all__ = [
    "DEFAULT_APP_ID",
    "RECEIPT_TYPES",
    "V2_EVENT_TYPES",
    "Who",
    "actor_of",
    "conversation_object",
    "envelope",
    "identity",
    "message_object",
    "new_position",
    "receipt_v2",
    "text_parts",
    "timestamp",
    "to_v2",
    "uuid_of",
]

#: The app of the fixtures; any UUID will do.
DEFAULT_APP_ID = "082d4684-0992-11e5-a6c0-1697f925ec7b"

#: A user id, or a mapping such as ``{"name": "bot"}`` for a service (Platform API) sender.
Who = str | Mapping[str, Any]

#: The v2/v3 event each 1.0 event becomes (the older 1.0 names included); a read or a delivery
#: is a ``Receipt.created``.
V2_EVENT_TYPES: Mapping[str, str] = {
    "message.sent": "Message.created",
    "message.delivered": "Receipt.created",
    "message.read": "Receipt.created",
    "message.deleted": "Message.deleted",
    "conversation.created": "Conversation.created",
    "conversation.updated.participants": "Conversation.updated",
    "conversation.updated.metadata": "Conversation.updated",
    "conversation.participants_updated": "Conversation.updated",
    "conversation.metadata_updated": "Conversation.updated",
    "conversation.deleted": "Conversation.deleted",
}
#: A 1.0 recipient status and the v2/v3 ``receipt.type`` that reports it.
RECEIPT_TYPES: Mapping[str, str] = {"read": "Read", "delivered": "Delivery"}


def timestamp(when: datetime | str | None = None) -> str:
    """An ISO 8601 UTC timestamp with milliseconds, as Layer wrote them (``...T20:46:47.561Z``)."""
    if isinstance(when, str):
        return when
    when = datetime.now(timezone.utc) if when is None else when
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def uuid_of(value: str | None, prefix: str) -> str:
    """The UUID of ``<prefix><uuid>`` or of a bare UUID; a fresh one for None."""
    if value is None:
        return str(uuid.uuid4())
    return value[len(prefix) :] if value.startswith(prefix) else value


def actor_of(who: Who) -> dict[str, Any]:
    """A 1.0 actor/sender: ``{"user_id": who}`` for a user id, a copy of a mapping (``{"name": ...}``)."""
    return {"user_id": who} if isinstance(who, str) else dict(who)


def identity(user_id: str, *, app: str = DEFAULT_APP_ID, root: str = DEFAULT_BASE_URL, **fields: Any) -> dict[str, Any]:
    """An identity as the Platform API returns it (layer-protocol.md §5); ``fields`` override."""
    result: dict[str, Any] = {
        "id": identity_id(user_id),
        "url": f"{root}/apps/{app}/identities/{quote(user_id, safe='')}",
        "user_id": user_id,
        "display_name": user_id,
        "avatar_url": None,
        "first_name": None,
        "last_name": None,
        "phone_number": None,
        "email_address": None,
        "identity_type": "user",
        "metadata": {},
    }
    result.update(fields)
    return result


def text_parts(message_id: str, text: str) -> list[dict[str, Any]]:
    """One ``text/plain`` part."""
    return [{"id": f"{message_id}/parts/0", "mime_type": "text/plain", "body": text}]


def message_object(
    *,
    message_uuid: str,
    conversation_uuid: str,
    sender: Mapping[str, Any],
    text: str = "",
    parts: Sequence[Mapping[str, Any]] | None = None,
    recipient_status: Mapping[str, str],
    sent_at: str,
    app: str = DEFAULT_APP_ID,
    root: str = DEFAULT_BASE_URL,
) -> dict[str, Any]:
    """A 1.0 message; ``parts`` (each given an ``id`` if it lacks one) replace the ``text`` part."""
    message_id = MESSAGE_PREFIX + message_uuid
    if parts is None:
        message_parts = text_parts(message_id, text)
    else:
        message_parts = [{"id": f"{message_id}/parts/{i}", **part} for i, part in enumerate(parts)]
    return {
        "id": message_id,
        "url": f"{root}/apps/{app}/conversations/{conversation_uuid}/messages/{message_uuid}",
        "conversation": {
            "id": CONVERSATION_PREFIX + conversation_uuid,
            "url": f"{root}/apps/{app}/conversations/{conversation_uuid}",
        },
        "parts": message_parts,
        "sent_at": sent_at,
        "sender": dict(sender),
        "recipient_status": dict(recipient_status),
    }


def conversation_object(
    *,
    conversation_uuid: str,
    participants: Iterable[str],
    metadata: Mapping[str, Any] | None = None,
    distinct: bool = False,
    created_at: str,
    app: str = DEFAULT_APP_ID,
    root: str = DEFAULT_BASE_URL,
) -> dict[str, Any]:
    """A 1.0 conversation."""
    url = f"{root}/apps/{app}/conversations/{conversation_uuid}"
    return {
        "id": CONVERSATION_PREFIX + conversation_uuid,
        "url": url,
        "created_at": created_at,
        "messages_url": f"{url}/messages",
        "distinct": distinct,
        "participants": list(dict.fromkeys(participants)),
        "metadata": dict(metadata or {}),
    }


def envelope(
    event_type: str,
    *,
    actor: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    created_at: str | None = None,
    config: Mapping[str, Any] | None = None,
    **objects: Any,
) -> dict[str, Any]:
    """``{"event": {...}, <objects>, "config"?}`` in 1.0 form."""
    event: dict[str, Any] = {
        "created_at": created_at or timestamp(),
        "type": event_type,
        "id": event_id or str(uuid.uuid4()),
    }
    if actor is not None:
        event["actor"] = dict(actor)
    payload: dict[str, Any] = {"event": event, **objects}
    if config is not None:
        payload["config"] = dict(config)
    return payload


def new_position() -> int:
    """A fresh message ``position``, as large as Layer's (``262667829248``)."""
    return uuid.uuid4().int >> 88


def _v2_who(who: Mapping[str, Any], app: str, root: str) -> dict[str, Any]:
    user_id = who.get("user_id")
    if not isinstance(user_id, str):
        return dict(who)
    full = identity(user_id, app=app, root=root)
    return {key: full[key] for key in ("id", "url", "user_id", "display_name", "avatar_url")}


def _v2_conversation(conversation: Mapping[str, Any], app: str, root: str) -> dict[str, Any]:
    result = dict(conversation)
    if isinstance(result.get("participants"), list):
        result["participants"] = [
            _v2_who({"user_id": p} if isinstance(p, str) else p, app, root) for p in result["participants"]
        ]
    return result


def to_v2(
    payload: Mapping[str, Any],
    *,
    app: str = DEFAULT_APP_ID,
    root: str = DEFAULT_BASE_URL,
    event_type: str | None = None,
    position: int | None = None,
) -> dict[str, Any]:
    """A 1.0 payload in the v2/v3 shape: identity objects (ids encoded), a top-level ``actor``,
    ``recipient_status`` by identity id and the message's ``position`` (``position``, or a fresh
    one); ``event_type`` renames the event."""
    event = dict(payload["event"])
    if event_type is not None:
        event["type"] = event_type
    actor = event.pop("actor", None)
    result: dict[str, Any] = {"event": event}
    if actor:
        result["actor"] = _v2_who(actor, app, root)
    result.update((key, value) for key, value in payload.items() if key not in ("event", "config"))
    if "message" in result:
        message = dict(result["message"])
        message["sender"] = _v2_who(message["sender"], app, root)
        message["parts"] = [
            {**part, "url": f"{root}/{part['id'].removeprefix(LAYER_ID_PREFIX)}"} for part in message["parts"]
        ]
        message["recipient_status"] = {identity_id(k): v for k, v in message["recipient_status"].items()}
        message["position"] = new_position() if position is None else position
        result["message"] = message
    if "conversation" in result:
        result["conversation"] = _v2_conversation(result["conversation"], app, root)
    if "config" in payload:
        result["config"] = payload["config"]
    return result


def receipt_v2(
    *,
    actor: Mapping[str, Any],
    conversation: Mapping[str, Any],
    receipt_type: str,
    first: int,
    last: int,
    event_id: str | None = None,
    created_at: str | None = None,
    config: Mapping[str, Any] | None = None,
    app: str = DEFAULT_APP_ID,
    root: str = DEFAULT_BASE_URL,
) -> dict[str, Any]:
    """A v2/v3 ``Receipt.created``: ``actor`` (1.0 form, made an identity) has read (``"Read"``)
    or received (``"Delivery"``) every message of ``conversation`` (a 1.0 conversation object,
    or ``{id, url}``) whose position is in ``first..last``. It carries no message."""
    payload = envelope("Receipt.created", event_id=event_id, created_at=created_at)
    payload["actor"] = _v2_who(actor, app, root)
    payload["conversation"] = _v2_conversation(conversation, app, root)
    payload["receipt"] = {"type": receipt_type, "positions": {"from": first, "to": last}}
    if config is not None:
        payload["config"] = dict(config)
    return payload
