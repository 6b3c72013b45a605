"""Layer's protocol constants, in one place: what Layer sends, what it accepts, and its ids.

Each group cites its section of the protocol page (``/work/shared/layer-protocol.md``); the
receiver, the REST client, the receipts and the testing kit all read them from here, so that
the emulator and the code it tests cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ANNOUNCEMENT_PREFIX",
    "API_VERSION",
    "APP_PREFIX",
    "CONVERSATION_PREFIX",
    "DEFAULT_BASE_URL",
    "DELIVERY_DEADLINE",
    "DELIVERY_RETRY_SCHEDULE",
    "EVENT_TYPES",
    "EVENT_TYPE_HEADER",
    "IDENTITY_PREFIX",
    "LAYER_ID_PREFIX",
    "MAX_PART_BYTES",
    "MESSAGE_PREFIX",
    "PATCH_MEDIA_TYPE",
    "PLATFORM_ACCEPT",
    "PLATFORM_MEDIA_TYPE",
    "RECIPIENT_STATUSES",
    "REQUEST_ID_HEADER",
    "SIGNATURE_HEADER",
    "STATUS_RANK",
    "USER_AGENT",
    "WEBHOOKS_ACCEPT",
    "WEBHOOKS_MEDIA_TYPE",
    "WEBHOOKS_VERSIONS",
    "WEBHOOK_ID_HEADER",
    "event_versions",
    "media_type",
    "webhook_id",
]

# --- §1 Delivery: the headers of a delivery, Layer's deadline and its retry schedule ---------

#: Lowercase hex HMAC-SHA1 of the raw body, keyed with the webhook's secret.
SIGNATURE_HEADER = "layer-webhook-signature"
#: The same as the payload's ``event.type``.
EVENT_TYPE_HEADER = "layer-webhook-event-type"
#: The id of one delivery, the same on each of its retries.
REQUEST_ID_HEADER = "layer-webhook-request-id"
#: The webhook's id, a bare UUID or ``layer:///apps/<app>/webhooks/<uuid>``.
WEBHOOK_ID_HEADER = "layer-webhook-id"
#: The ``User-Agent`` of Layer's deliveries, as recorded (it contains ``layer-webhooks``).
USER_AGENT = "layer-webhooks/1.0"
#: Seconds Layer gives a target to answer 2xx.
DELIVERY_DEADLINE = 1.0
#: Seconds from a failed delivery attempt to the next; after the last the webhook is ``inactive``.
DELIVERY_RETRY_SCHEDULE = (10.0, 30.0, 120.0, 300.0, 1200.0)

# --- §1, §4, §5 Media types: each API refuses the other's with 406 ----------------------------

#: The Webhooks API's media type: deliveries' ``Content-Type`` and the REST API's ``Accept``.
WEBHOOKS_MEDIA_TYPE = "application/vnd.layer.webhooks+json"
#: The Platform API's media type (messages, identities).
PLATFORM_MEDIA_TYPE = "application/vnd.layer+json"
#: The ``Content-Type`` of a Platform API ``PATCH``: a JSON array of Layer Patch operations
#: (``{"operation": "add"|"remove"|"set"|"delete", "property": "participants"|"metadata.a.b", "value"?}``).
PATCH_MEDIA_TYPE = "application/vnd.layer-patch+json"
#: Layer's limit on the ``body`` of each part of a message or announcement sent through the
#: Platform API, in bytes ("limited to a size of 2kb per message part").
MAX_PART_BYTES = 2048
#: The Webhooks API version this project targets.
API_VERSION = "1.0"
#: Every Webhooks API version whose payloads are read (1.0 is the target).
WEBHOOKS_VERSIONS = ("1.0", "2.0", "3.0")


def media_type(base: str, version: str = API_VERSION) -> str:
    """``base`` with its ``version`` parameter, as Layer writes it.

    >>> media_type(WEBHOOKS_MEDIA_TYPE, "2.0")
    'application/vnd.layer.webhooks+json; version=2.0'
    """
    return f"{base}; version={version}"


#: ``Accept`` of every Webhooks REST API request (§4).
WEBHOOKS_ACCEPT = media_type(WEBHOOKS_MEDIA_TYPE)
#: ``Accept`` of every Platform API request (§5).
PLATFORM_ACCEPT = media_type(PLATFORM_MEDIA_TYPE)

# --- §3 Event types, per Webhooks API version -------------------------------------------------

_V2_EVENTS = (
    "Message.created", "Message.updated", "Message.deleted", "Receipt.created",
    "Conversation.created", "Conversation.updated", "Conversation.deleted",
    "Participation.created", "Participation.deleted",
)  # fmt: skip
#: The event types a webhook of each version can subscribe to; 1.0 also takes the older names
#: seen in the wild (``conversation.participants_updated``, ``conversation.metadata_updated``).
EVENT_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "1.0": (
            "message.sent", "message.delivered", "message.read", "message.deleted",
            "conversation.created", "conversation.updated.participants",
            "conversation.updated.metadata", "conversation.deleted",
            "conversation.participants_updated", "conversation.metadata_updated",
        ),
        "2.0": _V2_EVENTS,
        "3.0": (*_V2_EVENTS, "MessagePart.created", "MessagePart.updated", "MessagePart.deleted"),
    }
)  # fmt: skip


def event_versions(event_type: str) -> tuple[str, ...]:
    """The Webhooks API versions that know ``event_type`` (empty: none does).

    >>> event_versions("Receipt.created"), event_versions("message.snt")
    (('2.0', '3.0'), ())
    """
    return tuple(version for version, types in EVENT_TYPES.items() if event_type in types)


# --- §3 Recipient statuses, in the order they progress ----------------------------------------

#: A recipient's status only moves forward: sent, then delivered, then read.
RECIPIENT_STATUSES = ("sent", "delivered", "read")
#: Each status's place in that order, from 1 (so that 0 can stand for "none").
STATUS_RANK: Mapping[str, int] = MappingProxyType({s: rank for rank, s in enumerate(RECIPIENT_STATUSES, 1)})

# --- §3, §4 Ids and the API root --------------------------------------------------------------

#: Every Layer id starts with this.
LAYER_ID_PREFIX = "layer:///"
#: ``layer:///identities/<user_id>`` (v2+ senders and participants, Platform API user ids).
IDENTITY_PREFIX = "layer:///identities/"
#: ``layer:///conversations/<uuid>``.
CONVERSATION_PREFIX = "layer:///conversations/"
#: ``layer:///messages/<uuid>``.
MESSAGE_PREFIX = "layer:///messages/"
#: ``layer:///announcements/<uuid>`` (Platform API announcements).
ANNOUNCEMENT_PREFIX = "layer:///announcements/"
#: ``layer:///apps/<uuid>`` or ``layer:///apps/staging/<uuid>``.
APP_PREFIX = "layer:///apps/"
#: The root of Layer's REST APIs; an app's are under ``/apps/<app_uuid>``.
DEFAULT_BASE_URL = "https://api.layer.com"


def webhook_id(app_uuid: str, uuid: str) -> str:
    """A webhook's full id, as Layer lists it.

    >>> webhook_id("7c1c", "ab12")
    'layer:///apps/7c1c/webhooks/ab12'
    """
    return f"{APP_PREFIX}{app_uuid}/webhooks/{uuid}"
