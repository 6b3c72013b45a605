"""The receipts rules, pure: which events count, how statuses merge, who is reported, the keys.

Values in, values out; nothing here reads a store, a queue or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._layer import STATUS_RANK
from ..config._hooks import Hook, Receipts
from ..errors import ConfigurationError
from ..receiving._events import EVENT_ALIASES, Event, Message

#: What each event type does to the receipts state: ``sent`` tracks a message, ``status``
#: raises recipient statuses, ``deleted`` forgets the message. Other types are ignored.
KINDS: Mapping[str, str] = {
    "message.sent": "sent",
    "Message.created": "sent",
    "message.delivered": "status",
    "message.read": "status",
    "Message.updated": "status",
    "Receipt.created": "status",
    "message.deleted": "deleted",
    "Message.deleted": "deleted",
}
# The status an event's actor has reached, beyond what the message's recipient_status says.
_ACTOR_STATUS = {"message.delivered": "delivered", "message.read": "read"}


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


def deleted_key(hook: Hook, message_id: str) -> str:
    """The marker a ``message.deleted`` leaves, so that a ``message.sent`` handled after it
    (on another worker, or retried by Layer) does not bring the message back."""
    return f"receipts-deleted:{hook.name}:{message_id}"


def receipts_job(hook: Hook, event: Event, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any], float] | None:
    """The job an accepted event makes for a receipts hook: its internal event job, or None
    for events that do not touch the state (conversation events, a message without an id)."""
    kind = KINDS.get(EVENT_ALIASES.get(event.type, event.type))
    message = payload.get("message")
    if kind is None or not isinstance(message, dict) or not isinstance(message.get("id"), str):
        return None
    actor = event.actor
    data = {"kind": kind, "type": event.type, "message": message, "actor": actor.user_id if actor else None}
    return event_job_name(hook), data, 0.0


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


def evaluate(message: Mapping[str, Any], statuses: Mapping[str, str], receipts: Receipts) -> list[str]:
    """The recipients to report: those whose status is in ``report_for_status``.

    The sender (whose own status is ``read``) is left out unless ``include_sender``. Order: as
    the message lists its recipients, then anyone known only from later events.
    """
    view = Message(message)
    sender_id = view.sender.user_id if view.sender is not None else None
    wanted = set(receipts.report_for_status)
    # The merge keeps the message's order and appends users known only from later events.
    merged = merge_status_maps(view.recipient_status, statuses)
    skip = None if receipts.include_sender else sender_id
    return [user for user, status in merged.items() if status in wanted and user != skip]


def conversation_and_message(message: Mapping[str, Any]) -> tuple[str, str] | None:
    """The ``(conversation id, message id)`` that the Platform API needs, or None without them."""
    view = Message(message)
    if not view.id or not view.conversation:
        return None
    return view.conversation, view.id


def receipts_hooks(hooks: Iterable[Hook]) -> list[Hook]:
    """The hooks, each of which must be a receipts hook.

    :raises ConfigurationError: a hook has no ``receipts`` settings.
    """
    result = list(hooks)
    for hook in result:
        if hook.receipts is None:
            raise ConfigurationError(f"hook {hook.name!r} has no receipts settings: use listen() for it")
    return result
