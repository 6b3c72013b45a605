"""Receiving: the neutral request and response, signatures, events, the pure decision, the receiver.

:class:`Decider` is the pure half (a :class:`Request` in; a :class:`Response`, a
:class:`DeliveryPlan` of claims and jobs, or None out); :class:`Receiver` adds the two drivers
that carry a plan out on a queue and a store.
"""

from __future__ import annotations

from ._decision import OK, Decider, DeliveryPlan, MakeJob, PlannedJob, listen_job
from ._events import Actor, Conversation, Event, Message, Part, parse_event
from ._http import Request, Response
from ._receiver import UNAVAILABLE, Receiver
from ._signing import sign, verify_signature

__all__ = [
    "OK",
    "UNAVAILABLE",
    "Actor",
    "Conversation",
    "Decider",
    "DeliveryPlan",
    "Event",
    "MakeJob",
    "Message",
    "Part",
    "PlannedJob",
    "Receiver",
    "Request",
    "Response",
    "listen_job",
    "parse_event",
    "sign",
    "verify_signature",
]
