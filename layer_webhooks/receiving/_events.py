"""Typed, read-only views of webhook payloads (layer-protocol.md §3).

The views read the parsed JSON lazily, so that the receiving hot path pays only for the
fields it uses. Unknown fields and unknown event types are kept (``raw``), never rejected.
Webhooks 2.0/3.0 shapes (identity objects, ``recipient_status`` keyed by identity ids, a
top-level ``actor``) are read into the same views as 1.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote

from .._layer import IDENTITY_PREFIX
from ..errors import InvalidPayload
from ._payload import load_payload

#: Event type names older Layer servers used, mapped to their 1.0 names.
EVENT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "conversation.participants_updated": "conversation.updated.participants",
        "conversation.metadata_updated": "conversation.updated.metadata",
    }
)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def user_id_of(value: object) -> str | None:
    """The user id in a 1.0 ``{user_id}``, a v2 identity object, or an identity id string.

    An identity id carries its user id ``encodeURIComponent``-ed (v2+): it is decoded, so that
    ``layer:///identities/alice%40example.com`` is the user ``alice@example.com``, the same as
    the identity's own ``user_id`` field, which is kept as it is.

    >>> user_id_of("layer:///identities/alice%40example.com"), user_id_of({"user_id": "bob"})
    ('alice@example.com', 'bob')
    """
    if type(value) is dict or isinstance(value, Mapping):  # dict first: the ABC check is slow
        user_id = value.get("user_id")
        if isinstance(user_id, str) and user_id:
            return user_id
        return user_id_of(value.get("id")) if isinstance(value.get("id"), str) else None
    if isinstance(value, str) and value.startswith(IDENTITY_PREFIX):
        encoded = value[len(IDENTITY_PREFIX) :]
        return (unquote(encoded) if "%" in encoded else encoded) or None
    return None


def identity_id(user_id: str) -> str:
    """The v2+ identity id of ``user_id``, encoded as Layer's ``encodeURIComponent`` does.

    >>> identity_id("alice@example.com")
    'layer:///identities/alice%40example.com'
    """
    return IDENTITY_PREFIX + quote(user_id, safe="!~*'()")


def parse_timestamp(value: object) -> datetime | None:
    """An aware datetime from Layer's ISO 8601 strings (``...Z`` or ``+00:00``), else None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _mapping(value: object) -> Mapping[str, Any]:
    return MappingProxyType(value) if isinstance(value, dict) else _EMPTY


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: a user (``user_id``) or a service (``name``, via the Platform API)."""

    user_id: str | None
    name: str | None
    display_name: str | None = None

    @classmethod
    def from_raw(cls, value: object) -> Actor | None:
        """Read a 1.0 ``{user_id}`` / ``{name}`` or a v2 identity object; None when absent."""
        if not isinstance(value, Mapping):
            return None
        return cls(user_id_of(value), _str(value.get("name")), _str(value.get("display_name")))


@dataclass(frozen=True, slots=True)
class Part:
    """One message part: inline ``body`` or external ``content``."""

    id: str | None
    mime_type: str | None
    body: str | None
    content: Mapping[str, Any] | None
    encoding: str | None


class _View:
    """A read-only view of one object of a payload, read when asked."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    @property
    def raw(self) -> Mapping[str, Any]:
        """The object as Layer sent it."""
        return MappingProxyType(dict(self._raw))

    @property
    def id(self) -> str | None:
        """The object's id (``layer:///messages/<uuid>``, ``layer:///conversations/<uuid>``)."""
        return _str(self._raw.get("id"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


class Message(_View):
    """A read-only view of a payload's ``message``."""

    __slots__ = ()

    @property
    def conversation(self) -> str | None:
        """The id of the message's conversation (``layer:///conversations/<uuid>``)."""
        conversation = self._raw.get("conversation")
        if isinstance(conversation, Mapping):
            return _str(conversation.get("id"))
        return _str(conversation)

    @property
    def parts(self) -> tuple[Part, ...]:
        """The message parts, in order."""
        parts = self._raw.get("parts")
        if not isinstance(parts, list):
            return ()
        return tuple(
            Part(
                _str(p.get("id")),
                _str(p.get("mime_type")),
                _str(p.get("body")),
                _mapping(p.get("content")) if isinstance(p.get("content"), dict) else None,
                _str(p.get("encoding")),
            )
            for p in parts
            if isinstance(p, Mapping)
        )

    @property
    def sent_at(self) -> datetime | None:
        """When the message was sent, as an aware datetime."""
        return parse_timestamp(self._raw.get("sent_at"))

    @property
    def position(self) -> int | None:
        """The message's place in its conversation (v2+ ``position``, rising); None in 1.0."""
        position = self._raw.get("position")
        return position if type(position) is int else None

    @property
    def sender(self) -> Actor | None:
        """The sender; ``sender.user_id`` is None for a service (Platform API) sender."""
        return Actor.from_raw(self._raw.get("sender"))

    @property
    def recipient_status(self) -> Mapping[str, str]:
        """``{user_id: "sent" | "delivered" | "read"}``, the sender included.

        v2/v3 keys (identity ids) are normalised to user ids.
        """
        statuses = self._raw.get("recipient_status")
        if not isinstance(statuses, Mapping):
            return _EMPTY
        return MappingProxyType(
            {
                (user_id_of(key) or key): status
                for key, status in statuses.items()
                if isinstance(key, str) and isinstance(status, str)
            }
        )


class Conversation(_View):
    """A read-only view of a payload's ``conversation``."""

    __slots__ = ()

    @property
    def url(self) -> str | None:
        """The conversation's REST URL."""
        return _str(self._raw.get("url"))

    @property
    def created_at(self) -> datetime | None:
        """When the conversation was created."""
        return parse_timestamp(self._raw.get("created_at"))

    @property
    def distinct(self) -> bool:
        """Whether the conversation is distinct."""
        return self._raw.get("distinct") is True

    @property
    def participants(self) -> tuple[str, ...]:
        """Participant user ids (v2 identity objects are read for their ``user_id``)."""
        participants = self._raw.get("participants")
        if not isinstance(participants, list):
            return ()
        ids = (p if isinstance(p, str) and not p.startswith(IDENTITY_PREFIX) else user_id_of(p) for p in participants)
        return tuple(i for i in ids if i)

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The conversation's metadata (nested string values)."""
        return _mapping(self._raw.get("metadata"))


class Event:
    """A read-only view of one webhook payload. Build it with :func:`parse_event`.

    ``type`` and ``id`` are read at parse time; the other fields when first asked for.
    """

    __slots__ = ("_event", "_id", "_payload", "_type")

    def __init__(self, payload: dict[str, Any]) -> None:
        event = payload.get("event")
        if not isinstance(event, dict):
            raise InvalidPayload("payload has no 'event' object")
        event_type = event.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise InvalidPayload("payload has no 'event.type' string")
        event_id = event.get("id")
        self._payload = payload
        self._event = event
        self._type = event_type
        self._id = event_id if isinstance(event_id, str) and event_id else None

    @property
    def type(self) -> str:
        """``event.type``, as sent (``message.sent``, or a v2 name such as ``Message.created``)."""
        return self._type

    @property
    def id(self) -> str | None:
        """``event.id``, the key for de-duplication (None when absent)."""
        return self._id

    @property
    def raw(self) -> Mapping[str, Any]:
        """The whole parsed payload (top level read-only; do not mutate what it holds)."""
        return MappingProxyType(self._payload)

    @property
    def created_at(self) -> datetime | None:
        """``event.created_at`` as an aware datetime (None when absent or unreadable)."""
        return parse_timestamp(self._event.get("created_at"))

    @property
    def actor(self) -> Actor | None:
        """``event.actor`` (1.0) or the top-level ``actor`` (v2/v3); None when absent."""
        actor = self._event.get("actor")
        return Actor.from_raw(actor if actor is not None else self._payload.get("actor"))

    @property
    def message(self) -> Message | None:
        """The payload's message, for ``message.*`` events."""
        message = self._payload.get("message")
        return Message(message) if isinstance(message, dict) else None

    @property
    def conversation(self) -> Conversation | None:
        """The payload's conversation, for ``conversation.*`` events."""
        conversation = self._payload.get("conversation")
        return Conversation(conversation) if isinstance(conversation, dict) else None

    @property
    def config(self) -> Mapping[str, Any]:
        """The ``config`` registered with the webhook (``{}`` when none was)."""
        return _mapping(self._payload.get("config"))

    def __repr__(self) -> str:
        return f"Event(type={self.type!r}, id={self.id!r})"


def parse_event(body: bytes | str) -> Event:
    """Parse a delivery body into an :class:`Event`.

    Tolerant of Webhooks 2.0/3.0 shapes and of event types this library does not know.

    :raises InvalidPayload: unless ``body`` is a JSON object with an ``event.type`` string.
    """
    return Event(load_payload(body))
