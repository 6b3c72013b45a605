"""A fresh huey instance per test, of each storage ``HueyQueue`` supports; a drain by hand."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

if TYPE_CHECKING:
    from layer_webhooks.adapters.huey import HueyQueue

FAR_FUTURE = datetime.datetime(2100, 1, 1)


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


def drain(huey: Huey, limit: int = 100) -> None:
    """Run up to ``limit`` huey tasks here, as a consumer's worker thread does (dequeue, execute)."""
    for _ in range(limit):
        task = huey.dequeue()
        if task is None:
            return
        huey.execute(task, timestamp=FAR_FUTURE)


def close(queue: HueyQueue) -> None:
    """Stop its threads and close its connections (the exit hook of a deferring queue holds it)."""
    queue.close()
    pool = getattr(queue.huey.storage, "pool", None)
    if pool is not None:
        pool.disconnect()
