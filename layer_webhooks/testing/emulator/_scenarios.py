"""The emulator's Platform API state from Python, and its scenario helpers: each changes the chat
state and publishes the Webhooks 1.0 event Layer would have sent (layer-protocol.md §3, §5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._layer_objects import Who
from ._chat_state import ChatState, Ref
from ._state import EmulatorState


class ScenarioHelpers:
    """The Platform API's objects and the scenario helpers of :class:`LayerEmulator`, over its
    :class:`EmulatorState`."""

    _state: EmulatorState

    # -- the Platform API's state (layer-protocol.md §5) ---------------------------------

    def message(self, message: Ref) -> dict[str, Any]:
        """A message (id, UUID or object) as ``GET .../messages/<id>`` shows it now.

        :raises KeyError: when unknown or deleted.
        """
        return self._state.message(message)

    def conversation(self, conversation: Ref) -> dict[str, Any]:
        """A conversation (id, UUID or object) as it is now.

        :raises KeyError: when unknown or deleted.
        """
        return self._state.conversation(conversation)

    def identity(self, user_id: str) -> dict[str, Any]:
        """The identity ``GET /users/<user_id>/identity`` returns.

        :raises KeyError: when none was set (the API answers 404).
        """
        return self._state.identity(user_id)

    def set_identity(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Set the identity of ``user_id``: ``display_name`` (default: the user id),
        ``avatar_url``, ``first_name``, ``last_name``, ``phone_number``, ``email_address``,
        ``metadata``, or any other field. Returns it."""
        return self._state.set_identity(user_id, fields)

    def remove_identity(self, user_id: str) -> None:
        """Forget the identity of ``user_id`` (the API answers 404 for it again)."""
        self._state.remove_identity(user_id)

    def messages(self, conversation: Ref | None = None) -> list[dict[str, Any]]:
        """Every message not deleted, oldest first; only those of ``conversation`` (id, UUID or
        object) if given. Messages sent through the Platform API (a bot's) are among them.

        :raises KeyError: when ``conversation`` is unknown or deleted.
        """

        def pick(chat: ChatState) -> list[dict[str, Any]]:
            wanted = None if conversation is None else chat.conversation(conversation)["id"]
            return [m for m in chat.messages.values() if wanted in (None, m["conversation"]["id"])]

        return self._state.apply(pick)

    @property
    def announcements(self) -> list[dict[str, Any]]:
        """Every announcement sent through ``POST /announcements``, oldest first, as the API
        answered it (``recipients``, ``sender``, ``parts``, ...)."""
        return self._state.apply(lambda chat: chat.announcements)

    # -- scenario helpers: change the state and publish the 1.0 event Layer would send ----

    def create_conversation(
        self,
        participants: Iterable[str],
        *,
        metadata: Mapping[str, Any] | None = None,
        distinct: bool = False,
        actor: Who | None = None,
    ) -> dict[str, Any]:
        """Create a conversation and publish ``conversation.created``; returns the conversation."""
        payload = self._state.emit(lambda chat: chat.create_conversation(participants, metadata, distinct, actor))
        assert payload is not None
        return payload["conversation"]  # type: ignore[no-any-return]

    def set_metadata(
        self, conversation: Ref, metadata: Mapping[str, Any], *, actor: Who | None = None
    ) -> dict[str, Any]:
        """Replace the metadata and publish ``conversation.updated.metadata``; returns the conversation."""
        self._state.emit(lambda chat: chat.set_metadata(conversation, metadata, actor))
        return self.conversation(conversation)

    def update_participants(
        self,
        conversation: Ref,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        actor: Who | None = None,
    ) -> dict[str, Any]:
        """Add and remove participants and publish ``conversation.updated.participants`` (no
        event when nothing changes); returns the conversation."""
        self._state.emit(lambda chat: chat.update_participants(conversation, add, remove, actor))
        return self.conversation(conversation)

    def delete_conversation(self, conversation: Ref, *, actor: Who | None = None) -> None:
        """Delete a conversation and its messages and publish ``conversation.deleted``."""
        self._state.emit(lambda chat: chat.delete_conversation(conversation, actor))

    def send_message(
        self,
        conversation: Ref,
        sender: Who,
        text: str = "",
        recipients: Iterable[str] | None = None,
        *,
        parts: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send a message and publish ``message.sent``; returns the message.

        ``sender`` is a participant's user id, or ``{"name": ...}`` for a service (Platform API)
        sender. ``recipients`` default to the other participants, each ``sent``; a user sender
        is ``read``.
        """
        payload = self._state.emit(lambda chat: chat.send_message(conversation, sender, text, recipients, parts))
        assert payload is not None
        return payload["message"]  # type: ignore[no-any-return]

    def mark(self, message: Ref, user: str, status: str) -> dict[str, Any]:
        """Move ``user``'s ``recipient_status`` to ``"delivered"`` or ``"read"`` and publish
        ``message.delivered`` / ``message.read`` (no event when it would not advance); returns
        the message."""
        self._state.emit(lambda chat: chat.mark(message, user, status))
        return self.message(message)

    def delete_message(self, message: Ref, *, actor: Who | None = None) -> None:
        """Delete a message and publish ``message.deleted`` (by its sender unless ``actor``)."""
        self._state.emit(lambda chat: chat.delete_message(message, actor))
