"""Stopping a process the tests started: politely, then for sure, every wait bounded."""

from __future__ import annotations

import subprocess
from typing import Any


def terminate(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """SIGTERM ``process`` and wait up to ``timeout`` s for it; SIGKILL it if it is still there."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
