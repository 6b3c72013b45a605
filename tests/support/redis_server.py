"""A real ``redis-server`` on a free loopback port, for the tests that need Redis.

``redis_server`` (session-scoped fixture) is shared by the whole session: use your own key
prefix or huey name, and do not stop it. A test that stops or restarts Redis makes its own
``RedisServer(tmp_path)`` (a context manager). Persistence is on (append-only file,
``appendfsync always``), so a restart keeps every acknowledged write.

Registered in conftest.py with ``pytest_plugins``; this module imports no Redis client at
its top, so that the no-extras test environments can load it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from support.processes import terminate

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process in ``directory``; :meth:`start` / :meth:`stop` keep the port and data."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        if REDIS_SERVER is None:
            pytest.skip("redis-server is not installed (.ci/run installs it)")
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait (at most ``timeout`` s) until it answers PING."""
        assert self.process is None, "already running"
        args = [
            str(REDIS_SERVER),
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--logfile", "redis.log", "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server as a supervisor would (SIGTERM: it writes its data), kill if it hangs."""
        process, self.process = self.process, None
        if process is None:
            return
        terminate(process, timeout)

    def restart(self) -> None:
        """Stop, then start again on the same port with the same data."""
        self.stop()
        self.start()

    def client(self, **options: Any) -> Any:
        """A ``redis.Redis`` for this server."""
        import redis

        return redis.Redis.from_url(self.url, **options)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server shared by the session (stopped at its end)."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server
