"""Welcome-bot: open every new conversation with "Starting a dialog with N user(s)"."""

from __future__ import annotations

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook("conversation-create", "/conversation-create", events=["conversation.created"])


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def welcome(job: Job) -> None:
        conversation = job.data["conversation"]
        others = len(conversation["participants"]) - 1
        text = f"Starting a dialog with {others} user{'' if others == 1 else 's'}"
        services.client.messages.send_text(conversation, {"name": "Welcome-bot"}, text)
