"""The emulator's HTTP face, a WSGI app: the Webhooks REST API and the Platform API pieces
(layer-protocol.md §4-5), answering every error with Layer's error body, never a traceback.

Platform API writes change the chat state and publish the webhook event Layer would have
sent: a message sent through the API (a bot's reply) is delivered as ``message.sent`` like
any other, a conversation edit as ``conversation.updated.*``; an announcement sends none.
It serves an :class:`~._state.EmulatorState` through its public methods only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..._layer import (
    CONVERSATION_PREFIX,
    PATCH_MEDIA_TYPE,
    PLATFORM_MEDIA_TYPE,
    WEBHOOKS_MEDIA_TYPE,
    WEBHOOKS_VERSIONS,
)
from ...errors import ConfigurationError, LayerAPIError
from ...rest._urls import canonical_app_uuid
from ._layer_errors import error_body, layer_error
from ._platform import read_announcement, read_conversation, read_message
from ._state import APIRequest, EmulatorState

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("layer_webhooks.testing")

T = TypeVar("T")

_PLATFORM = (
    "conversation",
    "conversation_create",
    "conversation_patch",
    "message",
    "message_send",
    "announce",
    "identity",
)
_CONFLICT = "The requested Distinct Conversation was found but had metadata that did not match your request."
_HTTP_WARNING = '299 - "Layer requires an https target_url; the emulator allows http on loopback"'

_URLS = Map(
    [
        Rule("/apps/<app>/webhooks", methods=["GET"], endpoint="list"),
        Rule("/apps/<app>/webhooks", methods=["POST"], endpoint="create"),
        Rule("/apps/<app>/webhooks/<hook>", methods=["GET"], endpoint="get"),
        Rule("/apps/<app>/webhooks/<hook>", methods=["DELETE"], endpoint="delete"),
        Rule("/apps/<app>/webhooks/<hook>/activate", methods=["POST"], endpoint="activate"),
        Rule("/apps/<app>/webhooks/<hook>/deactivate", methods=["POST"], endpoint="deactivate"),
        Rule("/apps/<app>/conversations", methods=["POST"], endpoint="conversation_create"),
        Rule("/apps/<app>/conversations/<conversation>", methods=["GET"], endpoint="conversation"),
        Rule("/apps/<app>/conversations/<conversation>", methods=["PATCH"], endpoint="conversation_patch"),
        Rule("/apps/<app>/conversations/<conversation>/messages", methods=["POST"], endpoint="message_send"),
        Rule("/apps/<app>/conversations/<conversation>/messages/<message>", methods=["GET"], endpoint="message"),
        Rule("/apps/<app>/announcements", methods=["POST"], endpoint="announce"),
        Rule("/apps/<app>/users/<path:user>/identity", methods=["GET"], endpoint="identity"),
    ],
    merge_slashes=False,
)


def _json(status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(json.dumps(body), status, headers=list(headers), content_type="application/json")


def _error(error: LayerAPIError, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return _json(error.status, error_body(error), headers)


def _accepts(header: str | None, media: str) -> bool:
    for item in (header or "").split(","):
        mime, _, params = item.partition(";")
        if mime.strip().lower() != media:
            continue
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "version" and value.strip().strip('"') in WEBHOOKS_VERSIONS:
                return True
    return False


def _found(lookup: Callable[[str], T], key: str) -> T:
    try:
        return lookup(key)
    except KeyError:
        raise layer_error("not_found", f"No object {key!r} was found.") from None


def _read(request: Request, media: str) -> Any:
    """The JSON body of ``request``, which must be sent as ``media``."""
    if request.mimetype != media:
        message = f"The Content-Type header must be '{media}'."
        raise layer_error("invalid_header", message, status=415, data={"header": "Content-Type"})
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise layer_error("invalid_request", "The request body is not valid JSON.") from None


class RestApp:
    """The WSGI app that serves ``state``."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request, and add it to the state's request log."""
        request = Request(environ)
        body = request.get_data(cache=True)
        try:
            response = self._dispatch(request)
        except LayerAPIError as error:
            response = _error(error, [("WWW-Authenticate", "Bearer")] if error.status == 401 else [])
        except Exception:
            log.exception("the emulator failed on %s %s", request.method, request.path)
            response = _error(layer_error("internal_server_error", "The emulator failed; see its log."))
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
        query = request.query_string.decode("latin-1")
        self.state.log_request(APIRequest(request.method, request.path, query, headers, body, response.status_code))
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        fault = self.state.take_fault()
        if fault is not None:
            error, retry_after = fault
            return _error(error, [("Retry-After", retry_after)] if retry_after else [])
        self._authenticate(request.headers.get("Authorization"))
        try:
            endpoint, args = _URLS.bind_to_environ(request.environ).match()
        except MethodNotAllowed as exc:
            allow = ", ".join(exc.valid_methods or ())
            message = f"{request.method} is not allowed on {request.path}."
            return _error(layer_error("invalid_endpoint", message, status=405), [("Allow", allow)])
        except HTTPException:
            raise layer_error("invalid_endpoint", f"There is no endpoint {request.path}.") from None
        try:
            app = canonical_app_uuid(args["app"])
        except ConfigurationError:
            app = None
        if app != self.state.app_id:
            raise layer_error("invalid_app_id", "The app id in the URL is not this app's.")
        media = PLATFORM_MEDIA_TYPE if endpoint in _PLATFORM else WEBHOOKS_MEDIA_TYPE
        if not _accepts(request.headers.get("Accept"), media):
            message = f"The Accept header must be '{media}; version=1.0'."
            raise layer_error("invalid_header", message, data={"header": "Accept"})
        if endpoint == "create":
            return self._create(request)
        if endpoint in _WRITES:
            return _WRITES[endpoint](self, request, args)
        state, webhooks = self.state, self.state.webhooks
        if endpoint == "list":
            return _json(200, webhooks.show_all())
        if endpoint == "get":
            return _json(200, webhooks.show(args["hook"]))
        if endpoint == "activate":
            return _json(200, webhooks.activate(args["hook"]))
        if endpoint == "deactivate":
            return _json(200, webhooks.deactivate(args["hook"]))
        if endpoint == "delete":
            webhooks.delete(args["hook"])
            return Response(status=204)
        if endpoint == "conversation":
            return _json(200, _found(state.conversation, args["conversation"]))
        if endpoint == "message":
            found = _found(state.message, args["message"])
            if found["conversation"]["id"] != CONVERSATION_PREFIX + args["conversation"]:
                raise layer_error("not_found", f"No message {args['message']} in that conversation.")
            return _json(200, found)
        return _json(200, _found(state.identity, args["user"]))

    def _authenticate(self, header: str | None) -> None:
        if not header:
            raise layer_error("authentication_required", "The Authorization header is missing.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self.state.token_matches(token.strip()):
            raise layer_error("authentication_required", "The bearer token is not valid for this app.")

    def _create(self, request: Request) -> Response:
        webhook = self.state.webhooks.create(_read(request, "application/json"))
        headers = [("Location", webhook["url"])]
        if webhook["target_url"].startswith("http:"):
            headers.append(("Warning", _HTTP_WARNING))
        return _json(201, webhook, headers)

    # -- the Platform API's writes ---------------------------------------------------------

    def _send_message(self, request: Request, args: Mapping[str, Any]) -> Response:
        sender, parts = read_message(_read(request, "application/json"))
        conversation = args["conversation"]
        try:
            payload = _found(
                lambda key: self.state.emit(lambda chat: chat.send_message(key, sender, parts=parts)), conversation
            )
        except ValueError as exc:  # a user sender who is not a participant
            raise layer_error("invalid_property", str(exc), data={"property": "sender.user_id"}) from None
        assert payload is not None
        message = payload["message"]
        return _json(201, message, [("Location", message["url"])])

    def _announce(self, request: Request, args: Mapping[str, Any]) -> Response:
        recipients, name, parts = read_announcement(_read(request, "application/json"))
        announcement = self.state.apply(lambda chat: chat.send_announcement(recipients, name, parts))
        return _json(202, announcement)

    def _create_conversation(self, request: Request, args: Mapping[str, Any]) -> Response:
        participants, distinct, metadata = read_conversation(_read(request, "application/json"))
        if distinct:
            found = self.state.apply(lambda chat: chat.distinct_conversation(participants))
            if found is not None and metadata not in (None, found["metadata"]):
                raise layer_error("conflict", _CONFLICT, data=found)
            if found is not None:
                return _json(303, found, [("Location", found["url"])])
        payload = self.state.emit(lambda chat: chat.create_conversation(participants, metadata, distinct))
        assert payload is not None
        conversation = payload["conversation"]
        return _json(201, conversation, [("Location", conversation["url"])])

    def _patch_conversation(self, request: Request, args: Mapping[str, Any]) -> Response:
        operations = _read(request, PATCH_MEDIA_TYPE)
        _found(
            lambda key: self.state.emit_all(lambda chat: chat.patch_conversation(key, operations)), args["conversation"]
        )
        return Response(status=204)


_WRITES: dict[str, Callable[[RestApp, Request, Mapping[str, Any]], Response]] = {
    "message_send": RestApp._send_message,
    "announce": RestApp._announce,
    "conversation_create": RestApp._create_conversation,
    "conversation_patch": RestApp._patch_conversation,
}
