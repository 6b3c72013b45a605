"""The emulator's delivery log, as tests read it: :class:`Delivery` and its :class:`Attempt` records.

Plain frozen records, no I/O: :mod:`layer_webhooks.testing` exports them without importing the
emulator (which needs werkzeug).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: Where a delivery stands; see :class:`Delivery`.
DeliveryState = Literal["pending", "delivered", "failed", "abandoned"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST of a delivery: its ``number`` (1 for the first), when it was sent (``at``, epoch
    seconds), the ``status`` answered (None: no answer), ``latency`` in seconds, and the
    ``error`` that made it fail (None: a 2xx within the deadline)."""

    number: int
    at: float
    status: int | None
    latency: float
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether this attempt delivered the event."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event sent to one webhook, with every attempt so far.

    ``headers`` and ``body`` are exactly what was sent (the same on every attempt); ``state`` is
    ``pending`` (a retry is due), ``delivered``, ``failed`` (the last retry failed; the webhook
    was made inactive) or ``abandoned`` (the webhook was deactivated or deleted meanwhile).
    """

    request_id: str
    webhook_id: str
    event_type: str
    target_url: str
    headers: Mapping[str, str]
    body: bytes
    attempts: tuple[Attempt, ...]
    state: DeliveryState

    @property
    def payload(self) -> dict[str, Any]:
        """The body, parsed."""
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def delivered(self) -> bool:
        """Whether an attempt succeeded."""
        return self.state == "delivered"
