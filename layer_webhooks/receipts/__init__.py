"""Receipts: report recipients who have not read (or received) a message after a delay.

``_rules`` (pure: event kinds, status merge, evaluation, keys), ``_state`` (the
``ReceiptsStore`` port), ``_handlers`` (the internal jobs, on the ports).
"""

from __future__ import annotations

from ._handlers import FetchMessage, ReceiptsHandlers
from ._rules import evaluate, receipts_job
from ._state import ReceiptsStore

__all__ = ["FetchMessage", "ReceiptsHandlers", "ReceiptsStore", "evaluate", "receipts_job"]
