"""The receipts rules, pure: which events count, how statuses merge, who is reported, the keys.

Values in, values out; nothing here reads a store, a queue or the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from .._layer import IDENTITY_PREFIX, STATUS_RANK
from ..config._hooks import Hook, Receipts, check_identities
from ..errors import ConfigurationError
from ..receiving._events import EVENT_ALIASES, Event, Message, identity_id, user_id_of

log = logging.getLogger("layer_webhooks.receipts")

#: What each event type does to the receipts state: ``sent`` tracks a message, ``status``
#: raises recipient statuses, ``deleted`` forgets the message, ``range`` raises one actor's
#: status in every tracked message of a conversation whose ``position`` is in a range (v2+
#: ``Receipt.created``, which names no message). Other types are ignored.
KINDS: Mapping[str, str] = {
    "message.sent": "sent",
    "Message.created": "sent",
    "message.delivered": "status",
    "message.read": "status",
    "Message.updated": "status",
    "Receipt.created": "range",
    "message.deleted": "deleted",
    "Message.deleted": "deleted",
}
# The status an event's actor has reached, beyond what the message's recipient_status says.
_ACTOR_STATUS = {"message.delivered": "delivered", "message.read": "read"}
#: A v2+ ``receipt.type`` (compared lowercase) and the status it means.
RECEIPT_TYPES: Mapping[str, str] = {"read": "read", "delivery": "delivered", "delivered": "delivered"}


def merge_status_maps(current: Mapping[str, str], update: Mapping[str, str]) -> dict[str, str]:
    """``current`` with each user's status raised to ``update``'s where that is further along
    (:data:`~layer_webhooks._layer.STATUS_RANK`: sent < delivered < read).

    Unknown statuses in ``update`` are ignored; ``current``'s order is kept and users known only
    from ``update`` come after.
    """
    merged = dict(current)
    for user, status in update.items():
        rank = STATUS_RANK.get(status)
        if rank is not None and rank > STATUS_RANK.get(merged.get(user, ""), 0):
            merged[user] = status
    return merged


def event_job_name(hook: Hook) -> str:
    """The internal job that carries a receipts hook's events to its state."""
    return f"receipts:event:{hook.name}"


def check_job_name(hook: Hook) -> str:
    """The internal job that evaluates a message after the hook's delay."""
    return f"receipts:check:{hook.name}"


def state_key(hook: Hook, message_id: str) -> str:
    """Where the state of one message lives for one hook."""
    return f"receipts:{hook.name}:{message_id}"


def positions_key(hook: Hook, conversation_id: str) -> str:
    """The index of one conversation's tracked messages by ``position``, and of the position
    receipts not yet matched, for one hook (see :class:`~._state.ReceiptsStore`)."""
    return f"receipts-positions:{hook.name}:{conversation_id}"


def deleted_key(hook: Hook, message_id: str) -> str:
    """The marker a ``message.deleted`` leaves, so that a ``message.sent`` handled after it
    (on another worker, or retried by Layer) does not bring the message back."""
    return f"receipts-deleted:{hook.name}:{message_id}"


def receipts_job(hook: Hook, event: Event, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any], float] | None:
    """The job an accepted event makes for a receipts hook: its internal event job, or None
    for events that do not touch the state (conversation events, a message without an id, a
    receipt without positions) and, unless ``track_service_senders``, for a message whose
    sender is a service (the bot guard: a bot's message gets no state and no report)."""
    kind = KINDS.get(EVENT_ALIASES.get(event.type, event.type))
    if kind is None:
        return None
    actor = event.actor
    actor_id = actor.user_id if actor else None
    if kind == "range":
        data = receipt_range(payload, actor_id)
        return None if data is None else (event_job_name(hook), {"kind": kind, "type": event.type, **data}, 0.0)
    message = payload.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("id"), str):
        return None
    tracks_services = hook.receipts is not None and hook.receipts.track_service_senders
    if not tracks_services and not user_id_of(message.get("sender")):
        log.debug("%s %s for %r: sent by a service, not tracked", event.type, event.id, hook.name)
        return None
    data = {"kind": kind, "type": event.type, "message": message, "actor": actor_id}
    return event_job_name(hook), data, 0.0


def receipt_range(payload: Mapping[str, Any], actor: str | None) -> dict[str, Any] | None:
    """What a v2+ ``Receipt.created`` says: ``{conversation, actor, status, from, to}``, or None
    when it lacks any of them (or its actor is a service, or its type is unknown).

    Layer's shape: ``receipt: {type: "Read" | "Delivery", positions: {from, to}}`` beside the
    ``conversation`` and the top-level ``actor``; every message whose ``position`` is in
    ``from..to`` has been read (or delivered) by the actor.
    """
    receipt = payload.get("receipt")
    receipt = receipt if isinstance(receipt, Mapping) else {}
    kind = receipt.get("type")
    status = RECEIPT_TYPES.get(kind.lower()) if isinstance(kind, str) else None
    positions = receipt.get("positions")
    positions = positions if isinstance(positions, Mapping) else {}
    first, last = positions.get("from"), positions.get("to")
    conversation = payload.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, Mapping) else conversation
    if (
        status is None
        or not actor
        or type(first) is not int
        or type(last) is not int
        or not isinstance(conversation_id, str)
        or not conversation_id
    ):
        return None
    return {
        "conversation": conversation_id,
        "actor": actor,
        "status": status,
        "from": min(first, last),
        "to": max(first, last),
    }


def message_position(message: Mapping[str, Any]) -> tuple[str, int] | None:
    """A v2+ message's ``(conversation id, position)``; None without them (1.0)."""
    view = Message(message)
    position, conversation = view.position, view.conversation
    return None if position is None or not conversation else (conversation, position)


def statuses_of(message: Mapping[str, Any]) -> dict[str, str]:
    """A message's ``recipient_status`` by user id (v2 identity keys normalised); never None."""
    return dict(Message(message).recipient_status)


def event_statuses(event_type: str, message: Mapping[str, Any], actor: str | None) -> dict[str, str]:
    """The statuses an event tells: the message's, with its actor raised to what the event
    says it did (``message.read`` by bob: bob has read)."""
    statuses = statuses_of(message)
    actor_status = _ACTOR_STATUS.get(EVENT_ALIASES.get(event_type, event_type))
    if actor_status and actor:
        statuses = merge_status_maps(statuses, {actor: actor_status})
    return statuses


def merged_statuses(message: Mapping[str, Any], statuses: Mapping[str, str]) -> dict[str, str]:
    """The message's own ``recipient_status`` (by user id) raised to the tracked ``statuses``:
    the statuses a report is decided on, and that its ``message`` carries.

    The merge keeps the message's order and appends users known only from later events.
    """
    return merge_status_maps(Message(message).recipient_status, statuses)


def evaluate(message: Mapping[str, Any], statuses: Mapping[str, str], receipts: Receipts) -> list[str]:
    """The recipients to report: those whose status (:func:`merged_statuses`) is in
    ``report_for_status``.

    The sender (whose own status is ``read``) is left out unless ``include_sender``. Order: as
    the message lists its recipients, then anyone known only from later events.
    """
    view = Message(message)
    sender_id = view.sender.user_id if view.sender is not None else None
    wanted = set(receipts.report_for_status)
    skip = None if receipts.include_sender else sender_id
    return [user for user, status in merged_statuses(message, statuses).items() if status in wanted and user != skip]


def report_message(message: Mapping[str, Any], merged: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``message`` whose ``recipient_status`` is ``merged`` (by user id), each user
    under the key the message used for it (v2+: its identity id); a user the message did not
    list is keyed as the message's keys are (an identity id if any of them is one)."""
    original = message.get("recipient_status")
    keys: dict[str, str] = {}
    if isinstance(original, Mapping):
        keys = {(user_id_of(key) or key): key for key in original if isinstance(key, str)}
    as_identities = any(key.startswith(IDENTITY_PREFIX) for key in keys.values())
    statuses = {
        keys.get(user) or (identity_id(user) if as_identities else user): status for user, status in merged.items()
    }
    return {**message, "recipient_status": statuses}


def conversation_and_message(message: Mapping[str, Any]) -> tuple[str, str] | None:
    """The ``(conversation id, message id)`` that the Platform API needs, or None without them."""
    view = Message(message)
    if not view.id or not view.conversation:
        return None
    return view.conversation, view.id


def receipts_hooks(hooks: Iterable[Hook]) -> list[Hook]:
    """The hooks, each of which must be a receipts hook.

    :raises ConfigurationError: a hook has no ``receipts`` settings, or an ``identities``
        function that cannot be called with one user id.
    """
    result = list(hooks)
    for hook in result:
        if hook.receipts is None:
            raise ConfigurationError(f"hook {hook.name!r} has no receipts settings: use listen() for it")
        check_identities(hook.receipts.identities)
    return result
