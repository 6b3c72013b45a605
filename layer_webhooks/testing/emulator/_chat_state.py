"""The emulator's chat state: conversations, messages, identities, and the event each change emits.

Pure state, no I/O: every change returns the Webhooks 1.0 payload that Layer would have sent
(layer-protocol.md §3); the emulator publishes it. Not thread-safe: callers hold the emulator's lock.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..._layer import ANNOUNCEMENT_PREFIX, CONVERSATION_PREFIX, MESSAGE_PREFIX, STATUS_RANK
from .._layer_objects import (
    Who,
    actor_of,
    conversation_object,
    envelope,
    identity,
    message_object,
    timestamp,
    uuid_of,
)
from ._platform import patched

Ref = str | Mapping[str, Any]
#: The gap between two positions in a conversation (Layer's were far apart, never contiguous).
POSITION_STEP = 1024


def _key(ref: Ref, prefix: str) -> str:
    value = ref.get("id") if isinstance(ref, Mapping) else ref
    if not isinstance(value, str):
        raise TypeError(f"expected an id or an object with an 'id', got {ref!r}")
    return uuid_of(value, prefix)


def _users(users: Iterable[str], what: str) -> list[str]:
    if isinstance(users, str):
        raise TypeError(f"{what} must be a list of user ids, not a string")
    result = list(dict.fromkeys(users))
    if not all(isinstance(user, str) and user for user in result):
        raise ValueError(f"{what} must be non-empty user id strings")
    return result


class ChatState:
    """Conversations, messages and identities of one app, whose URLs start with ``root``."""

    def __init__(self, app: str, root: str) -> None:
        self.app = app
        self.root = root
        self.conversations: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.identities: dict[str, dict[str, Any]] = {}
        #: The announcements sent through the Platform API, oldest first (no webhook event).
        self.announcements: list[dict[str, Any]] = []
        #: Each message's v2+ ``position`` (by message id; kept once it is deleted), and the
        #: last position given in each conversation (by conversation id).
        self.positions: dict[str, int] = {}
        self._last_position: dict[str, int] = {}

    # -- lookups -------------------------------------------------------------------------

    def conversation(self, ref: Ref) -> dict[str, Any]:
        """The conversation ``ref`` (an id, UUID or conversation object); KeyError if unknown."""
        key = _key(ref, CONVERSATION_PREFIX)
        if key not in self.conversations:
            raise KeyError(f"no conversation {ref!r} in the emulator")
        return self.conversations[key]

    def message(self, ref: Ref) -> dict[str, Any]:
        """The message ``ref`` (an id, UUID or message object); KeyError if unknown or deleted."""
        key = _key(ref, MESSAGE_PREFIX)
        if key not in self.messages:
            raise KeyError(f"no message {ref!r} in the emulator")
        return self.messages[key]

    def position(self, message: Mapping[str, Any]) -> int:
        """The v2+ ``position`` of ``message`` in its conversation, given on first sight: each
        new message is placed after the conversation's last one, with gaps between them, as
        Layer's positions have."""
        message_id = message["id"]
        if message_id not in self.positions:
            conversation = message["conversation"]["id"]
            self.positions[message_id] = self._last_position[conversation] = (
                self._last_position.get(conversation, 0) + POSITION_STEP
            )
        return self.positions[message_id]

    def _event(self, event_type: str, actor: Who | None, **objects: Any) -> dict[str, Any]:
        snapshot = {name: copy.deepcopy(value) for name, value in objects.items()}
        return envelope(event_type, actor=None if actor is None else actor_of(actor), **snapshot)

    # -- conversations -------------------------------------------------------------------

    def create_conversation(
        self,
        participants: Iterable[str],
        metadata: Mapping[str, Any] | None = None,
        distinct: bool = False,
        actor: Who | None = None,
    ) -> dict[str, Any]:
        """A new conversation; returns ``conversation.created``."""
        people = _users(participants, "participants")
        if not people:
            raise ValueError("a conversation needs participants")
        key = str(uuid.uuid4())
        self.conversations[key] = conversation_object(
            conversation_uuid=key,
            participants=people,
            metadata=copy.deepcopy(dict(metadata or {})),
            distinct=distinct,
            created_at=timestamp(),
            app=self.app,
            root=self.root,
        )
        return self._event("conversation.created", actor, conversation=self.conversations[key])

    def set_metadata(self, ref: Ref, metadata: Mapping[str, Any], actor: Who | None = None) -> dict[str, Any]:
        """Replace the metadata; returns ``conversation.updated.metadata`` (the whole conversation)."""
        conversation = self.conversation(ref)
        conversation["metadata"] = copy.deepcopy(dict(metadata))
        return self._event("conversation.updated.metadata", actor, conversation=conversation)

    def update_participants(
        self, ref: Ref, add: Iterable[str] = (), remove: Iterable[str] = (), actor: Who | None = None
    ) -> dict[str, Any] | None:
        """Add and remove participants; returns ``conversation.updated.participants``, or None
        when nothing changed (Layer sent no event then)."""
        conversation = self.conversation(ref)
        gone = set(_users(remove, "remove"))
        before = conversation["participants"]
        after = list(dict.fromkeys([p for p in before if p not in gone] + _users(add, "add")))
        if after == before:
            return None
        conversation["participants"] = after
        return self._event("conversation.updated.participants", actor, conversation=conversation)

    def delete_conversation(self, ref: Ref, actor: Who | None = None) -> dict[str, Any]:
        """Forget the conversation and its messages; returns ``conversation.deleted``."""
        conversation = self.conversation(ref)
        key = _key(conversation, CONVERSATION_PREFIX)
        del self.conversations[key]
        for message_key in [k for k, m in self.messages.items() if m["conversation"]["id"] == conversation["id"]]:
            del self.messages[message_key]
        return self._event("conversation.deleted", actor, conversation=conversation)

    # -- messages ------------------------------------------------------------------------

    def send_message(
        self,
        ref: Ref,
        sender: Who,
        text: str = "",
        recipients: Iterable[str] | None = None,
        parts: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A new message; returns ``message.sent``.

        ``sender`` is a participant's user id, or ``{"name": ...}`` for a service sender.
        ``recipients`` default to the other participants; each is ``sent``, a user sender ``read``.
        """
        conversation = self.conversation(ref)
        who = actor_of(sender)
        sender_id = who.get("user_id")
        if sender_id is not None and sender_id not in conversation["participants"]:
            raise ValueError(f"sender {sender_id!r} is not a participant of {conversation['id']}")
        if recipients is None:
            recipients = [p for p in conversation["participants"] if p != sender_id]
        statuses = dict.fromkeys(_users(recipients, "recipients"), "sent")
        if sender_id is not None:
            statuses = {sender_id: "read", **statuses}
        key = str(uuid.uuid4())
        self.messages[key] = message_object(
            message_uuid=key,
            conversation_uuid=_key(conversation, CONVERSATION_PREFIX),
            sender=who,
            text=text,
            parts=parts,
            recipient_status=statuses,
            sent_at=timestamp(),
            app=self.app,
            root=self.root,
        )
        self.position(self.messages[key])
        return self._event("message.sent", who, message=self.messages[key])

    def mark(self, ref: Ref, user: str, status: str) -> dict[str, Any] | None:
        """Move ``user``'s status forward to ``delivered`` or ``read``; returns
        ``message.delivered`` / ``message.read``, or None when the status would not advance
        (statuses never go back, and Layer sent no event then)."""
        if status not in ("delivered", "read"):
            raise ValueError(f"status must be 'delivered' or 'read', not {status!r}")
        message = self.message(ref)
        statuses = message["recipient_status"]
        if user not in statuses:
            raise ValueError(f"{user!r} is not a recipient of {message['id']}")
        if STATUS_RANK[status] <= STATUS_RANK.get(statuses[user], 0):
            return None
        statuses[user] = status
        return self._event(f"message.{status}", user, message=message)

    def delete_message(self, ref: Ref, actor: Who | None = None) -> dict[str, Any]:
        """Forget the message; returns ``message.deleted`` (by the sender unless ``actor``)."""
        message = self.message(ref)
        del self.messages[_key(message, MESSAGE_PREFIX)]
        return self._event("message.deleted", message["sender"] if actor is None else actor, message=message)

    # -- the Platform API's writes (layer-protocol.md §5) ---------------------------------

    def distinct_conversation(self, participants: Iterable[str]) -> dict[str, Any] | None:
        """The distinct conversation of exactly ``participants`` (in any order), if one exists."""
        wanted = set(_users(participants, "participants"))
        found = (c for c in self.conversations.values() if c["distinct"] and set(c["participants"]) == wanted)
        return next(found, None)

    def patch_conversation(self, ref: Ref, operations: object, actor: Who | None = None) -> list[dict[str, Any]]:
        """Apply Layer Patch ``operations`` (all checked first: Layer's error, nothing changed,
        if one is invalid); returns ``conversation.updated.participants`` and/or
        ``conversation.updated.metadata`` for what changed, each with the whole conversation."""
        conversation = self.conversation(ref)
        participants, metadata = patched(conversation, operations)
        changed = []
        if participants != conversation["participants"]:
            conversation["participants"] = participants
            changed.append("conversation.updated.participants")
        if metadata != conversation["metadata"]:
            conversation["metadata"] = metadata
            changed.append("conversation.updated.metadata")
        return [self._event(event_type, actor, conversation=conversation) for event_type in changed]

    def send_announcement(
        self, recipients: Iterable[str], name: str, parts: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """An announcement from the service ``name`` to ``recipients``, as the Platform API
        answers it (Layer sent no webhook event for announcements)."""
        key = str(uuid.uuid4())
        announcement = {
            "id": ANNOUNCEMENT_PREFIX + key,
            "url": f"{self.root}/apps/{self.app}/announcements/{key}",
            "sent_at": timestamp(),
            "recipients": _users(recipients, "recipients"),
            "sender": {"name": name, "user_id": None},
            "parts": [dict(part) for part in parts],
        }
        self.announcements.append(announcement)
        return announcement

    # -- identities ----------------------------------------------------------------------

    def set_identity(self, user_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Set the identity the Platform API returns for ``user_id``."""
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user_id must be a non-empty string")
        self.identities[user_id] = identity(user_id, app=self.app, root=self.root, **copy.deepcopy(dict(fields)))
        return self.identities[user_id]
