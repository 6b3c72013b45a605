"""Inline Sample: log who sent each message (a user's id, or a service's name)."""

from __future__ import annotations

import logging

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook("Inline Sample", "/inline_sample_message_sent", events=["message.sent"])
log = logging.getLogger("examples.node")


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def inline_sample(job: Job) -> None:
        sender = job.data["message"]["sender"]
        log.info("Inline Sample: a message from %s", sender.get("user_id") or sender.get("name"))
