"""ASGI app and middleware that serve a :class:`~layer_webhooks.Receiver`, built on Starlette.

::

    app.mount("/layer", WebhookApp(None, receiver))           # FastAPI, Starlette: /layer/<hook path>
    app.add_middleware(WebhookMiddleware, receiver=receiver)  # or hooks on the app's own paths

Both classes take ``(app, receiver)``, as the WSGI middleware does.

Hook paths are matched below the mount point (``scope["path"]`` minus ``scope["root_path"]``);
other paths reach ``app`` with their body unread (no ``app``: 404). The body is read in chunks,
at most ``receiver.max_body_bytes + 1`` bytes, and :meth:`~layer_webhooks.Receiver.handle_async`
queues the event without blocking the event loop.
"""

from __future__ import annotations

from typing import overload

from .. import ConfigurationError, Receiver, Response
from ..errors import MissingExtra
from ..receiving._decision import OK
from ..receiving._http import HEADERS_READ, lowered_request
from ..receiving._receiver import UNAVAILABLE

try:
    from starlette.responses import PlainTextResponse
    from starlette.types import ASGIApp, Receive, Scope, Send
    from starlette.websockets import WebSocketClose
except ImportError as exc:
    raise MissingExtra("layer_webhooks.adapters.asgi", "asgi", exc.name) from exc

__all__ = ["WebhookApp", "WebhookMiddleware"]

# The headers the core reads, by their ASGI (lowercase bytes) name: no other is decoded.
_READ = {name.encode("latin-1"): name for name in HEADERS_READ}


def _raw_headers(answer: Response) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]


# The answers most requests get, their headers encoded once (keyed by the ids of two constants).
# Each response gets its own list: a middleware outside may add to it in place.
_ENCODED = {id(OK): tuple(_raw_headers(OK)), id(UNAVAILABLE): tuple(_raw_headers(UNAVAILABLE))}


def _route_path(scope: Scope) -> str:
    # Starlette >= 0.33 and uvicorn keep the full path in "path" and the prefix in "root_path";
    # older Starlette had already cut the prefix from "path". Accept both.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        path = path[len(root) :]
    return path or "/"


class WebhookApp:
    """An ASGI app: hook paths go to ``receiver``; the rest, lifespan included, to ``app``.

    With ``app`` None, other paths get 404 and lifespan events are acknowledged, so that uvicorn
    can serve it alone: ``webhook_app = WebhookApp(None, receiver)``, ``uvicorn module:webhook_app``.
    The 0.1 order, ``WebhookApp(receiver[, app])``, is still understood.
    """

    @overload
    def __init__(self, app: ASGIApp | None, receiver: Receiver) -> None: ...
    @overload
    def __init__(self, app: Receiver, receiver: ASGIApp | None = None) -> None: ...

    def __init__(self, app: ASGIApp | Receiver | None, receiver: Receiver | ASGIApp | None = None) -> None:
        # A Receiver is not callable, so it is never an ASGI app: a Receiver first is the 0.1 order.
        if isinstance(app, Receiver):
            app, receiver = receiver, app
        if not isinstance(receiver, Receiver) or isinstance(app, Receiver):
            raise ConfigurationError(f"{type(self).__name__}(app, receiver) needs one Receiver, after the app")
        self.app: ASGIApp | None = app
        self.receiver: Receiver = receiver

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
        # Raw ASGI messages on the hot path: Starlette's Request/Response objects cost more
        # per delivery than the whole signature check.
        chunks: list[bytes] = []
        remaining = self.receiver.max_body_bytes + 1
        while remaining > 0:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            chunks.append(chunk[:remaining])
            remaining -= len(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)  # most bodies come in one message
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = _READ.get(name)  # servers send names lowercased, as ASGI asks
            if key is None:
                if name.islower():
                    continue  # lowercase, and not one the core reads
                key = _READ.get(name.lower())
                if key is None:
                    continue
            if key not in headers:  # the first of repeated headers wins
                headers[key] = value.decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        request = lowered_request(scope["method"].upper(), path, query, headers, body)
        answer = await self.receiver.handle_async(request)
        assert answer is not None  # owns(path) holds
        encoded = _ENCODED.get(id(answer))
        raw_headers = _raw_headers(answer) if encoded is None else list(encoded)
        await send({"type": "http.response.start", "status": answer.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": answer.body})


class WebhookMiddleware(WebhookApp):
    """:class:`WebhookApp` under Starlette's middleware name, ``(app, receiver)`` as in the WSGI adapter.

    ``app.add_middleware(WebhookMiddleware, receiver=receiver)`` in FastAPI or Starlette.
    """
