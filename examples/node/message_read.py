"""Unread report: 30 s after a message is sent, log each recipient who has not read it, with their identity."""

from __future__ import annotations

import logging

from layer_webhooks import Hook, Job, WebhooksServices

# The Node module's dict form, delay on the hook itself (where the Node module read it).
HOOK = Hook.from_dict(
    {
        "name": "message-read",
        "path": "/message-read",
        "events": ["message.sent", "message.read", "message.deleted"],
        "delay": "30sec",
        "receipts": {"reportForStatus": ["sent", "delivered"], "identities": True},
    }
)
log = logging.getLogger("examples.node")


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def unread(job: Job) -> None:
        message_id = job.data["message"]["id"]
        for user in job.data["recipients"]:
            identity = job.data["identities"].get(user) or {}
            name = identity.get("display_name", "no identity")
            log.info("message-read: %s (%s) has not read %s", user, name, message_id)
