"""A bare WSGI app with Layer's webhooks in front of it, served by gunicorn's sync workers.

Run from the checkout root::

    LAYER_WEBHOOK_SECRET=change-me gunicorn --workers 2 --bind 127.0.0.1:8000 examples.wsgi_app:app

Layer's deliveries to ``/webhook-example`` are verified and queued (one worker thread per
process prints them); every other request reaches ``hello`` as it came, body unread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from layer_webhooks.adapters.wsgi import WebhookMiddleware

from .services import receiver


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Your application; this one tells what it received."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"Hello from your app: {environ['REQUEST_METHOD']} {environ['PATH_INFO']}, {len(body)} bytes\n".encode()]


app = WebhookMiddleware(hello, receiver)
