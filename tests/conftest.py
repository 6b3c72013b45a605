"""Fixtures shared by every part's tests; helpers live in the ``support`` package."""

from __future__ import annotations

# The `redis_server` fixture: a real redis-server on a free loopback port (support/redis_server.py).
pytest_plugins = ["support.redis_server"]
