"""Servers the benchmarks start on 127.0.0.1: a free port, a process that is always stopped, Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    command: list[str],
    *,
    log: Path,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (output appended to ``log``) until the block ends, then stop it (SIGTERM,
    SIGKILL if it hangs). With ``port``, wait at most ``timeout`` s until it listens there."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + timeout
        while port is not None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} does not listen on port {port}: see {log}") from None
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def redis_server(directory: Path, *, appendonly: bool = True) -> Iterator[str]:
    """A private ``redis-server`` keeping its data in ``directory``; yields its URL."""
    port = free_port()
    command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--appendonly", "yes" if appendonly else "no", "--appendfsync", "everysec", "--save", "",
        "--daemonize", "no",
    ]  # fmt: skip
    with running(command, log=directory / "redis.out", port=port):
        yield f"redis://127.0.0.1:{port}/0"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children so far (Linux /proc; 0 elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)
