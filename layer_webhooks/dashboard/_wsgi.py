"""The dashboard on a WSGI server: an ASGI app's HTTP requests run on one event loop thread.

So that ``layer-webhooks dashboard`` serves the page on werkzeug (the ``wsgi`` extra), with no
ASGI server to install. HTTP only, whole bodies (a form of a few bytes in, a page out): enough
for this page, not a general bridge.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: A request body is read up to this many bytes (the page's forms are tiny).
MAX_BODY = 65536
_REASONS = {200: "OK", 303: "See Other", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}


class WsgiBridge:
    """A WSGI app that runs ``app`` (ASGI) on an event loop of its own thread; :meth:`close` it."""

    def __init__(self, app: ASGIApp, timeout: float = 30.0) -> None:
        self.app = app
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="layer-webhooks-asgi", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one WSGI request through the ASGI app."""
        length = environ.get("CONTENT_LENGTH") or "0"
        size = min(int(length), MAX_BODY) if length.isdigit() else 0
        body = environ["wsgi.input"].read(size) if size else b""
        future = asyncio.run_coroutine_threadsafe(self._call(scope_of(environ), body), self.loop)
        status, headers, chunks = future.result(self.timeout)
        start_response(f"{status} {_REASONS.get(status, '')}".rstrip(), headers)
        return [b"".join(chunks)]

    async def _call(self, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[str, str]], list[bytes]]:
        sent = False
        answer: dict[str, Any] = {"status": 500, "headers": [], "chunks": []}

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                answer["chunks"].append(message.get("body", b""))

        await self.app(scope, receive, send)
        return answer["status"], answer["headers"], answer["chunks"]


def scope_of(environ: WSGIEnvironment) -> dict[str, Any]:
    """The ASGI HTTP scope of a WSGI request."""
    raw_path = environ.get("PATH_INFO", "").encode("latin-1") or b"/"
    headers = [
        (key[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers.append((key.replace("_", "-").lower().encode("latin-1"), environ[key].encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2] or "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": raw_path.decode("utf-8", "replace"),
        "raw_path": raw_path,
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": environ.get("SCRIPT_NAME", ""),
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT") or 0)),
        "server": (environ.get("SERVER_NAME", ""), int(environ.get("SERVER_PORT") or 0)),
    }
