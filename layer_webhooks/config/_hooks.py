"""Hook definitions, in Python form or in the Node module's dict form."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._layer import API_VERSION, EVENT_TYPES, RECIPIENT_STATUSES, event_versions
from ..errors import ConfigurationTypeError, InvalidDuration, InvalidHook
from ._checks import suggest
from ._duration import Duration, parse_duration

#: ``identities=`` of :class:`Receipts`: False, True (Layer's identities), or a lookup function.
IdentityLookup = Callable[[str], Mapping[str, Any] | None]
Identities = bool | IdentityLookup


def _duration(field: str, value: Duration) -> float:
    try:
        return parse_duration(value)
    except InvalidDuration as exc:
        raise InvalidHook(field, str(exc)) from None


def _names(field: str, values: object) -> tuple[str, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidHook(field, "expected a list of strings")
    items = tuple(values)
    if not all(isinstance(v, str) and v for v in items):
        raise InvalidHook(field, "every entry must be a non-empty string")
    return tuple(dict.fromkeys(items))


def _events(values: object) -> tuple[str, ...]:
    # A name Layer does not know would be accepted here and then match no delivery, silently.
    events = _names("events", values)
    for event in events:
        if not event_versions(event):
            known = [name for names in EVENT_TYPES.values() for name in names]
            near = suggest(event, known)
            hint = (
                f"did you mean {near!r}?"
                if near
                else f"Webhooks {API_VERSION} has {', '.join(EVENT_TYPES[API_VERSION])}"
            )
            raise InvalidHook("events", f"{event!r} is not an event type of Layer's Webhooks API: {hint}")
    return events


def _path(path: object) -> str:
    if not isinstance(path, str) or any(c in path for c in "?#") or any(c.isspace() for c in path):
        raise InvalidHook("path", "expected a URL path without query, fragment or spaces")
    if "://" in path:
        raise InvalidHook(
            "path",
            f"expected a path on your server such as '/new-message', not a URL ({path!r}); "
            "the base URL is register()'s url argument",
        )
    normalised = "/" + path.strip("/")
    if normalised == "/":
        raise InvalidHook(
            "path", f"{path!r} would take over the root of the app; give the hook a path such as '/new-message'"
        )
    return normalised


_RECEIPTS_KEYS = (
    "delay", "reportForStatus", "report_for_status", "identities", "refresh",
    "include_sender", "includeSender", "track_service_senders", "trackServiceSenders",
)  # fmt: skip
_IDENTITIES_FORM = "def identities(user_id: str) -> dict | None"


def check_identities(identities: object) -> None:
    """Refuse an ``identities`` lookup that cannot be called with one user id.

    A port of the Node module's ``function (userId, callback)`` would get a ``TypeError`` on
    every lookup, caught and logged, and every identity would be None: refused here instead.

    :raises InvalidHook: for a callable that does not take exactly one positional argument.
    """
    if isinstance(identities, bool) or not callable(identities):
        return
    try:
        signature = inspect.signature(identities)
    except (TypeError, ValueError):
        return  # a builtin without a signature: trust it
    try:
        signature.bind("user id")
    except TypeError:
        name = getattr(identities, "__qualname__", type(identities).__name__)
        params = ", ".join(str(p.replace(annotation=p.empty)) for p in signature.parameters.values())
        raise InvalidHook(
            "receipts.identities",
            f"{name}({params}) cannot be called with one user id. Write it as {_IDENTITIES_FORM}, "
            "returning the identity (or None) instead of calling back as the Node module's "
            "function (userId, callback) did",
        ) from None


def _keys(field: str, data: Mapping[str, Any], known: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InvalidHook(field, f"unknown key(s) {', '.join(map(repr, unknown))}")


@dataclass(frozen=True, init=False)
class Receipts:
    """What a receipts hook reports: recipients still in ``report_for_status`` after ``delay``.

    ``delay`` falls back to the hook's own ``delay``; ``identities`` is False, True (look up
    Layer's identities) or a function ``def identities(user_id: str) -> dict | None``, checked
    here; ``refresh`` re-reads the message from the Platform API before evaluating; the sender
    is reported only when ``include_sender`` is set. Messages sent by a service (no
    ``sender.user_id``: a bot's reply) are neither tracked nor reported unless
    ``track_service_senders`` is set (the bot guard, as ``listen`` has it).

    :raises InvalidHook: naming the field, for an invalid setting.
    """

    delay: float | None
    report_for_status: tuple[str, ...]
    identities: Identities
    refresh: bool
    include_sender: bool
    track_service_senders: bool

    def __init__(
        self,
        delay: Duration | None = None,
        report_for_status: Iterable[str] = ("sent",),
        identities: Identities = False,
        refresh: bool = False,
        include_sender: bool = False,
        track_service_senders: bool = False,
    ) -> None:
        statuses = _names("receipts.report_for_status", report_for_status)
        if not statuses or any(s not in RECIPIENT_STATUSES for s in statuses):
            raise InvalidHook("receipts.report_for_status", f"expected some of {RECIPIENT_STATUSES}")
        if not (isinstance(identities, bool) or callable(identities)):
            raise InvalidHook("receipts.identities", f"expected a bool or a function: {_IDENTITIES_FORM}")
        check_identities(identities)
        set_ = object.__setattr__
        set_(self, "delay", None if delay is None else _duration("receipts.delay", delay))
        set_(self, "report_for_status", statuses)
        set_(self, "identities", identities)
        set_(self, "refresh", bool(refresh))
        set_(self, "include_sender", bool(include_sender))
        set_(self, "track_service_senders", bool(track_service_senders))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Receipts:
        """Read the Node module's ``receipts: {delay, reportForStatus, identities}`` (and this
        library's ``refresh``, ``includeSender``, ``trackServiceSenders``, in either case)."""
        if not isinstance(data, Mapping):
            raise InvalidHook("receipts", "expected a mapping")
        _keys("receipts", data, _RECEIPTS_KEYS)
        return cls(
            delay=data.get("delay"),
            report_for_status=data.get("reportForStatus", data.get("report_for_status", ("sent",))),
            identities=data.get("identities", False),
            refresh=data.get("refresh", False),
            include_sender=data.get("include_sender", data.get("includeSender", False)),
            track_service_senders=data.get("track_service_senders", data.get("trackServiceSenders", False)),
        )


@dataclass(frozen=True, init=False)
class Hook:
    """One webhook: a ``name`` (the job name), a ``path`` on your server, the ``events`` it takes.

    ``delay`` (seconds; numbers given here are milliseconds, strings like ``"10 minutes"``,
    see :func:`parse_duration`) postpones the job; ``receipts`` makes it a receipts hook.
    An empty ``events`` accepts every event type (Layer itself requires a list to register);
    each name must be one of Layer's (:data:`~layer_webhooks._layer.EVENT_TYPES`, any version).

    >>> Hook("Webhook Example", "new-message", events=["message.sent"]).path
    '/new-message'

    :raises InvalidHook: naming the field, for an invalid definition.
    """

    name: str
    path: str
    events: tuple[str, ...]
    delay: float
    receipts: Receipts | None

    def __init__(
        self,
        name: str,
        path: str,
        events: Iterable[str] = (),
        delay: Duration = 0,
        receipts: Receipts | Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidHook("name", "expected a non-empty string")
        normalised = _path(path)
        if receipts is not None and not isinstance(receipts, Receipts):
            receipts = Receipts.from_dict(receipts)
        seconds = _duration("delay", delay)
        if receipts is not None and receipts.delay is None and seconds <= 0:
            raise InvalidHook("receipts.delay", "a receipts hook needs a delay (receipts.delay or delay)")
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "path", normalised)
        set_(self, "events", _events(events))
        set_(self, "delay", seconds)
        set_(self, "receipts", receipts)

    @property
    def receipts_delay(self) -> float | None:
        """Seconds after ``message.sent`` at which a receipts check runs (None: not receipts)."""
        if self.receipts is None:
            return None
        return self.receipts.delay if self.receipts.delay is not None else self.delay

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hook:
        """Read the Node module's dict form: ``{name, path, events, delay, receipts}``.

        >>> Hook.from_dict({"name": "Unread", "path": "/unread", "events": ["message.sent"],
        ...                 "receipts": {"delay": "10 minutes", "reportForStatus": ["sent"]}}).receipts_delay
        600.0
        """
        if isinstance(data, Hook):
            return data
        if not isinstance(data, Mapping):
            raise InvalidHook("hook", "expected a mapping")
        _keys("hook", data, ("name", "path", "events", "delay", "receipts"))
        for required in ("name", "path"):
            if required not in data:
                raise InvalidHook(required, "is required")
        return cls(
            name=data["name"],
            path=data["path"],
            events=data.get("events") or (),
            delay=data.get("delay") or 0,
            receipts=data.get("receipts"),
        )


def as_hooks(hooks: Iterable[Hook | Mapping[str, Any]]) -> tuple[Hook, ...]:
    """Hooks from :class:`Hook` objects or Node-style dicts; names must be unique.

    :raises ConfigurationTypeError: ``hooks`` is not a list of them.
    """
    if isinstance(hooks, (Hook, Mapping)):
        hooks = [hooks]
    if isinstance(hooks, (str, bytes)) or not isinstance(hooks, Iterable):
        raise ConfigurationTypeError("hooks", "a list of Hook(name, path, events) or of dicts", hooks)
    items = list(hooks)
    for index, item in enumerate(items):
        if not isinstance(item, (Hook, Mapping)):
            raise ConfigurationTypeError(f"hooks[{index}]", "a Hook(name, path, events) or a dict", item)
    result = tuple(h if isinstance(h, Hook) else Hook.from_dict(h) for h in items)
    if not result:
        raise InvalidHook("hooks", "at least one hook is required")
    names = [h.name for h in result]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidHook("name", f"hook names must be unique (jobs are named after them): {duplicates}")
    return result
