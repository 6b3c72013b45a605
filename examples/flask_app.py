"""Flask: Layer's webhooks beside your routes, one line to mount them.

Run from the checkout root::

    LAYER_WEBHOOK_SECRET=change-me flask --app examples.flask_app run --port 8000

The Node module's ``listen({expressApp, secret, hooks})`` is ``services.listen(secret, hooks)``
(see services.py) plus the ``WebhookMiddleware`` line below.
"""

from __future__ import annotations

from flask import Flask, request

from layer_webhooks.adapters.wsgi import WebhookMiddleware

from .services import receiver

app = Flask(__name__)
app.wsgi_app = WebhookMiddleware(app.wsgi_app, receiver)  # type: ignore[method-assign]


@app.route("/", methods=["GET", "POST"])
def index() -> str:
    return f"Hello from Flask: {request.method} /, {len(request.get_data())} bytes\n"
