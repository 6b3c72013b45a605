"""A TCP proxy on loopback that can lose one reply: the server applies the command, the client
never hears back (its connection is closed instead), as when Redis dies after a write.

``LossyProxy(port)`` forwards to ``127.0.0.1:port``; :meth:`LossyProxy.lose_reply_to` arms it
for the next request whose bytes contain a marker, :meth:`LossyProxy.lose_request` to close the
connection without forwarding that request (the server never sees it). Threads, every one a daemon, all stopped by
:meth:`LossyProxy.close`; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class LossyProxy:
    """Forwards ``127.0.0.1:<its port>`` to ``127.0.0.1:upstream``."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._markers: list[tuple[bytes, bool]] = []  # (marker, forward the request)
        self.lost: list[bytes] = []  # the requests whose replies were lost
        self.forwarded: list[bytes] = []  # every request passed on to the server, in order
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="lossy-proxy").start()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def lose_reply_to(self, marker: bytes) -> None:
        """Lose the reply to the next request that contains ``marker`` (once): the server runs it."""
        with self._lock:
            self._markers.append((marker, True))

    def passed(self, marker: bytes) -> int:
        """How many requests containing ``marker`` were passed on to the server so far."""
        with self._lock:
            return sum(marker in data for data in self.forwarded)

    def lose_request(self, marker: bytes) -> None:
        """Close the connection instead of forwarding the next request that contains ``marker``."""
        with self._lock:
            self._markers.append((marker, False))

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            self._sockets += [client, server]
            state = {"lose": False}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, state: dict[str, bool]) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                forward = True
                with self._lock:
                    for marker, forward in self._markers:
                        if marker in data:
                            self._markers.remove((marker, forward))
                            self.lost.append(data)
                            state["lose"] = True
                            break
                    else:
                        forward = True
                if not forward:
                    break
                server.sendall(data)
                with self._lock:
                    self.forwarded.append(data)
        _close(client, server)

    def _down(self, server: socket.socket, client: socket.socket, state: dict[str, bool]) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                if state["lose"]:  # the command ran; its reply goes nowhere
                    break
                client.sendall(data)
        _close(client, server)

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._closed.set()
        self._listener.close()
        _close(*self._sockets)

    def __enter__(self) -> LossyProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
