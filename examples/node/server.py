"""The Node module's example server: register each group of hooks with Layer, then serve them.

Run from the checkout root; ``HOST`` is this server's public base URL (Layer delivers to https
only: put certificate.pem and key.pem in ``CERT_DIR`` to serve https), ``SERVICES`` the groups::

    LAYER_TOKEN=... LAYER_APP_ID=... HOST=https://bots.example.com PORT=443 \\
        SERVICES=inline,basic,receipts python -m examples.node.server

Jobs run in this process (a MemoryQueue and a worker thread); use HueyQueue in production.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from werkzeug.serving import make_server

from layer_webhooks import Hook, MemoryQueue, WebhooksServices
from layer_webhooks.adapters.wsgi import WebhookMiddleware

from . import (
    conversation_create,
    conversation_delete,
    conversation_metadata_change,
    conversation_participant_change,
    inline,
    message_delete,
    message_delivered,
    message_read,
    message_sent,
)

SECRET = "Frodo is a Dodo"
GROUPS: dict[str, tuple[ModuleType, ...]] = {
    "inline": (inline,),
    "basic": (
        conversation_create,
        conversation_delete,
        conversation_metadata_change,
        conversation_participant_change,
        message_delete,
        message_sent,
    ),
    "receipts": (message_read, message_delivered),
}


def build(
    services: WebhooksServices, groups: tuple[str, ...] = tuple(GROUPS), secret: str = SECRET
) -> tuple[Any, list[Hook]]:
    """The WSGI app serving ``groups`` (``listen`` for inline and basic, ``receipts`` for the
    receipt services), their handlers registered on ``services``, and their hooks."""
    app: Any = None
    hooks: list[Hook] = []
    for group in groups:
        group_hooks = [module.HOOK for module in GROUPS[group]]
        for module in GROUPS[group]:
            module.setup(services)
        serve = services.receipts if group == "receipts" else services.listen
        app = WebhookMiddleware(app, serve(secret, group_hooks))
        hooks += group_hooks
    return app, hooks


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    queue = MemoryQueue()
    services = WebhooksServices(
        os.environ["LAYER_TOKEN"],
        os.environ["LAYER_APP_ID"],
        base_url=os.environ.get("LAYER_BASE_URL", "https://api.layer.com"),
        queue=queue,
    )
    groups = tuple(name.strip() for name in os.environ.get("SERVICES", ",".join(GROUPS)).split(","))
    app, hooks = build(services, groups)
    certs = Path(os.environ.get("CERT_DIR", "certs"))
    tls = (str(certs / "certificate.pem"), str(certs / "key.pem")) if certs.is_dir() else None
    server = make_server("0.0.0.0", int(os.environ.get("PORT", "8000")), app, threaded=True, ssl_context=tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(services.register(SECRET, os.environ["HOST"], hooks, wait_active=True), flush=True)
    while True:  # the worker: run the jobs that are due
        queue.run_due()
        time.sleep(0.2)


if __name__ == "__main__":
    main()
