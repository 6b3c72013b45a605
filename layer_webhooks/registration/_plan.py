"""Registration planning: which webhooks to create or activate so that Layer matches the hooks.

Pure: :func:`plan` takes the webhooks Layer listed and the hooks, and returns one
:class:`Action` per hook; ``_apply.py`` carries them out over the client. The rules are the
Node module's (layer-protocol.md §4): the target is the normalised base URL plus the hook's
path; a webhook matches a hook on ``config.name`` **and** ``target_url``; a match that is not
``active`` is activated; no match is created with ``config: {"name": hook.name}``. Added here:
a match whose event list (or Webhooks version) differs is reported ``out-of-sync``, and every
hook's events are checked against the event types of the version registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from .._layer import API_VERSION, EVENT_TYPES, event_versions
from ..config._hooks import Hook, as_hooks
from ..errors import ConfigurationError, InvalidHook

__all__ = ["Action", "ActionKind", "check_version", "plan", "registered_events", "target_url"]

ActionKind = Literal["create", "activate", "unchanged", "out-of-sync"]
_DEFAULT_PORTS = {"https": ":443", "http": ":80"}


def _normalise(url: str) -> tuple[str, str, str]:
    """Scheme, authority without its default port (the Node module stripped ``:443``), path."""
    parts = urlsplit(url.strip())
    scheme, netloc = parts.scheme.lower(), parts.netloc
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(f"expected an http(s) URL without query or fragment, got {url!r}")
    userinfo, _, host = netloc.rpartition("@")
    host = host.lower().removesuffix(_DEFAULT_PORTS[scheme])
    return scheme, f"{userinfo}@{host}" if userinfo else host, parts.path


def target_url(url: str, hook: Hook) -> str:
    """``url`` (the base of every hook) joined to ``hook.path`` with exactly one ``/``.

    >>> target_url("https://example.com:443/hooks/", Hook("n", "/new-message"))
    'https://example.com/hooks/new-message'
    """
    scheme, netloc, path = _normalise(url)
    return urlunsplit((scheme, netloc, path.rstrip("/") + "/" + hook.path.lstrip("/"), "", ""))


def _same_target(registered: object, target: str) -> bool:
    if not isinstance(registered, str):
        return False
    try:
        scheme, netloc, path = _normalise(registered)
    except ConfigurationError:
        return False
    return urlunsplit((scheme, netloc, path, "", "")) == target


def registered_events(webhook: Mapping[str, Any]) -> tuple[str, ...]:
    """The events of a webhook as Layer lists it (``events``, or ``event_types`` on older servers)."""
    events = webhook.get("events", webhook.get("event_types"))
    if isinstance(events, str) or not isinstance(events, Iterable):
        return ()
    return tuple(e for e in events if isinstance(e, str))


def _config(webhook: Mapping[str, Any]) -> Mapping[str, Any]:
    config = webhook.get("config", webhook.get("target_config"))
    return config if isinstance(config, Mapping) else {}


@dataclass(frozen=True)
class Action:
    """What registration does, or would do, for one hook.

    ``kind`` is ``"create"`` (no webhook matches), ``"activate"`` (one matches but is not
    ``active``), ``"unchanged"`` (one matches and is active), or ``"out-of-sync"`` (one matches
    but its event list differs from ``hook.events``; ``needs_activation`` when it is also not
    active; the event list may be the same and the Webhooks ``version`` differ).
    ``webhook`` is the matching webhook as Layer listed it, ``duplicates`` the ids of further
    matches (left alone). ``secret`` is kept out of the ``repr``; ``version`` is the Webhooks
    API version a create asks for.
    """

    kind: ActionKind
    hook: Hook
    target_url: str
    webhook: Mapping[str, Any] | None = None
    needs_activation: bool = False
    duplicates: tuple[str, ...] = ()
    secret: str = field(default="", repr=False)
    version: str = API_VERSION

    @property
    def name(self) -> str:
        """The hook's name, also the webhook's ``config.name``."""
        return self.hook.name

    @property
    def webhook_id(self) -> str | None:
        """The matching webhook's id, None for a create."""
        return None if self.webhook is None else str(self.webhook.get("id"))

    @property
    def registered_events(self) -> tuple[str, ...]:
        """The events Layer has for the matching webhook (empty for a create)."""
        return () if self.webhook is None else registered_events(self.webhook)

    def create_body(self) -> dict[str, Any]:
        """The fields of ``POST /webhooks`` for this hook (it contains the secret)."""
        return {
            "target_url": self.target_url,
            "events": list(self.hook.events),
            "secret": self.secret,
            "config": {"name": self.hook.name},
            "version": self.version,
        }

    @property
    def registered_version(self) -> str | None:
        """The Webhooks version of the matching webhook as listed (None: none, or not listed)."""
        version = None if self.webhook is None else self.webhook.get("version")
        return version if isinstance(version, str) else None

    def describe(self) -> str:
        """The action in plain words."""
        where = f"{self.name!r} at {self.target_url}"
        if self.kind == "create":
            text = f"create the webhook for {where} ({', '.join(self.hook.events)})"
            if self.version != API_VERSION:
                text += f", Webhooks {self.version}"
        elif self.kind == "activate":
            text = f"activate webhook {self.webhook_id} for {where} (status {self.webhook_status})"
        elif self.kind == "unchanged":
            text = f"webhook {self.webhook_id} for {where} is active and up to date"
        elif set(self.registered_events) == set(self.hook.events):
            text = (
                f"webhook {self.webhook_id} for {where} is out of sync: Layer has it in Webhooks "
                f"{self.registered_version}, registration asks for {self.version}"
            )
        else:
            text = (
                f"webhook {self.webhook_id} for {where} is out of sync: Layer has "
                f"[{', '.join(self.registered_events)}], the hook wants [{', '.join(self.hook.events)}]"
            )
            if self.needs_activation:
                text += f" (status {self.webhook_status})"
        if self.duplicates:
            text += f"; also matching, left alone: {', '.join(self.duplicates)}"
        return text

    @property
    def webhook_status(self) -> str | None:
        """The matching webhook's ``status`` as listed."""
        status = None if self.webhook is None else self.webhook.get("status")
        return None if status is None else str(status)


def _choose(hook: Hook, matches: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    # Among duplicates (the Node module could leave some), prefer the one that needs no change.
    def score(webhook: Mapping[str, Any]) -> tuple[bool, bool]:
        return set(registered_events(webhook)) == set(hook.events), webhook.get("status") == "active"

    return max(matches, key=score)


def check_version(version: object, hooks: Iterable[Hook]) -> str:
    """``version`` if it is a Webhooks API version that has every hook's events.

    >>> check_version("2.0", [Hook("Unread", "/unread", ["Message.created", "Receipt.created"])])
    '2.0'

    A name no version has is :class:`Hook`'s to refuse (and Layer's, for a hook built around
    it); here a hook's events must not be another version's.

    :raises ConfigurationError: for an unknown version.
    :raises InvalidHook: for a hook with events of another version, naming it.
    """
    if not isinstance(version, str) or version not in EVENT_TYPES:
        raise ConfigurationError(
            f"version={version!r}: expected a Webhooks API version, one of {', '.join(EVENT_TYPES)}"
        )
    known = EVENT_TYPES[version]
    for hook in hooks:
        foreign = [event for event in hook.events if event not in known and event_versions(event)]
        if foreign:
            theirs = event_versions(foreign[0])
            raise InvalidHook(
                "events",
                f"hook {hook.name!r} has {', '.join(map(repr, foreign))}, not in Webhooks {version} but in "
                f"{' and '.join(theirs)}: register the hook with version={theirs[0]!r}, or give it Webhooks "
                f"{version}'s events ({', '.join(known)})",
            )
    return version


def plan(
    existing: Iterable[Mapping[str, Any]],
    hooks: Iterable[Hook | Mapping[str, Any]],
    url: str,
    secret: str,
    *,
    version: str = API_VERSION,
) -> list[Action]:
    """One :class:`Action` per hook, in order, to make Layer's webhooks (``existing``) match.

    ``url`` is the base URL of every hook (a trailing default port is dropped and exactly one
    ``/`` joins it to each hook's path); ``secret`` is what creates use; ``version`` the
    Webhooks API version of the webhooks (``"1.0"``, ``"2.0"`` or ``"3.0"``), whose event
    types every hook's events must be. Event lists are compared as sets; a match listed with
    another version is out of sync. Neither ``existing`` nor ``hooks`` is modified.

    >>> [a.kind for a in plan([], [Hook("Example", "/hook", ["message.sent"])], "https://x.test", "s")]
    ['create']

    :raises InvalidHook: for a hook without ``events`` (Layer requires them), or with events
        that ``version`` does not have.
    :raises ConfigurationError: for a URL that is not http(s), an empty secret, or an unknown
        version.
    """
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError("a webhook secret (a non-empty string) is required to register")
    webhooks = list(existing)
    actions = []
    checked = as_hooks(hooks)
    for hook in checked:
        if not hook.events:
            raise InvalidHook("events", f"hook {hook.name!r} has no events: Layer requires a list to register it")
    check_version(version, checked)
    for hook in checked:
        target = target_url(url, hook)
        matches = [
            w for w in webhooks if _config(w).get("name") == hook.name and _same_target(w.get("target_url"), target)
        ]
        if not matches:
            actions.append(Action("create", hook, target, secret=secret, version=version))
            continue
        webhook = _choose(hook, matches)
        duplicates = tuple(str(w.get("id")) for w in matches if w is not webhook)
        inactive = webhook.get("status") != "active"
        listed = webhook.get("version")
        kind: ActionKind
        if set(registered_events(webhook)) != set(hook.events) or (isinstance(listed, str) and listed != version):
            kind = "out-of-sync"
        else:
            kind = "activate" if inactive else "unchanged"
        actions.append(Action(kind, hook, target, webhook, inactive, duplicates, secret, version))
    return actions
