"""The Platform API's faces on :class:`~layer_webhooks.LayerClient`: sending messages and
announcements, reading, creating and editing conversations (layer-protocol.md §5).

::

    client.messages.send_text(job.data["conversation"], {"name": "Welcome-bot"}, "Hello")
    client.announcements.send(["alice", "bob"], "System Alerts", [{"body": "Down at 6", "mime_type": "text/plain"}])
    client.conversations.update_metadata(conversation, {"conversationName": "Lunch"})
    client.conversations.add_participants(conversation, ["carol"])

Bodies are built and checked by :mod:`._bodies` before anything is sent (Layer's 2 KB part
limit included). A ``conversation`` is an id, a UUID, or an object with its ``id`` (a
payload's ``conversation``, or a message's ``message["conversation"]``). A POST that creates
(a message, an announcement, a conversation) is retried only on 429 and 503, the answers that
say it was not processed: after a timeout or any other failure it may exist, and sending it
again would send it twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._layer import CONVERSATION_PREFIX, PATCH_MEDIA_TYPE, PLATFORM_ACCEPT
from ._bodies import (
    Sender,
    announcement_body,
    conversation_body,
    message_body,
    metadata_operations,
    participant_operations,
    text_part,
)
from ._retry import CREATE_RETRY_STATUSES
from ._urls import ref_segment

if TYPE_CHECKING:
    from ._client import LayerClient

__all__ = ["Announcements", "Conversations", "MessageSending"]

Ref = str | Mapping[str, Any]


def _create(client: LayerClient, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    result = client.request(
        "POST", path, accept=PLATFORM_ACCEPT, json=body, retry_on=CREATE_RETRY_STATUSES, retry_connection_errors=False
    )
    return dict(result)


def _conversation_path(conversation: Ref) -> str:
    return f"/conversations/{ref_segment(conversation, CONVERSATION_PREFIX)}"


class MessageSending:
    """``client.messages.send`` and ``client.messages.send_text`` (mixed into ``Messages``)."""

    _client: LayerClient

    def send(
        self,
        conversation: Ref,
        sender: Sender,
        parts: Sequence[Mapping[str, Any]],
        *,
        notification: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send a message with ``parts`` (``{"body", "mime_type", "encoding"?}``) into
        ``conversation``; returns it as Layer created it.

        ``sender`` is a participant's user id or ``{"user_id": ...}`` (1.0), ``{"name": ...}``
        for a service (a bot: listen's guard keeps its messages out of the queue), or an
        identity id ``layer:///identities/<id>`` / ``{"sender_id": ...}`` (2.0+).
        ``notification`` is Layer's push ``{"text", "sound", "recipients"?}``.

        :raises ConfigurationError: before sending, for an invalid sender or part, or a part
            larger than 2048 bytes (Layer's limit), naming the part and its size.
        :raises LayerAPIError: 404 for an unknown conversation, 422 for a body Layer refuses.
        """
        body = message_body(sender, parts, notification)
        return _create(self._client, f"{_conversation_path(conversation)}/messages", body)

    def send_text(
        self,
        conversation: Ref,
        sender: Sender,
        text: str,
        *,
        mime_type: str = "text/plain",
        notification: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one part of ``text`` (the Node client's ``sendTextFromUser`` / ``sendTextFromName``).

        The same as :meth:`send` with ``[{"body": text, "mime_type": mime_type}]``.
        """
        return self.send(conversation, sender, [text_part(text, mime_type)], notification=notification)


class Announcements:
    """``client.announcements``: messages to users outside any conversation, from a service's name."""

    def __init__(self, client: LayerClient) -> None:
        self._client = client

    def send(
        self,
        recipients: Iterable[str],
        sender: str | Mapping[str, Any],
        parts: Sequence[Mapping[str, Any]],
        *,
        notification: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Announce ``parts`` to the users ``recipients`` from ``sender``, a name (or
        ``{"name": ...}``; never a user id); returns the announcement Layer accepted.

        :raises ConfigurationError: before sending, as :meth:`MessageSending.send` does, or for a
            ``user_id`` sender.
        """
        return _create(self._client, "/announcements", announcement_body(recipients, sender, parts, notification))


class Conversations:
    """``client.conversations``: read, create and edit conversations.

    Edits are Layer Patch operations (``PATCH`` as ``application/vnd.layer-patch+json``,
    answered 204); each makes Layer send the matching ``conversation.updated.*`` webhook.
    """

    def __init__(self, client: LayerClient) -> None:
        self._client = client

    def get(self, conversation: Ref) -> dict[str, Any]:
        """The conversation as it is now (``participants``, ``metadata``, ...); 404 if unknown."""
        return dict(self._client.request("GET", _conversation_path(conversation), accept=PLATFORM_ACCEPT))

    def create(
        self, participants: Iterable[str], *, distinct: bool = False, metadata: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Create a conversation of ``participants`` with ``metadata`` (strings, or objects of
        strings); returns it. ``distinct=True`` returns the existing distinct conversation of
        the same participants instead, when its metadata is the same (409 when it differs).
        """
        return _create(self._client, "/conversations", conversation_body(participants, distinct, metadata))

    def patch(self, conversation: Ref, operations: Sequence[Mapping[str, Any]]) -> None:
        """Apply Layer Patch ``operations`` as they are (the methods below build them)."""
        self._client.request(
            "PATCH",
            _conversation_path(conversation),
            accept=PLATFORM_ACCEPT,
            json=[dict(operation) for operation in operations],
            content_type=PATCH_MEDIA_TYPE,
        )

    def update_metadata(
        self, conversation: Ref, values: Mapping[str, Any] | None = None, *, delete: Iterable[str] = ()
    ) -> None:
        """Set each of ``values`` and delete each key of ``delete`` in the metadata; other keys
        stay. A key may be a dotted path (``"theme.color"``); values are strings (or objects
        of strings), which Layer's metadata holds: anything else is a ``ConfigurationError``.
        """
        self.patch(conversation, metadata_operations(values, delete))

    def add_participants(self, conversation: Ref, users: Iterable[str]) -> None:
        """Add ``users`` (those already in it are left as they are)."""
        self.patch(conversation, participant_operations("add", users))

    def remove_participants(self, conversation: Ref, users: Iterable[str]) -> None:
        """Remove ``users`` (those not in it are ignored)."""
        self.patch(conversation, participant_operations("remove", users))

    def set_participants(self, conversation: Ref, users: Iterable[str]) -> None:
        """Replace the participants with ``users`` (concurrent adds and removes are lost)."""
        self.patch(conversation, participant_operations("set", users))
