"""FastAPI: Layer's webhooks on the app's own paths, as the Node module put them on ``expressApp``.

Run from the checkout root::

    LAYER_WEBHOOK_SECRET=change-me uvicorn examples.fastapi_app:app --port 8000

To serve them below a prefix instead: ``app.mount("/layer", WebhookApp(None, receiver))``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from layer_webhooks.adapters.asgi import WebhookMiddleware

from .services import receiver

app = FastAPI()
app.add_middleware(WebhookMiddleware, receiver=receiver)


@app.api_route("/", methods=["GET", "POST"], response_class=PlainTextResponse)
async def index(request: Request) -> str:
    return f"Hello from FastAPI: {request.method} /, {len(await request.body())} bytes\n"
