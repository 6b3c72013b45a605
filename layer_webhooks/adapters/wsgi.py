"""WSGI middleware that serves a :class:`~layer_webhooks.Receiver` in any WSGI app or server.

::

    from flask import Flask
    from layer_webhooks.adapters.wsgi import WebhookMiddleware

    app = Flask(__name__)
    app.wsgi_app = WebhookMiddleware(app.wsgi_app, services.listen(secret, hooks))

Hook paths are matched against ``PATH_INFO``, i.e. below any mount prefix (``SCRIPT_NAME``).
Requests for other paths reach ``app`` untouched, their body unread (``app=None``: 404).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import Receiver
from ..errors import MissingExtra
from ..receiving._http import HEADERS_READ, lowered_request

try:
    from werkzeug.exceptions import ClientDisconnected, NotFound
    from werkzeug.http import HTTP_STATUS_CODES
    from werkzeug.wsgi import get_content_length, get_input_stream, get_path_info
except ImportError as exc:
    raise MissingExtra("layer_webhooks.adapters.wsgi", "wsgi", exc.name) from exc

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["WebhookMiddleware"]

_CHUNK = 65536
_CGI_HEADERS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}
# The headers the core reads, by their environ key: no other is converted.
_KEYS = tuple((name, _CGI_HEADERS.get(name) or "HTTP_" + name.upper().replace("-", "_")) for name in HEADERS_READ)


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    # As werkzeug's EnvironHeaders has them: CONTENT_TYPE and CONTENT_LENGTH when not empty.
    headers = {}
    for name, key in _KEYS:
        value = environ.get(key)
        if value is not None and (value or key[:5] == "HTTP_"):
            headers[name] = value
    return headers


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    # At most limit + 1 bytes, with or without Content-Length: the core answers 413 past limit.
    stream = get_input_stream(environ)
    length = get_content_length(environ)
    chunks, remaining = [], limit + 1 if length is None else min(length, limit + 1)
    while remaining > 0:
        chunk = stream.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class WebhookMiddleware:
    """Route hook paths to ``receiver``; everything else to ``app`` (or 404 if ``app`` is None)."""

    def __init__(self, app: WSGIApplication | None, receiver: Receiver) -> None:
        self.app = app
        self.receiver = receiver

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one WSGI request."""
        path = get_path_info(environ) or "/"
        if not self.receiver.owns(path):
            app = self.app if self.app is not None else NotFound()
            return app(environ, start_response)
        try:
            body = _read_body(environ, self.receiver.max_body_bytes)
        except ClientDisconnected as exc:  # fewer bytes than Content-Length said
            return exc(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        request = lowered_request(environ["REQUEST_METHOD"].upper(), path, query, _headers(environ), body)
        response = self.receiver.handle(request)
        assert response is not None  # owns(path) holds
        status = f"{response.status} {HTTP_STATUS_CODES.get(response.status, '')}"
        start_response(status, list(response.headers))
        return [response.body] if response.body else []  # nothing to write: one segment, headers only
