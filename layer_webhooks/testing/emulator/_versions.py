"""Each event as a webhook of each Webhooks version receives it (layer-protocol.md §3).

The chat state emits Webhooks 1.0 payloads; a 2.0 or 3.0 webhook gets the v2 event instead
(``message.sent`` is ``Message.created``, a read or a delivery is ``Receipt.created``, ...), in
the v2 shape, with each message's ``position`` from the chat state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._layer import CONVERSATION_PREFIX
from .._layer_objects import RECEIPT_TYPES, V2_EVENT_TYPES, receipt_v2, to_v2, uuid_of
from ._chat_state import ChatState


def render(chat: ChatState, payload: Mapping[str, Any], version: str) -> dict[str, Any] | None:
    """``payload`` (1.0) as a webhook of ``version`` (2.0 or 3.0, whose events are the same but
    for ``MessagePart.*``) receives it; None when that version has no such event, or a receipt
    names no message or actor. Called under the emulator's lock."""
    event = payload["event"]
    event_type = V2_EVENT_TYPES.get(event["type"])
    message = payload.get("message")
    if event_type is None:
        return None
    if event_type != "Receipt.created":
        position = chat.position(message) if isinstance(message, Mapping) else None
        return to_v2(payload, app=chat.app, root=chat.root, event_type=event_type, position=position)
    if not isinstance(message, Mapping) or not isinstance(event.get("actor"), Mapping):
        return None
    position = chat.position(message)
    conversation = chat.conversations.get(uuid_of(message["conversation"]["id"], CONVERSATION_PREFIX))
    return receipt_v2(
        actor=event["actor"],
        conversation=conversation or message["conversation"],
        receipt_type=RECEIPT_TYPES[event["type"].rpartition(".")[2]],
        first=position,
        last=position,
        event_id=event.get("id"),
        created_at=event.get("created_at"),
        config=payload.get("config"),
        app=chat.app,
        root=chat.root,
    )
