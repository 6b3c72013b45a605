"""The whole library end to end, on embedded defaults: nothing to start by hand.

Run:  python examples/demo.py

What runs, all in this process, on 127.0.0.1 and a temporary directory:

- ``LayerEmulator``: a stand-in for Layer's service (REST API, verification, signed deliveries);
- your web service: two receivers (``listen`` and ``receipts``) behind the WSGI middleware,
  served by werkzeug;
- the queue: ``HueyQueue`` on ``SqliteHuey`` (a file), with a huey consumer (2 threads);
  receipts state in a ``SqliteStore``.

The service registers its webhooks through the REST API (the emulator sends each a
verification challenge), then Alice writes to Bob and Carol: the ``listen`` job prints the
message, Bob reads it, and three seconds later the receipts report says Carol has not.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

from huey import SqliteHuey
from werkzeug.serving import make_server

from layer_webhooks import Hook, Job, Receipts, WebhooksServices
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.sqlite import SqliteStore
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator

TOKEN, SECRET = "demo token", "demo webhook secret"
HOOKS = [
    Hook("New Message", "/new-message", events=["message.sent"]),
    Hook(
        "Unread",
        "/unread",
        events=["message.sent", "message.delivered", "message.read", "message.deleted"],
        receipts=Receipts(delay="3 sec", report_for_status=["sent", "delivered"], identities=True),
    ),
]
done = threading.Event()


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(directory: Path) -> int:
    huey = SqliteHuey("layer-demo", filename=str(directory / "queue.db"))
    queue = HueyQueue(huey, lease=10)
    store = SqliteStore(directory / "state.db")

    with LayerEmulator(token=TOKEN) as layer:
        services = WebhooksServices(TOKEN, layer.app_id, base_url=layer.base_url, queue=queue, store=store)
        listen = services.listen(SECRET, HOOKS[:1])
        receipts = services.receipts(SECRET, HOOKS[1:])

        @services.process("New Message")
        def on_message(job: Job) -> None:
            message = job.data["message"]
            say(f"job {job.name!r}: {message['sender']['user_id']} wrote {message['parts'][0]['body']!r}")

        @services.process("Unread", backoff=1.0)
        def on_unread(job: Job) -> None:
            names = [
                (job.data["identities"].get(user) or {}).get("display_name", user) for user in job.data["recipients"]
            ]
            say(f"job {job.name!r}: still unread after 3 s by {', '.join(names)}")
            done.set()

        app = WebhookMiddleware(WebhookMiddleware(None, receipts), listen)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        consumer = huey.create_consumer(workers=2, worker_type="thread", periodic=False)
        consumer.start()
        try:
            base_url = f"http://127.0.0.1:{server.server_port}"
            say(f"web service on {base_url}, Layer emulator on {layer.base_url}")
            report = services.register(SECRET, base_url, HOOKS, wait_active=True)
            say(f"registered: {report}")
            if not report.ok:
                return 1
            layer.set_identity("alice", display_name="Alice Smith")
            layer.set_identity("carol", display_name="Carol Jones", email_address="carol@example.com")
            conversation = layer.create_conversation(["alice", "bob", "carol"])
            message = layer.send_message(conversation, "alice", "Lunch at noon?")
            say("Layer delivered message.sent to both hooks")
            time.sleep(0.5)
            layer.mark(message, "bob", "read")
            say("Bob read it; Carol did not")
            if not done.wait(20):
                say("no receipts report within 20 s")
                return 1
            delivered = sum(len(d.attempts) for d in layer.deliveries)
            statuses = sorted({d.attempts[-1].status for d in layer.deliveries})
            say(f"Layer made {delivered} delivery attempts, answered {statuses}")
            return 0
        finally:
            consumer.stop(graceful=True)
            server.shutdown()
            server.server_close()
            queue.close()
            store.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log
    logging.getLogger("layer_webhooks.testing").setLevel(logging.ERROR)  # http:// targets are fine here
    with tempfile.TemporaryDirectory(prefix="layer-demo-") as tmp:
        sys.exit(main(Path(tmp)))
