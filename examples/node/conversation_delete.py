"""System Alerts: announce to its former participants that a conversation was deleted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook("conversation-delete", "/conversation-delete", events=["conversation.deleted"])


def listed(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def announcement_text(conversation: Mapping[str, Any]) -> str:
    name = (conversation.get("metadata") or {}).get("conversationName")
    if isinstance(name, str) and name:
        return f"The Conversation {name} has been deleted"
    return f"The Conversation with {listed(conversation['participants'])} has been deleted"


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def deleted(job: Job) -> None:
        conversation = job.data["conversation"]
        services.client.announcements.send(
            conversation["participants"],
            "System Alerts",
            [{"body": announcement_text(conversation), "mime_type": "text/plain"}],
            notification={"text": "Conversation Deleted", "sound": "chime.aiff"},
        )
