"""One registered webhook: the record, the create body read into it, and how the REST API shows
it (layer-protocol.md §4)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from ..._layer import EVENT_TYPES, webhook_id
from ...errors import LayerAPIError
from ._layer_errors import layer_error
from ._outgoing import is_loopback

Status = Literal["unverified", "active", "inactive"]


@dataclass(eq=False)
class Webhook:
    """One registered webhook; changed only under the emulator's lock."""

    uuid: str
    version: str
    target_url: str
    events: tuple[str, ...]
    secret: str
    config: dict[str, Any] | None
    created_at: str
    status: Status = "unverified"
    status_reason: str | None = None
    #: The challenge of the verification in flight (None: none is).
    challenge: str | None = None

    def layer_id(self, app: str) -> str:
        """``layer:///apps/<app>/webhooks/<uuid>``."""
        return webhook_id(app, self.uuid)

    def as_json(self, app: str, root: str, *, legacy: bool = False) -> dict[str, Any]:
        """The webhook as the REST API shows it; never the secret.

        ``legacy``: name the fields ``event_types`` and ``target_config``, as older servers did.
        """
        body: dict[str, Any] = {
            "id": self.layer_id(app),
            "url": f"{root}/apps/{app}/webhooks/{self.uuid}",
            "version": self.version,
            "target_url": self.target_url,
            "event_types" if legacy else "events": list(self.events),
            "status": self.status,
        }
        if self.status_reason is not None:
            body["status_reason"] = self.status_reason
        body["created_at"] = self.created_at
        body["target_config" if legacy else "config"] = copy.deepcopy(self.config or {})
        return body


def _missing(name: str) -> LayerAPIError:
    return layer_error("missing_property", f"The {name} property cannot be omitted.", data={"property": name})


def _invalid(name: str, why: str) -> LayerAPIError:
    return layer_error("invalid_property", f"The {name} property {why}.", data={"property": name})


def _target_url(value: object) -> str:
    if value is None:
        raise _missing("target_url")
    if not isinstance(value, str):
        raise _invalid("target_url", "must be a string")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise _invalid("target_url", "must be an absolute URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("target_url", "must be an absolute https URL")
    if parts.scheme == "http" and not is_loopback(value):
        raise _invalid("target_url", "must use https")
    return value


def read_webhook(body: object, created_at: str) -> Webhook:
    """A new ``unverified`` webhook from a create request's JSON ``body``.

    ``events`` may be named ``event_types`` and ``config`` ``target_config`` (older servers).

    :raises LayerAPIError: 400 for a body that is not an object, 422 (``missing_property`` /
        ``invalid_property``, naming it in ``data``) for an invalid field.
    """
    if not isinstance(body, Mapping):
        raise layer_error("invalid_request", "The request body must be a JSON object.")
    version = body.get("version")
    if version is None:
        raise _missing("version")
    if not isinstance(version, str) or version not in EVENT_TYPES:
        raise _invalid("version", f"must be one of {', '.join(EVENT_TYPES)}")
    target_url = _target_url(body.get("target_url"))
    events = body.get("events", body.get("event_types"))
    if events is None:
        raise _missing("events")
    if not isinstance(events, list) or not events:
        raise _invalid("events", "must be a non-empty array of event types")
    unknown = [e for e in events if e not in EVENT_TYPES[version]]
    if unknown:
        raise layer_error(
            "invalid_property",
            f"The events property has event types unknown in version {version}: {unknown!r}.",
            data={"property": "events", "value": unknown},
        )
    secret = body.get("secret")
    if secret is None:
        raise _missing("secret")
    if not isinstance(secret, str) or not secret:
        raise _invalid("secret", "must be a non-empty string")
    config = body.get("config", body.get("target_config"))
    if config is not None and not isinstance(config, dict):
        raise _invalid("config", "must be an object")
    return Webhook(
        uuid=str(uuid.uuid4()),
        version=version,
        target_url=target_url,
        events=tuple(dict.fromkeys(events)),
        secret=secret,
        config=copy.deepcopy(config) if config else None,
        created_at=created_at,
    )
