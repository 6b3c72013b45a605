"""A real endpoint on loopback that records what the emulator sends it (the emulator itself: support.emulator)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response as WResponse

from support.wsgi_server import Served

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


@dataclass(frozen=True)
class Received:
    """One request the target received."""

    method: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes


class Target:
    """A real endpoint on loopback that records each request. GETs answer ``get_status`` with
    the challenge when ``echo`` (else a wrong body); POSTs answer ``statuses`` in turn, then
    200; each after ``delay`` seconds."""

    def __init__(
        self, *, echo: bool = True, get_status: int = 200, statuses: Iterable[int] = (), delay: float = 0.0
    ) -> None:
        self.echo = echo
        self.get_status = get_status
        self.statuses = list(statuses)
        self.delay = delay
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._served = Served(self._app)
        self.url = f"{self._served.url}/hook"

    def posts(self) -> list[Received]:
        """The POSTs received so far (deliveries)."""
        with self._lock:
            return [r for r in self.received if r.method == "POST"]

    def gets(self) -> list[Received]:
        """The GETs received so far (verification challenges)."""
        with self._lock:
            return [r for r in self.received if r.method == "GET"]

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = WRequest(environ)
        received = Received(request.method, request.args.to_dict(), dict(request.headers), request.get_data())
        with self._lock:
            self.received.append(received)
            status = self.statuses.pop(0) if request.method == "POST" and self.statuses else 200
            if request.method == "GET":
                status = self.get_status
        time.sleep(self.delay)
        body = ""
        if request.method == "GET":
            body = request.args.get("verification_challenge", "") if self.echo else "not the challenge"
        return WResponse(body, status, content_type="text/plain")(environ, start_response)

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._served.stop()
