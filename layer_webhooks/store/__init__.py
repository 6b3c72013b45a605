"""The state-store ports (``Store``, its async twin ``AsyncStore``) and the in-memory store."""

from __future__ import annotations

from ._memory import MemoryStore
from ._port import AsyncStore, JSONValue, Store

__all__ = ["AsyncStore", "JSONValue", "MemoryStore", "Store"]
