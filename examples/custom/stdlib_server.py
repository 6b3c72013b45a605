"""Layer's webhooks served by the standard library's ``http.server``: only the core is imported.

Run from the checkout root::

    python3 -m examples.custom.stdlib_server 8000

Each request becomes a :class:`~layer_webhooks.Request` (raw body, as received); the
:class:`~layer_webhooks.Response` goes back as it is; a path that is not a hook path gets 404.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from layer_webhooks import Hook, MemoryQueue, Receiver, Request

queue = MemoryQueue()
receiver = Receiver("my webhook secret", [Hook("Webhook Example", "/new-message", ["message.sent"])], queue)


class LayerHandler(BaseHTTPRequestHandler):
    """Hand each request to ``receiver``."""

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if length > receiver.max_body_bytes:  # refuse before reading an oversize body
            self.send_error(413)
            return
        body = self.rfile.read(length)
        response = receiver.handle(Request(self.command, path, query, self.headers.items(), body))
        if response is None:
            self.send_error(404)
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in response.headers):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


def make_server(host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``receiver`` (call ``serve_forever``)."""
    return ThreadingHTTPServer((host, port), LayerHandler)


if __name__ == "__main__":
    queue.process("Webhook Example", lambda job: print(job.data["message"]["parts"][0]["body"]))
    make_server(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000).serve_forever()
