"""Realistic webhook payloads: :func:`make_event`, and the object builders the emulator shares.

Shapes follow layer-protocol.md §3 and the examples in tests/fixtures (Webhooks 1.0). The v2/v3
shapes (identity objects, ``recipient_status`` keyed by identity id, a top-level ``actor``)
follow Layer's recorded ``Message.created`` deliveries; the other v2/v3 types reuse the message
or conversation shape, as Layer's documentation describes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from ..errors import ConfigurationError
from ..receiving._events import IDENTITY_PREFIX
from ..rest._client import app_uuid as client_app_uuid

#: The app of the fixtures; any UUID will do.
DEFAULT_APP_ID = "082d4684-0992-11e5-a6c0-1697f925ec7b"
#: Layer's API root, used in the ``url`` fields of payloads built outside an emulator.
API_ROOT = "https://api.layer.com"
MESSAGE_PREFIX = "layer:///messages/"
CONVERSATION_PREFIX = "layer:///conversations/"

_V2 = (
    "Message.created", "Message.updated", "Message.deleted", "Receipt.created",
    "Conversation.created", "Conversation.updated", "Conversation.deleted",
    "Participation.created", "Participation.deleted",
)  # fmt: skip
#: The event types of each Webhooks API version (1.0 includes the older names seen in the wild).
EVENT_TYPES: Mapping[str, tuple[str, ...]] = {
    "1.0": (
        "message.sent", "message.delivered", "message.read", "message.deleted",
        "conversation.created", "conversation.updated.participants",
        "conversation.updated.metadata", "conversation.deleted",
        "conversation.participants_updated", "conversation.metadata_updated",
    ),
    "2.0": _V2,
    "3.0": (*_V2, "MessagePart.created", "MessagePart.updated", "MessagePart.deleted"),
}  # fmt: skip
_MESSAGE_KINDS = ("message", "receipt", "messagepart")
_RECEIPT_STATUS = {"message.delivered": "delivered", "message.read": "read", "Receipt.created": "read"}

Who = str | Mapping[str, Any]


def app_uuid(app_id: str) -> str:
    """The app's UUID from a bare UUID, ``layer:///apps/<uuid>`` or ``layer:///apps/staging/<uuid>``.

    :raises ConfigurationError: when the last path segment is not a UUID.
    """
    try:
        return str(uuid.UUID(client_app_uuid(app_id)))
    except (ValueError, ConfigurationError):
        raise ConfigurationError(f"not a Layer app id: {app_id!r}") from None


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


def identity(user_id: str, *, app: str = DEFAULT_APP_ID, root: str = API_ROOT, **fields: Any) -> dict[str, Any]:
    """An identity as the Platform API returns it (layer-protocol.md §5); ``fields`` override."""
    result: dict[str, Any] = {
        "id": IDENTITY_PREFIX + user_id,
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
    root: str = API_ROOT,
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
    root: str = API_ROOT,
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


def _v2_who(who: Mapping[str, Any], app: str, root: str) -> dict[str, Any]:
    user_id = who.get("user_id")
    if not isinstance(user_id, str):
        return dict(who)
    full = identity(user_id, app=app, root=root)
    return {key: full[key] for key in ("id", "url", "user_id", "display_name", "avatar_url")}


def to_v2(payload: Mapping[str, Any], *, app: str = DEFAULT_APP_ID, root: str = API_ROOT) -> dict[str, Any]:
    """A 1.0 payload in the v2/v3 shape: identity objects and a top-level ``actor``."""
    event = dict(payload["event"])
    actor = event.pop("actor", None)
    result: dict[str, Any] = {"event": event}
    if actor:
        result["actor"] = _v2_who(actor, app, root)
    result.update((key, value) for key, value in payload.items() if key not in ("event", "config"))
    if "message" in result:
        message = dict(result["message"])
        message["sender"] = _v2_who(message["sender"], app, root)
        message["parts"] = [{**part, "url": f"{root}/{part['id'][len('layer:///') :]}"} for part in message["parts"]]
        message["recipient_status"] = {IDENTITY_PREFIX + k: v for k, v in message["recipient_status"].items()}
        message["position"] = uuid.uuid4().int >> 88
        result["message"] = message
    if "conversation" in result:
        conversation = dict(result["conversation"])
        conversation["participants"] = [_v2_who({"user_id": p}, app, root) for p in conversation["participants"]]
        result["conversation"] = conversation
    if "config" in payload:
        result["config"] = payload["config"]
    return result


def _version(event_type: str, version: str | None) -> str:
    if version is None:
        version = next((v for v, types in EVENT_TYPES.items() if event_type in types), None)
    if version is None or version not in EVENT_TYPES or event_type not in EVENT_TYPES[version]:
        known = ", ".join(t for types in EVENT_TYPES.values() for t in types)
        raise ValueError(f"unknown event type {event_type!r} for Webhooks {version or 'any version'}; known: {known}")
    return version


def _statuses(event_type: str, sender: str | None, recipients: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(recipients, Mapping):
        statuses = dict(recipients)
    else:
        statuses = dict.fromkeys(recipients, "sent")
        receipt = _RECEIPT_STATUS.get(event_type)
        if receipt and statuses:
            statuses[next(iter(statuses))] = receipt
    # The sender is a recipient too, and has read its own message (layer-protocol.md §3).
    return {sender: "read", **statuses} if sender else statuses


def make_event(
    type: str = "message.sent",
    *,
    version: str | None = None,
    sender: Who = "12345",
    recipients: Iterable[str] | Mapping[str, str] = ("999", "111"),
    text: str = "This is the message.",
    parts: Sequence[Mapping[str, Any]] | None = None,
    actor: Who | None = None,
    conversation: str | None = None,
    participants: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    distinct: bool = False,
    message_id: str | None = None,
    event_id: str | None = None,
    created_at: datetime | str | None = None,
    config: Mapping[str, Any] | None = None,
    app_id: str = DEFAULT_APP_ID,
) -> dict[str, Any]:
    """A realistic webhook payload of event ``type``, with fresh ids and timestamps.

    >>> event = make_event("message.sent", sender="alice", recipients=["bob"], text="hi",
    ...                    config={"name": "Webhook Example"})
    >>> event["message"]["recipient_status"]
    {'alice': 'read', 'bob': 'sent'}

    - ``sender``: a user id, or a mapping such as ``{"name": "bot"}`` for a service sender.
    - ``recipients``: user ids (``sent``, except that the first one has ``delivered``/``read``
      for those events, and is their actor), or ``{user_id: status}``. The sender is added as
      ``read``.
    - ``text`` or ``parts`` make the message body; ``conversation`` (id or UUID) and
      ``message_id`` fix the ids; ``participants`` (default: sender and recipients),
      ``metadata`` and ``distinct`` shape a conversation.
    - ``actor``: a user id or mapping; conversation events have none unless given.
    - ``config``: the registered config that Layer echoes (absent by default).
    - ``version``: ``"1.0"`` for the lowercase types, ``"2.0"`` for PascalCase ones, or
      ``"3.0"``; v2/v3 use identity objects and a top-level ``actor``.

    :raises ValueError: for an event type unknown in ``version``.
    """
    version = _version(type, version)
    app = app_uuid(app_id)
    sender_actor = actor_of(sender)
    sender_id = sender_actor.get("user_id")
    when = timestamp(created_at)
    conversation_uuid = uuid_of(conversation, CONVERSATION_PREFIX)
    objects: dict[str, Any] = {}
    if type.partition(".")[0].lower() in _MESSAGE_KINDS:
        statuses = _statuses(type, sender_id, recipients)
        if actor is None:
            actor = sender_actor
            if type in _RECEIPT_STATUS:
                actor = next((user for user in statuses if user != sender_id), sender_actor)
        objects["message"] = message_object(
            message_uuid=uuid_of(message_id, MESSAGE_PREFIX),
            conversation_uuid=conversation_uuid,
            sender=sender_actor,
            text=text,
            parts=parts,
            recipient_status=statuses,
            sent_at=when,
            app=app,
        )
    else:
        if participants is None:
            participants = [*([sender_id] if sender_id else []), *recipients]
        objects["conversation"] = conversation_object(
            conversation_uuid=conversation_uuid,
            participants=participants,
            metadata=metadata,
            distinct=distinct,
            created_at=when,
            app=app,
        )
    payload = envelope(
        type,
        actor=None if actor is None else actor_of(actor),
        event_id=event_id,
        created_at=when,
        config=config,
        **objects,
    )
    return payload if version == "1.0" else to_v2(payload, app=app)
