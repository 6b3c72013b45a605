"""Realistic webhook payloads: :func:`make_event` and the event types of each Webhooks version.

Shapes follow layer-protocol.md §3 and the examples in tests/fixtures (Webhooks 1.0). The v2/v3
shapes (identity objects with ``encodeURIComponent``-ed ids, ``recipient_status`` keyed by
identity id, a top-level ``actor``, the message's ``position``) follow Layer's recorded
``Message.created`` deliveries; ``Receipt.created`` is Layer's (no message: the conversation,
the actor, ``receipt: {type, positions: {from, to}}``); the other v2/v3 types reuse the
message or conversation shape, as Layer's documentation describes them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._layer import CONVERSATION_PREFIX, EVENT_TYPES, MESSAGE_PREFIX
from ..rest._urls import canonical_app_uuid
from ._layer_objects import (
    DEFAULT_APP_ID,
    Who,
    actor_of,
    conversation_object,
    envelope,
    message_object,
    new_position,
    receipt_v2,
    timestamp,
    to_v2,
    uuid_of,
)

__all__ = ["EVENT_TYPES", "make_event"]

_MESSAGE_KINDS = ("message", "messagepart")
_RECEIPT_STATUS = {"message.delivered": "delivered", "message.read": "read", "Receipt.created": "read"}


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
    position: int | None = None,
    positions: tuple[int, int] | None = None,
    receipt: str = "Read",
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
      ``"3.0"``; v2/v3 use identity objects (their ids ``encodeURIComponent``-ed), a top-level
      ``actor`` and the message's ``position`` (``position``, or a fresh one).
    - ``Receipt.created`` is Layer's: no message, but the ``conversation``, the ``actor`` (the
      first recipient unless given) and ``receipt: {"type": receipt, "positions": {"from",
      "to"}}``, ``receipt`` being ``"Read"`` or ``"Delivery"`` and ``positions`` a ``(from, to)``
      pair (default: ``position`` alone, or a fresh one).

    >>> receipt = make_event("Receipt.created", sender="alice", recipients=["bob@example.com"], positions=(7, 9))
    >>> receipt["actor"]["id"], receipt["receipt"], "message" in receipt
    ('layer:///identities/bob%40example.com', {'type': 'Read', 'positions': {'from': 7, 'to': 9}}, False)

    :raises ValueError: for an event type unknown in ``version``.
    """
    version = _version(type, version)
    app = canonical_app_uuid(app_id)
    sender_actor = actor_of(sender)
    sender_id = sender_actor.get("user_id")
    when = timestamp(created_at)
    conversation_uuid = uuid_of(conversation, CONVERSATION_PREFIX)
    conversation_of = functools.partial(
        conversation_object,
        conversation_uuid=conversation_uuid, metadata=metadata, distinct=distinct, created_at=when, app=app,
    )  # fmt: skip
    objects: dict[str, Any] = {}
    if type == "Receipt.created":
        statuses = _statuses(type, sender_id, recipients)
        reader = actor if actor is not None else next((user for user in statuses if user != sender_id), sender_actor)
        if participants is None:
            participants = list(statuses)
        at = new_position() if position is None else position
        first, last = positions if positions is not None else (at, at)
        return receipt_v2(
            actor=actor_of(reader),
            conversation=conversation_of(participants=participants),
            receipt_type=receipt,
            first=first,
            last=last,
            event_id=event_id,
            created_at=when,
            config=config,
            app=app,
        )
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
        objects["conversation"] = conversation_of(participants=participants)
    payload = envelope(
        type,
        actor=None if actor is None else actor_of(actor),
        event_id=event_id,
        created_at=when,
        config=config,
        **objects,
    )
    return payload if version == "1.0" else to_v2(payload, app=app, position=position)
