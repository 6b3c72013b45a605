"""ASGI app and middleware that serve a :class:`~layer_webhooks.Receiver`, built on Starlette.

::

    app.mount("/layer", WebhookApp(receiver))                 # FastAPI, Starlette: /layer/<hook path>
    app.add_middleware(WebhookMiddleware, receiver=receiver)  # or hooks on the app's own paths

Hook paths are matched below the mount point (``scope["path"]`` minus ``scope["root_path"]``);
other paths reach ``app`` with their body unread (no ``app``: 404). The body is read in chunks,
at most ``receiver.max_body_bytes + 1`` bytes, and :meth:`~layer_webhooks.Receiver.handle_async`
queues the event without blocking the event loop.
"""

from __future__ import annotations

from contextlib import aclosing

from starlette.requests import ClientDisconnect
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from .. import Receiver, Request

__all__ = ["WebhookApp", "WebhookMiddleware"]


def _route_path(scope: Scope) -> str:
    # Starlette >= 0.33 and uvicorn keep the full path in "path" and the prefix in "root_path";
    # older Starlette had already cut the prefix from "path". Accept both.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        path = path[len(root) :]
    return path or "/"


class WebhookApp:
    """An ASGI app: hook paths go to ``receiver``; the rest, lifespan included, to ``app`` if given.

    Without ``app``, other paths get 404 and lifespan events are acknowledged, so that uvicorn
    can serve it alone: ``uvicorn module:webhook_app``.
    """

    def __init__(self, receiver: Receiver, app: ASGIApp | None = None) -> None:
        self.receiver = receiver
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (``http``, ``websocket`` or ``lifespan`` scope)."""
        if scope["type"] == "http" and self.receiver.owns(path := _route_path(scope)):
            await self._serve(path, scope, receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await PlainTextResponse("Not Found", 404)(scope, receive, send)
        elif scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
        elif scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    async def _serve(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        request = StarletteRequest(scope, receive)
        chunks, remaining = [], self.receiver.max_body_bytes + 1
        try:
            async with aclosing(request.stream()) as stream:
                async for chunk in stream:
                    chunks.append(chunk[:remaining])
                    remaining -= len(chunk)
                    if remaining <= 0:
                        break  # past the limit: the core answers 413 without the rest
        except ClientDisconnect:
            return
        query = scope["query_string"].decode("latin-1")
        core_request = Request(request.method, path, query, request.headers, b"".join(chunks))
        answer = await self.receiver.handle_async(core_request)
        assert answer is not None  # owns(path) holds
        await Response(answer.body, answer.status, dict(answer.headers))(scope, receive, send)


class WebhookMiddleware(WebhookApp):
    """:class:`WebhookApp` in Starlette's middleware shape, ``(app, receiver)``, as in the WSGI adapter.

    ``app.add_middleware(WebhookMiddleware, receiver=receiver)`` in FastAPI or Starlette.
    """

    def __init__(self, app: ASGIApp | None, receiver: Receiver) -> None:
        super().__init__(receiver, app)
