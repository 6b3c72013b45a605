"""Undelivered report: 15 s after a message is sent, log each recipient it has not reached."""

from __future__ import annotations

import logging

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook.from_dict(
    {
        "name": "message-delivered",
        "path": "/message-delivered",
        "events": ["message.sent", "message.delivered", "message.deleted"],
        "delay": "15sec",
        "receipts": {"reportForStatus": ["sent"], "identities": False},
    }
)
log = logging.getLogger("examples.node")


def setup(services: WebhooksServices) -> None:
    @services.process(HOOK.name)
    def undelivered(job: Job) -> None:
        for user in job.data["recipients"]:
            log.info("message-delivered: %s was not delivered to %s", job.data["message"]["id"], user)
