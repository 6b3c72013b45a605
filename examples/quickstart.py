"""Receive a signed Layer delivery, queue it, and run the job: the core on embedded defaults.

Run:  python examples/quickstart.py
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone

from layer_webhooks import Hook, Job, Request, WebhooksServices, sign

SECRET = "my webhook secret"

# MemoryQueue + MemoryStore; run_jobs=False: the jobs run below, when run_due() is called.
services = WebhooksServices(run_jobs=False)
receiver = services.listen(SECRET, [Hook("Webhook Example", "/new-message", events=["message.sent"])])


@services.process("Webhook Example")
def on_message(job: Job) -> None:
    message = job.data["message"]
    print(f"job {job.id}: {message['sender']['user_id']} said {message['parts'][0]['body']!r}")


def delivery(text: str) -> Request:
    """A message.sent delivery exactly as Layer sends one: compact JSON, signed."""
    payload = {
        "event": {
            "id": str(uuid.uuid4()),
            "type": "message.sent",
            "created_at": datetime.now(timezone.utc).isoformat(),
            "actor": {"user_id": "alice"},
        },
        "message": {
            "id": f"layer:///messages/{uuid.uuid4()}",
            "conversation": {"id": f"layer:///conversations/{uuid.uuid4()}"},
            "parts": [{"id": "part-0", "mime_type": "text/plain", "body": text}],
            "sender": {"user_id": "alice"},
            "recipient_status": {"alice": "read", "bob": "sent"},
        },
        "config": {"name": "Webhook Example"},
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/vnd.layer.webhooks+json; version=1.0",
        "Layer-Webhook-Signature": sign(body, SECRET),
    }
    return Request("POST", "/new-message", "", headers, body)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    challenge = receiver.handle(Request("GET", "/new-message", "verification_challenge=hello"))
    print("challenge answered:", challenge.status if challenge else None, challenge.body if challenge else None)
    accepted = receiver.handle(delivery("Hello, Bob"))
    print("delivery answered:", accepted.status if accepted else None)
    forged = receiver.handle(Request("POST", "/new-message", "", {"Content-Type": "application/json"}, b"{}"))
    print("forged delivery answered:", forged.status if forged else None)
    print("jobs run:", services.queue.run_due())  # type: ignore[attr-defined]
