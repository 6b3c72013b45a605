"""Everything the emulator knows, behind one lock: what its REST app serves and its Python API reads.

:class:`EmulatorState` holds the webhooks and their verification, the deliveries, the chat
state, the API request log and the faults to inject. The REST app and :class:`LayerEmulator`
both go through its public methods; neither reaches into the other.
"""

from __future__ import annotations

import copy
import functools
import hmac
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..._layer import DEFAULT_BASE_URL
from ...errors import LayerAPIError
from ._chat_state import ChatState, Ref
from ._layer_errors import error_for_status
from ._publisher import Publisher
from ._versions import render
from ._webhook_registry import WebhookRegistry
from ._worker import Worker

#: A fault to answer: the error, and the ``Retry-After`` header to send with it (None: none).
Fault = tuple[LayerAPIError, str | None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class APIRequest:
    """One request the emulator's API answered: ``headers`` with lowercase names (the
    ``authorization`` header is never kept), the raw ``body``, and the ``status`` answered."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        """The body, parsed (None when empty)."""
        return json.loads(self.body) if self.body else None


class EmulatorState:
    """The state of one emulated app ``app_id`` (a UUID) whose API wants bearer ``token``.

    ``webhooks`` is the registry the Webhooks REST API serves, ``publisher`` delivers events
    and keeps their log; both run their background work on one worker, from :meth:`start`
    until :meth:`close`. The chat state is read through copies, so callers never hold it.
    """

    def __init__(self, token: str, app_id: str, *, retry_scale: float, timeout: float, legacy_fields: bool) -> None:
        self.app_id = app_id
        self._token = token.encode("utf-8")
        self._lock = threading.RLock()
        self._worker = Worker("layer-emulator-worker")
        #: The registered webhooks and their verification.
        self.webhooks = WebhookRegistry(app_id, self._lock, self._worker, timeout=timeout, legacy_fields=legacy_fields)
        self._chat = ChatState(app_id, DEFAULT_BASE_URL)
        #: The deliveries and their retries; 2.0 and 3.0 webhooks get the events of their version.
        self.publisher = Publisher(
            self.webhooks,
            self._lock,
            self._worker,
            retry_scale=retry_scale,
            timeout=timeout,
            render=functools.partial(render, self._chat),
        )
        self._requests: list[APIRequest] = []
        self._faults: list[Fault] = []

    # -- the background worker -------------------------------------------------------------

    def start(self, root: str) -> None:
        """Start the worker; URLs are shown under ``root`` (the server's base URL) from now on."""
        self.webhooks.root = self._chat.root = root
        self._worker.start()

    def close(self, timeout: float) -> None:
        """Stop the worker (waiting calls are dropped; a running one gets ``timeout`` s)."""
        self._worker.close(timeout)
        self.webhooks.root = DEFAULT_BASE_URL

    def wait_idle(self, timeout: float) -> None:
        """Wait until no verification or retry waits or runs.

        :raises TimeoutError: when background work remains after ``timeout`` seconds.
        """
        if not self._worker.wait_idle(timeout):
            raise TimeoutError(f"emulator still busy after {timeout:g} s ({self._worker.pending()} jobs)")

    # -- the API's gate: the token, injected faults, the request log ------------------------

    def token_matches(self, token: str) -> bool:
        """Whether ``token`` is the app's bearer token (compared in constant time)."""
        return hmac.compare_digest(token.encode("latin-1", "replace"), self._token)

    def fail_next(self, n: int, status: int, retry_after: int | str | None) -> None:
        """Answer the next ``n`` API requests with ``status`` and Layer's error for it, with a
        ``Retry-After`` header when ``retry_after`` is given.

        :raises ValueError: for a negative ``n`` or ``retry_after``, or a status not in 400-599.
        """
        if not isinstance(n, int) or n < 0:
            raise ValueError("n must be an int >= 0")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if isinstance(retry_after, int) and retry_after < 0:
            raise ValueError("retry_after must be >= 0 seconds")
        header = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.extend([(error_for_status(status), header)] * n)

    def take_fault(self) -> Fault | None:
        """The next fault to answer, removed from the queue; None when none is due."""
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def log_request(self, entry: APIRequest) -> None:
        """Add an answered request to the log."""
        with self._lock:
            self._requests.append(entry)

    def api_requests(self) -> list[APIRequest]:
        """Every request answered, oldest first."""
        with self._lock:
            return list(self._requests)

    # -- the Platform API's state (layer-protocol.md §5) ------------------------------------

    def conversation(self, ref: Ref) -> dict[str, Any]:
        """A copy of the conversation ``ref``; KeyError when unknown or deleted."""
        with self._lock:
            return copy.deepcopy(self._chat.conversation(ref))

    def message(self, ref: Ref) -> dict[str, Any]:
        """A copy of the message ``ref``; KeyError when unknown or deleted."""
        with self._lock:
            return copy.deepcopy(self._chat.message(ref))

    def identity(self, user_id: str) -> dict[str, Any]:
        """A copy of the identity of ``user_id``; KeyError when none was set."""
        with self._lock:
            return copy.deepcopy(self._chat.identities[user_id])

    def set_identity(self, user_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Set the identity of ``user_id`` from ``fields``; returns a copy."""
        with self._lock:
            return copy.deepcopy(self._chat.set_identity(user_id, fields))

    def remove_identity(self, user_id: str) -> None:
        """Forget the identity of ``user_id``."""
        with self._lock:
            self._chat.identities.pop(user_id, None)

    def apply(self, call: Callable[[ChatState], T]) -> T:
        """Call ``call`` on the chat state and return a copy of its result, publishing nothing
        (a lookup, or a change Layer sent no event for, such as an announcement)."""
        with self._lock:
            return copy.deepcopy(call(self._chat))

    def emit_all(self, change: Callable[[ChatState], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Apply ``change`` and publish each event it returns, in order; return them."""
        with self._lock:
            payloads = change(self._chat)
        for payload in payloads:
            self.publisher.publish(payload)
        return payloads

    def emit(self, change: Callable[[ChatState], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Apply ``change`` to the chat state and publish the event it returns (if any); return it."""
        with self._lock:
            payload = change(self._chat)
        if payload is not None:
            self.publisher.publish(payload)
        return payload
