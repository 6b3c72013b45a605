"""The emulator's HTTP server: a werkzeug server in a thread on loopback, started and always
stopped, logging each request at DEBUG under ``layer_webhooks.testing``."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger("layer_webhooks.testing")


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, logging each request at DEBUG under ``layer_webhooks.testing``."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("emulator: " + message, *args)


class Server:
    """Serves ``app`` on ``host:port`` (0: a free port), threaded, from construction until
    :meth:`close`."""

    def __init__(self, app: WSGIApplication, host: str, port: int) -> None:
        self._server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="layer-emulator", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"

    def close(self) -> None:
        """Stop serving, close the socket, and wait for the server thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
