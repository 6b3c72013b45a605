"""Delete-bot: repeat the text of a deleted message into its conversation."""

from __future__ import annotations

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook("message-delete", "/message-delete", events=["message.deleted"])
# Layer takes at most 2048 bytes per message part: a long deleted text is cut to fit.
PART_LIMIT = 2048


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def deleted(job: Job) -> None:
        message = job.data["message"]
        texts = [part["body"] for part in message["parts"] if part.get("mime_type") == "text/plain" and "body" in part]
        if not any(texts):
            return
        reply = f"The following message was deleted: {'; '.join(texts)}".encode()
        if len(reply) > PART_LIMIT:
            reply = reply[: PART_LIMIT - 3] + b"..."
        text = reply.decode("utf-8", "ignore")  # a character cut in two is dropped
        services.client.messages.send_text(message["conversation"], {"name": "Delete-bot"}, text)
