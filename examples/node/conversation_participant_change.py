"""Welcome-bot: say so when participants leave or join (the event does not say who)."""

from __future__ import annotations

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook(
    "conversation-participant-change", "/conversation-participant-change", events=["conversation.updated.participants"]
)


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def participants_changed(job: Job) -> None:
        text = "Participants have left or joined this conversation..."
        services.client.messages.send_text(job.data["conversation"], {"name": "Welcome-bot"}, text)
