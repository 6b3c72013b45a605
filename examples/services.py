"""The Layer part every example shares: the Node module's ``new WebhooksServices()``,
``listen({secret, hooks})`` and ``process(name, handler)``.

``LAYER_WEBHOOK_SECRET`` is the secret given to Layer when the webhook was registered. Jobs go
to a :class:`~layer_webhooks.MemoryQueue`, which runs nothing by itself: a daemon thread stands
in for a worker here (so start servers without ``--preload``). In production, use a durable
queue and run its worker; with several server processes, share a store so that de-duplication
spans them.
"""

from __future__ import annotations

import os
import threading
import time

from layer_webhooks import Hook, Job, MemoryQueue, WebhooksServices

HOOKS = [Hook("Webhook Example", "/webhook-example", events=["message.sent"])]

queue = MemoryQueue()
services = WebhooksServices(queue=queue)
receiver = services.listen(os.environ["LAYER_WEBHOOK_SECRET"], HOOKS)


@services.process("Webhook Example")
def on_message(job: Job) -> None:
    text = next((part.get("body") for part in job.data["message"]["parts"] if "body" in part), "")
    print(f"{job.name}: {job.data['message']['sender'].get('user_id')} said {text!r}", flush=True)


def _work(every: float = 0.2) -> None:
    while True:
        queue.run_due()
        time.sleep(every)


threading.Thread(target=_work, name="layer-webhooks-worker", daemon=True).start()
