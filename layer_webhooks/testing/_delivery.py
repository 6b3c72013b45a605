"""The emulator's outgoing HTTP: one call with Layer's deadline, the delivery log, and the
background worker that runs verifications and retries on Layer's schedule (layer-protocol.md §1-2)."""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

log = logging.getLogger("layer_webhooks.testing")

#: Seconds from a failed attempt to the next; after the last, the webhook becomes ``inactive``.
RETRY_SCHEDULE = (10.0, 30.0, 120.0, 300.0, 1200.0)
#: Layer wanted a 2xx within this many seconds.
DEADLINE = 1.0
_MAX_ANSWER_BYTES = 65_536

State = Literal["pending", "delivered", "failed", "abandoned"]


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost`` or a loopback address)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Answer:
    """What a target answered: ``status`` (None: no HTTP answer), the first bytes of ``body``,
    ``latency`` in seconds, and ``error`` unless it answered within the deadline."""

    status: int | None
    body: bytes
    latency: float
    error: str | None


def call(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> Answer:
    """Send one request as Layer did: no redirects, no proxies, ``timeout`` seconds in all.

    Only loopback targets are contacted: the emulator never reaches beyond this machine.
    """
    if not is_loopback(url):
        return Answer(None, b"", 0.0, "not sent: the emulator only calls loopback addresses")
    started = time.monotonic()
    try:
        with requests.Session() as session:
            session.trust_env = False
            response = session.request(method, url, headers=headers, data=data, timeout=timeout, allow_redirects=False)
            body = response.content[:_MAX_ANSWER_BYTES]
    except requests.Timeout:
        return Answer(None, b"", time.monotonic() - started, f"no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return Answer(None, b"", time.monotonic() - started, f"could not connect ({type(exc).__name__})")
    latency = time.monotonic() - started
    if latency > timeout:
        return Answer(response.status_code, body, latency, f"answered after the {timeout:g} s deadline")
    return Answer(response.status_code, body, latency, None)


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
    state: State

    @property
    def payload(self) -> dict[str, Any]:
        """The body, parsed."""
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def delivered(self) -> bool:
        """Whether an attempt succeeded."""
        return self.state == "delivered"


@dataclass(eq=False)
class Record:
    """A :class:`Delivery` in progress; changed only under the emulator's lock."""

    webhook_uuid: str
    request_id: str
    webhook_id: str
    event_type: str
    target_url: str
    headers: dict[str, str]
    body: bytes
    attempts: list[Attempt] = field(default_factory=list)
    state: State = "pending"

    def snapshot(self) -> Delivery:
        """An immutable copy."""
        return Delivery(
            self.request_id, self.webhook_id, self.event_type, self.target_url,
            dict(self.headers), self.body, tuple(self.attempts), self.state,
        )  # fmt: skip


Job = Callable[[], None]


class Worker:
    """Runs jobs one at a time in a background thread, each once its delay has passed."""

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, delay: float, job: Job) -> None:
        """Run ``job`` in ``delay`` seconds (jobs submitted after close are dropped)."""
        with self._cond:
            if not self._closed:
                heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
                self._cond.notify_all()

    def pending(self) -> int:
        """How many jobs are waiting or running."""
        with self._cond:
            return len(self._heap) + self._busy

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no job waits or runs; False if some still do."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and not self._busy, timeout)

    def close(self, timeout: float) -> None:
        """Drop the waiting jobs, let a running one finish (up to ``timeout`` s), stop the thread."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._closed:
                    return
                job = heapq.heappop(self._heap)[2]
                self._busy = True
            try:
                job()
            except Exception:
                log.exception("an emulator job failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
