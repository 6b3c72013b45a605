"""Every error the library raises, under one root.

::

    LayerWebhooksError
     +-- ConfigurationError (ValueError)      a definition or option is invalid
     |    +-- InvalidHook                     names the offending ``field``
     |    +-- InvalidDuration                 carries the rejected ``value``
     |    +-- ConfigurationTypeError (TypeError)  a value of the wrong type; names the ``field``
     +-- DeliveryRejected                     a delivery was refused; carries ``status_code``
     |    +-- PayloadTooLarge        413
     |    +-- InvalidSignature       403
     |    +-- UnsupportedMediaType   415
     |    +-- InvalidPayload (ValueError)   400
     |    +-- MethodNotAllowed       405
     +-- QueueError                503       the queue could not accept a job
     +-- StoreError                503       the state store could not answer
     +-- InvalidJobData (TypeError)          job data is not JSON-safe (a programming error)
     +-- NoHandlerRegistered (LookupError)   a job ran where no handler has its name
     +-- LayerAPIError                       Layer's REST API answered an error
     +-- RegistrationError         502       one hook's webhook could not be registered
     +-- MissingExtra (ModuleNotFoundError)  an adapter's extra is not installed

Each class carries the HTTP ``status_code`` it maps to, so that an adapter or a caller can
answer without a table of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ConfigurationError",
    "ConfigurationTypeError",
    "DeliveryRejected",
    "InvalidDuration",
    "InvalidHook",
    "InvalidJobData",
    "InvalidPayload",
    "InvalidSignature",
    "LayerAPIError",
    "LayerWebhooksError",
    "MethodNotAllowed",
    "MissingExtra",
    "NoHandlerRegistered",
    "PayloadTooLarge",
    "QueueError",
    "RegistrationError",
    "StoreError",
    "UnsupportedMediaType",
]


class LayerWebhooksError(Exception):
    """Root of every error raised by ``layer_webhooks``."""

    status_code: int = 500


class ConfigurationError(LayerWebhooksError, ValueError):
    """A definition or an option given to the library is invalid (a programming error)."""


class InvalidHook(ConfigurationError):
    """A hook definition is invalid; ``field`` names the offending field (``"receipts.delay"``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"hook field {field!r}: {message}")
        self.field = field


class ConfigurationTypeError(ConfigurationError, TypeError):
    """A value given to the library has the wrong type: ``field`` names where it was given.

    The message says what was expected, the type that came and how to fix it:
    ``queue: expected a Queue such as HueyQueue(RedisHuey(...)), got str``.
    """

    def __init__(self, field: str, expected: str, value: object, fix: str = "") -> None:
        got = "None" if value is None else type(value).__name__
        super().__init__(f"{field}: expected {expected}, got {got}{f'; {fix}' if fix else ''}")
        self.field = field


class InvalidDuration(ConfigurationError):
    """A duration could not be parsed; ``value`` is what was given."""

    def __init__(self, value: object, message: str = "") -> None:
        detail = message or "expected milliseconds, a timedelta, or a string such as '10 minutes'"
        super().__init__(f"invalid duration {value!r}: {detail}")
        self.value = value


class DeliveryRejected(LayerWebhooksError):
    """A webhook delivery was refused; ``status_code`` is the HTTP answer."""

    status_code = 400


class PayloadTooLarge(DeliveryRejected):
    """The body exceeds the receiver's ``max_body_bytes``."""

    status_code = 413


class InvalidSignature(DeliveryRejected):
    """The ``layer-webhook-signature`` header is missing, malformed or does not match."""

    status_code = 403


class UnsupportedMediaType(DeliveryRejected):
    """The ``content-type`` is not JSON."""

    status_code = 415


class InvalidPayload(DeliveryRejected, ValueError):
    """The body is not a JSON object with an ``event.type`` string."""

    status_code = 400


class MethodNotAllowed(DeliveryRejected):
    """A hook path was called with a method other than GET or POST."""

    status_code = 405


class QueueError(LayerWebhooksError):
    """The queue could not accept a job; the delivery is answered 503 so that Layer retries."""

    status_code = 503


class StoreError(LayerWebhooksError):
    """The state store could not be read or written; answered 503 so that Layer retries."""

    status_code = 503


class InvalidJobData(LayerWebhooksError, TypeError):
    """Job data is not JSON-safe. A programming error: never turned into a 503."""


class LayerAPIError(LayerWebhooksError):
    """Layer's REST API answered an error, or could not be reached (``status`` 0).

    The attributes come from Layer's error body ``{code, id, message, data}``; ``request`` names
    the call (``"GET /apps/<uuid>/webhooks"``). The token is never part of the message.
    """

    def __init__(
        self,
        status: int,
        code: int | None = None,
        id: str | None = None,
        message: str = "",
        data: Mapping[str, Any] | None = None,
        *,
        request: str = "",
    ) -> None:
        text = f"Layer API error {status}" if status else "Layer API unreachable"
        if request:
            text += f" on {request}"
        if id:
            text += f" ({id})"
        if message:
            text += f": {message}"
        super().__init__(text)
        self.status = status
        self.status_code = status or 503
        self.code = code
        self.id = id
        self.message = message
        self.data = dict(data) if data else {}
        self.request = request


class RegistrationError(LayerWebhooksError):
    """One hook's webhook could not be registered as asked: an entry of ``report.errors``.

    ``hook`` is the hook's name; ``cause`` the :class:`LayerAPIError` of the failed request, or
    None when Layer answered but the webhook did not become active, in which case
    ``challenge_failed`` says whether it failed the verification challenge.
    """

    status_code = 502

    def __init__(
        self, hook: str, message: str, *, cause: LayerAPIError | None = None, challenge_failed: bool = False
    ) -> None:
        super().__init__(message)
        self.hook = hook
        self.cause = cause
        self.challenge_failed = challenge_failed


class NoHandlerRegistered(LayerWebhooksError, LookupError):
    """A job ran where no handler is registered for its ``name``.

    Logged at ERROR on each attempt and retried on the default schedule (a worker may be older
    than the web process that queued the job), then kept as a dead letter. Register the
    handler with ``@services.process(name)`` in the module the workers load. ``suggestion``
    is a registered name close to ``name`` (a typo, another case), or None.
    """

    def __init__(self, name: str, suggestion: str | None = None) -> None:
        hint = f"; did you mean {suggestion!r}? (job names are the hooks' names, exactly)" if suggestion else ""
        super().__init__(f"no handler registered for jobs named {name!r}{hint}")
        self.name = name
        self.suggestion = suggestion


class MissingExtra(LayerWebhooksError, ModuleNotFoundError):
    """An adapter was imported without the extra that installs its dependency.

    ``extra`` is the extra's name (``"wsgi"``), ``name`` the module that is missing; the
    message gives the command: ``pip install 'layer-webhooks[wsgi]'``.
    """

    def __init__(self, adapter: str, extra: str, missing: str | None) -> None:
        module = (missing or extra).partition(".")[0]
        super().__init__(
            f"{adapter} needs {module!r}, which is not installed: pip install 'layer-webhooks[{extra}]'",
            name=module,
        )
        self.extra = extra
