"""Configuration: hooks, receipts settings and durations, in Python or the Node module's form."""

from __future__ import annotations

from ._duration import Duration, parse_duration
from ._hooks import Hook, Identities, IdentityLookup, Receipts, as_hooks

__all__ = ["Duration", "Hook", "Identities", "IdentityLookup", "Receipts", "as_hooks", "parse_duration"]
