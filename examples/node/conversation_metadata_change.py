"""Welcome-bot: announce the new topic when a metadata change sets ``conversationName``."""

from __future__ import annotations

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook("conversation-metadata-change", "/conversation-metadata-change", events=["conversation.updated.metadata"])


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def topic_changed(job: Job) -> None:
        conversation = job.data["conversation"]
        name = (conversation.get("metadata") or {}).get("conversationName")
        if isinstance(name, str) and name:
            text = f"The topic has been changed to {name}"
            services.client.messages.send_text(conversation, {"name": "Welcome-bot"}, text)
