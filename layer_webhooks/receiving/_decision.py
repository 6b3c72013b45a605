"""The receiver's decision, pure: from a :class:`Request` to an answer, or to a plan of jobs.

Sans-I/O in the h11 sense: :meth:`Decider.decide` reads no store, queue or clock. Either the
request is answered outright (a challenge, a rejection, an ignored event: a :class:`Response`),
or the answer waits on I/O that a driver does (:class:`~._receiver.Receiver`): a
:class:`DeliveryPlan` lists the jobs to queue, each with the de-duplication claim to take
first. The order of checks follows layer-protocol.md §1-2.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .._layer import EVENT_TYPE_HEADER, REQUEST_ID_HEADER, SIGNATURE_HEADER
from .._logsafe import clip
from .._slots import slot_setters
from ..config._hooks import Hook, as_hooks
from ..errors import (
    ConfigurationError,
    DeliveryRejected,
    InvalidPayload,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from ..jobs._codec import BodyData
from ._events import EVENT_ALIASES, Event, user_id_of
from ._http import Request, Response
from ._payload import load_payload_screened
from ._signing import check, secret_keys, signers

log = logging.getLogger("layer_webhooks.receiver")

# Layer retries a delivery for ~28 min (_layer.DELIVERY_RETRY_SCHEDULE); a shorter window would let a retry in.
MIN_DEDUPE_TTL = 1800.0

#: The answer once every job of a delivery is queued (or was, as a duplicate): 200, no body.
#: Servers write a response's headers and its body separately (uvicorn, gunicorn): with no
#: body the answer leaves in one TCP segment, not two (-13% of uvicorn's CPU per request).
OK = Response(200, (("Content-Length", "0"),))

# A GET without a challenge: "200 OK", as the Node module answered it (a person or a probe reads it).
_GET_OK = Response.text(200, "OK")

#: Makes the job an accepted event gives one hook: ``(hook, event, payload) -> (name, data,
#: delay in seconds)``, or None for no job. :func:`listen_job` is the default.
MakeJob = Callable[[Hook, Event, Mapping[str, Any]], tuple[str, Mapping[str, Any], float] | None]


def listen_job(hook: Hook, event: Event, payload: Mapping[str, Any]) -> tuple[str, Mapping[str, Any], float]:
    """The job an accepted event makes for ``hook``: the Node module's ``listen`` shape.

    Named after the hook, with ``title``, ``timestamp``, ``type``, ``event_id``, ``config`` and
    the payload's ``conversation`` / ``message``, after the hook's ``delay``.
    """
    data = _listen_fields(hook, event, payload)
    data.update((part, payload[part]) for part in _BODY_PARTS[1:] if part in payload)
    return hook.name, data, hook.delay


# The parts of the payload a listen job carries as they are (config defaults to None).
_BODY_PARTS = ("config", "conversation", "message")


def _listen_fields(hook: Hook, event: Event, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": hook.name,
        "timestamp": payload["event"].get("created_at"),
        "type": event.type,
        "event_id": event.id,
        "config": payload.get("config"),
    }


def _listen_body_job(
    hook: Hook, event: Event, payload: dict[str, Any], text: str, screened: bool
) -> tuple[str, BodyData, float]:
    """:func:`listen_job`, its record reusing the body's JSON text for the payload's parts (its
    fields are strings or come from the payload: ``screened`` holds for them as for the body)."""
    data = BodyData(_listen_fields(hook, event, payload), payload, text, _BODY_PARTS, screened)
    return hook.name, data, hook.delay


@dataclass(frozen=True, slots=True)
class PlannedJob:
    """One job a delivery makes: queue ``name`` with ``data`` after ``delay`` s as ``job_id``,
    unless ``claim`` is live in the store; the claim is written once the job is queued
    (``claim`` and ``job_id`` are None when the delivery carries neither an event id nor a
    request id: nothing to de-duplicate on)."""

    name: str
    data: Mapping[str, Any]
    delay: float
    job_id: str | None
    claim: str | None


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """What an accepted delivery needs: its ``jobs``, in order, each claimed for ``claim_ttl``
    seconds once it is queued; ``answer`` once they all are (a failure answers 503 instead)."""

    jobs: tuple[PlannedJob, ...]
    claim_ttl: float
    answer: Response = OK


# PlannedJob(...) and DeliveryPlan(...) a slot at a time (see layer_webhooks._slots): once per delivery.
_JOB_SLOTS = slot_setters(PlannedJob, "name", "data", "delay", "job_id", "claim")
_PLAN_SLOTS = slot_setters(DeliveryPlan, "jobs", "claim_ttl", "answer")


def _planned(name: str, data: Mapping[str, Any], delay: float, job_id: str | None, claim: str | None) -> PlannedJob:
    job = object.__new__(PlannedJob)
    set_name, set_data, set_delay, set_job_id, set_claim = _JOB_SLOTS
    set_name(job, name)
    set_data(job, data)
    set_delay(job, delay)
    set_job_id(job, job_id)
    set_claim(job, claim)
    return job


def _plan(jobs: tuple[PlannedJob, ...], claim_ttl: float) -> DeliveryPlan:
    plan = object.__new__(DeliveryPlan)
    set_jobs, set_ttl, set_answer = _PLAN_SLOTS
    set_jobs(plan, jobs)
    set_ttl(plan, claim_ttl)
    set_answer(plan, OK)
    return plan


def _check_length(body: bytes, declared: str | None) -> None:
    # A body cut short (the client half-closed, or a server that does not check) must not
    # count as the delivery: some servers hand the application what arrived without a word.
    if declared and declared.isascii() and declared.isdigit() and len(declared) < 20 and len(body) < int(declared):
        raise InvalidPayload(f"body of {len(body)} bytes is shorter than its Content-Length ({int(declared)})")


def _as_key(dedupe_id: str | None) -> str | None:
    # A lone surrogate in an id cannot be written as UTF-8 (a store key, a job id): its escape
    # can. The job's data keeps the id as sent.
    if dedupe_id and not dedupe_id.isascii():
        return dedupe_id.encode("utf-8", "backslashreplace").decode("utf-8")
    return dedupe_id


def _is_json(content_type: str | None) -> bool:
    return _is_json_type(content_type) if content_type else False


@functools.lru_cache(maxsize=64)  # the few a deployment sees (Layer sends one): no parse per delivery
def _is_json_type(content_type: str) -> bool:
    mime = content_type.partition(";")[0].strip().lower()
    return mime == "application/json" or ("/" in mime and mime.endswith("+json"))


class Decider:
    """The pure half of a :class:`~layer_webhooks.Receiver`: which paths it serves, and what each
    request needs (:meth:`decide`). It holds settings only; a driver does the I/O.

    ``secret`` is the webhook secret, or a sequence of secrets while one is being rotated.
    ``make_job`` maps an accepted event to the job it makes for each hook that takes it
    (default :func:`listen_job`). The other options are :class:`~layer_webhooks.Receiver`'s.
    """

    def __init__(
        self,
        secret: str | Sequence[str],
        hooks: Iterable[Hook | Mapping[str, Any]],
        *,
        max_body_bytes: int = 1_048_576,
        dedupe_ttl: float = 3600.0,
        skip_service_senders: bool = True,
        make_job: MakeJob = listen_job,
    ) -> None:
        self._macs = signers(secret_keys(secret))
        self.hooks: tuple[Hook, ...] = as_hooks(hooks)
        if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ConfigurationError("max_body_bytes must be a positive int")
        if dedupe_ttl < MIN_DEDUPE_TTL:
            raise ConfigurationError(
                f"dedupe_ttl must be at least {MIN_DEDUPE_TTL:.0f} s: Layer retries for ~28 minutes"
            )
        if not callable(make_job):
            raise ConfigurationError("make_job must be a function (hook, event, payload) -> (name, data, delay)")
        #: Adapters read at most this many bytes plus one, and let :meth:`decide` answer 413.
        self.max_body_bytes = max_body_bytes
        self.dedupe_ttl = float(dedupe_ttl)
        self.skip_service_senders = skip_service_senders
        self.make_job = make_job
        self._routes: dict[str, tuple[Hook, ...]] = {}
        for hook in self.hooks:
            self._routes[hook.path] = (*self._routes.get(hook.path, ()), hook)

    def _route(self, path: str) -> tuple[Hook, ...] | None:
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        return self._routes.get(path)

    def owns(self, path: str) -> bool:
        """Whether ``path`` is a hook path (an adapter can decide before reading the body)."""
        return self._route(path) is not None

    def decide(self, request: Request) -> Response | DeliveryPlan | None:
        """What ``request`` needs: None when its path is not a hook path (pass it on); a
        :class:`Response` to give as it is; or the :class:`DeliveryPlan` of an accepted delivery.

        >>> decider = Decider("my secret", [Hook("Webhook Example", "/hook", ["message.sent"])])
        >>> decider.decide(Request("GET", "/hook", "verification_challenge=abc")).body
        b'abc'
        >>> decider.decide(Request("POST", "/hook", "", {}, b"{}")).status
        403
        """
        hooks = self._route(request.path)
        if hooks is None:
            return None
        method = request.method
        if method == "POST":
            return self._accept(request, hooks)
        if method == "GET":
            challenge = parse_qs(request.query, keep_blank_values=True).get("verification_challenge")
            if challenge is None:
                return _GET_OK
            log.info("answered the verification challenge on %s", clip(request.path))
            return Response.text(200, challenge[0])
        return self._reject(request, MethodNotAllowed(f"method {method[:16]!r} not allowed"))

    def _accept(self, request: Request, hooks: tuple[Hook, ...]) -> Response | DeliveryPlan:
        body = request.body
        try:
            if len(body) > self.max_body_bytes:
                raise PayloadTooLarge(f"body larger than {self.max_body_bytes} bytes")
            _check_length(body, request.headers.get("content-length"))
            check(body, request.headers.get(SIGNATURE_HEADER), self._macs)
            if not _is_json(request.headers.get("content-type")):
                raise UnsupportedMediaType("content-type is not JSON")
            payload, text, screened = load_payload_screened(body)
            event = Event(payload)
        except DeliveryRejected as exc:
            return self._reject(request, exc)
        message = payload.get("message")
        if self.skip_service_senders and isinstance(message, dict) and not user_id_of(message.get("sender")):
            log.info("ignored %s %s: sent by a service (no sender.user_id)", clip(event.type), clip(event.id))
            return OK
        event_type = EVENT_ALIASES.get(event.type, event.type)
        dedupe_id = _as_key(event.id or request.headers.get(REQUEST_ID_HEADER))
        jobs: list[PlannedJob] = []
        # The default job reuses the body's text, unless it starts with a BOM (not JSON text).
        fast = self.make_job is listen_job and not text.startswith("\ufeff")
        for hook in hooks:
            if hook.events and event_type not in hook.events:
                continue
            job = (
                _listen_body_job(hook, event, payload, text, screened) if fast else self.make_job(hook, event, payload)
            )
            if job is None:
                continue
            name, data, delay = job
            if dedupe_id:
                jobs.append(_planned(name, data, delay, f"{name}:{dedupe_id}", f"seen:{name}:{dedupe_id}"))
            else:
                jobs.append(_planned(name, data, delay, None, None))
        if not jobs:
            log.debug("ignored %s %s on %s: no hook takes it", clip(event.type), clip(event.id), clip(request.path))
            return OK
        return _plan(tuple(jobs), self.dedupe_ttl)

    def _reject(self, request: Request, exc: DeliveryRejected) -> Response:
        headers = request.headers
        log.warning(
            "rejected delivery to %s (%d): %s [event type %s, request id %s]",
            clip(request.path), exc.status_code, exc,
            clip(headers.get(EVENT_TYPE_HEADER)), clip(headers.get(REQUEST_ID_HEADER)),
        )  # fmt: skip
        extra = (("Allow", "GET, POST"),) if isinstance(exc, MethodNotAllowed) else ()
        return Response.text(exc.status_code, str(exc), *extra)
