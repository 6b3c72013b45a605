"""A fresh huey instance per test, of each storage ``HueyQueue`` supports."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey


def fresh_huey(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Huey:
    """A huey of ``kind`` (``memory``, ``sqlite`` in ``tmp_path``, or ``redis`` on the test's real
    redis-server, non-blocking so that tests drain it by hand) under a name of its own."""
    name = f"t{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        return MemoryHuey(name)
    if kind == "sqlite":
        return SqliteHuey(name, filename=str(tmp_path / "huey.db"))
    pytest.importorskip("redis")
    return RedisHuey(name, url=request.getfixturevalue("redis_server").url, blocking=False)
