"""Receive, verify and process webhooks from Layer's chat platform, in any Python web service.

::

    from layer_webhooks import Hook, WebhooksServices

    services = WebhooksServices()
    receiver = services.listen("my secret", [Hook("Webhook Example", "/hook", ["message.sent"])])

    @services.process("Webhook Example")
    def on_message(job):
        print(job.data["message"]["parts"][0]["body"])

Mount ``receiver`` with :mod:`layer_webhooks.adapters.wsgi` or :mod:`layer_webhooks.adapters.asgi`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._services import WebhooksServices
from .config._duration import Duration, parse_duration
from .config._hooks import Hook, Receipts
from .errors import (
    ConfigurationError,
    ConfigurationTypeError,
    DeliveryRejected,
    InvalidDuration,
    InvalidHook,
    InvalidJobData,
    InvalidPayload,
    InvalidSignature,
    LayerAPIError,
    LayerWebhooksError,
    MethodNotAllowed,
    MissingExtra,
    NoHandlerRegistered,
    PayloadTooLarge,
    QueueError,
    RegistrationError,
    StoreError,
    UnsupportedMediaType,
)
from .jobs._job import DeadLetter, Handler, Job
from .jobs._memory_queue import MemoryQueue
from .jobs._queue import AsyncQueue, Queue
from .receipts._state import ReceiptsStore
from .receiving._events import Actor, Conversation, Event, Message, Part, parse_event
from .receiving._http import Request, Response
from .receiving._receiver import Receiver
from .receiving._signing import sign, verify_signature
from .registration._apply import RegistrationReport
from .registration._plan import Action, plan
from .store._memory import MemoryStore
from .store._port import AsyncStore, Store

if TYPE_CHECKING:
    from .rest._client import LayerClient

__all__ = [
    "Action",
    "Actor",
    "AsyncQueue",
    "AsyncStore",
    "ConfigurationError",
    "ConfigurationTypeError",
    "Conversation",
    "DeadLetter",
    "DeliveryRejected",
    "Duration",
    "Event",
    "Handler",
    "Hook",
    "InvalidDuration",
    "InvalidHook",
    "InvalidJobData",
    "InvalidPayload",
    "InvalidSignature",
    "Job",
    "LayerAPIError",
    "LayerClient",
    "LayerWebhooksError",
    "MemoryQueue",
    "MemoryStore",
    "Message",
    "MethodNotAllowed",
    "MissingExtra",
    "NoHandlerRegistered",
    "Part",
    "PayloadTooLarge",
    "Queue",
    "QueueError",
    "Receipts",
    "ReceiptsStore",
    "Receiver",
    "RegistrationError",
    "RegistrationReport",
    "Request",
    "Response",
    "Store",
    "StoreError",
    "UnsupportedMediaType",
    "WebhooksServices",
    "parse_duration",
    "parse_event",
    "plan",
    "sign",
    "verify_signature",
]

__version__ = "0.1.0"

_LAZY = ("LayerClient",)


def __getattr__(name: str) -> Any:
    # The REST client is imported on first use, so that importing the package stays light.
    if name in _LAZY:
        from .rest import _client

        return getattr(_client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
