"""Starlette: Layer's webhooks mounted below ``/layer`` (the hook is ``/layer/webhook-example``).

Run from the checkout root::

    LAYER_WEBHOOK_SECRET=change-me uvicorn examples.starlette_app:app --port 8000

Register ``https://<your host>/layer/webhook-example`` with Layer: hook paths are matched below
the mount point.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from layer_webhooks.adapters.asgi import WebhookApp

from .services import receiver


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"Hello from Starlette: {request.method} /, {len(await request.body())} bytes\n")


app = Starlette(
    routes=[
        Route("/", index, methods=["GET", "POST"]),
        Mount("/layer", app=WebhookApp(None, receiver)),
    ]
)
