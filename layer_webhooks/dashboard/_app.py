"""``Dashboard``: the operator's page as an ASGI app (Starlette), to mount or to serve alone.

Reading is open (keep it on loopback, or mount it behind your app's authentication); every
action (replay, discard) needs a session opened with the token given at start-up, and comes
from the page itself: the ``Origin`` (or ``Referer``) must name the ``Host`` the request was
sent to, and the session cookie is ``SameSite=Strict`` and ``HttpOnly``. The cookie holds an
HMAC of the token, never the token; the page never shows a secret, a token or a signature.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .._services import WebhooksServices
from ..errors import ConfigurationError, LayerAPIError
from ..jobs._lifecycle import LedgerQueue
from ..receiving._receiver import Receiver
from . import _views
from ._views import Snapshot

if TYPE_CHECKING:
    from ..rest._client import LayerClient

log = logging.getLogger("layer_webhooks.dashboard")

COOKIE = "layer_webhooks_dashboard"
#: Answers each receiver keeps once a dashboard shows it (when it kept none).
RECENT = 50
_NOTICES = 32
_MAX_FORM_BYTES = 4096


class Dashboard:
    """The operator's page for ``source``: a :class:`~layer_webhooks.WebhooksServices` (its
    queue, its receivers, and Layer's webhooks through its client when it has a token and an
    app id), a :class:`~layer_webhooks.Receiver`, or a queue (``HueyQueue``, ``MemoryQueue``)::

        from layer_webhooks.dashboard import Dashboard

        app.mount("/layer-dashboard", Dashboard(services, token=os.environ["LAYER_DASHBOARD_TOKEN"]))

    ``token`` opens a session for replay and discard. ``client`` lists the webhooks instead of
    the services' client; ``receivers`` adds receivers whose deliveries to show. Each receiver
    shown keeps its last answers (:attr:`Receiver.recent`; ``RECENT`` of them unless it already
    keeps some).

    :raises ConfigurationError: no token, or a source without a queue.
    """

    def __init__(
        self,
        source: WebhooksServices | Receiver | LedgerQueue,
        *,
        token: str,
        client: LayerClient | None = None,
        receivers: Iterable[Receiver] = (),
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("token: the dashboard needs a non-empty token for its actions")
        self._session = hmac.new(token.encode(), b"layer-webhooks dashboard session", "sha256").hexdigest()
        self._token = token.encode()
        found = list(receivers)
        if isinstance(source, WebhooksServices):
            queue: object = source.queue
            found = [*source.receivers, *found]
            if client is None and source.app_id:
                try:
                    client = source.client
                except ConfigurationError:
                    client = None
        elif isinstance(source, Receiver):
            queue, found = source.queue, [source, *found]
        else:
            queue = source
        if not isinstance(queue, LedgerQueue):
            raise ConfigurationError(
                f"source: expected services, a receiver or a queue with dead_letters(), not {queue!r}"
            )
        self.queue: LedgerQueue = queue
        self.client = client
        self.receivers = found
        for receiver in self.receivers:
            if receiver.recent is None:
                receiver.recent = deque(maxlen=RECENT)
        self._notices: OrderedDict[str, str] = OrderedDict()
        routes = [
            Route("/", self.show),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/jobs/{action:str}", self.act, methods=["POST"]),
        ]
        self.app = Starlette(routes=routes)

    def __repr__(self) -> str:
        return f"Dashboard({self.queue!r})"  # the token is deliberately left out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        await self.app(scope, receive, send)

    # -- reading ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """What the page shows now (blocking: the queue and Layer's API are asked)."""
        snapshot = Snapshot(repr(self.queue))
        pending = self.queue.pending()
        dead = self.queue.dead_letters()
        snapshot.pending, snapshot.pending_count = pending[: _views.ROWS], len(pending)
        snapshot.dead, snapshot.dead_count = dead[: _views.ROWS], len(dead)
        if self.client is None:
            snapshot.webhooks_note = (
                "Not shown: give the dashboard WebhooksServices(token, app_id), or client=LayerClient(...)."
            )
        else:
            try:
                snapshot.webhooks = [
                    {k: v for k, v in webhook.items() if "secret" not in k.lower()}
                    for webhook in self.client.webhooks.list()
                ]
            except LayerAPIError as exc:
                snapshot.webhooks_note = f"Layer could not be asked: {exc}"
        answers = [a for r in self.receivers if r.recent is not None for a in list(r.recent)]
        snapshot.deliveries = sorted(answers, key=lambda a: a.at, reverse=True)[:RECENT]
        snapshot.recording = bool(self.receivers)
        return snapshot

    def signed_in(self, request: Request) -> bool:
        """Whether the request carries this dashboard's session cookie."""
        return hmac.compare_digest(request.cookies.get(COOKIE, ""), self._session)

    async def show(self, request: Request) -> Response:
        """``GET /``: the page."""
        notice = self._notices.get(request.query_params.get("notice", ""), "")
        snapshot = await run_in_threadpool(self.snapshot)
        html = _views.page(snapshot, _root(request), self.signed_in(request), notice)
        return HTMLResponse(html, headers=_SECURITY_HEADERS)

    # -- acting -------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """``POST /login``: open a session when the token is right."""
        if not same_origin(request):
            return _refused(request, "refused: this form must be sent from the dashboard's own page")
        given = (await _form(request)).get("token", "")
        if not hmac.compare_digest(given.encode(), self._token):
            log.warning("dashboard: a sign-in with a wrong token was refused")
            return _refused(request, "refused: that is not the dashboard's token")
        response = self._back(request, "Signed in: replay and discard are enabled.")
        response.set_cookie(
            COOKIE,
            self._session,
            httponly=True,
            samesite="strict",
            path=_root(request) or "/",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(self, request: Request) -> Response:
        """``POST /logout``: close the session."""
        response = self._back(request, "Signed out.")
        response.delete_cookie(COOKIE, path=_root(request) or "/")
        return response

    async def act(self, request: Request) -> Response:
        """``POST /jobs/replay`` or ``/jobs/discard`` with ``job_id``."""
        action = request.path_params["action"]
        if action not in ("replay", "discard"):
            return _refused(request, f"no such action: {action}", 404)
        if not same_origin(request):
            return _refused(request, "refused: actions must come from the dashboard's own page")
        if not self.signed_in(request):
            return _refused(request, "refused: sign in with the dashboard's token first")
        job_id = (await _form(request)).get("job_id", "")
        call: Callable[[str], bool] = self.queue.replay if action == "replay" else self.queue.discard
        done = bool(job_id) and await run_in_threadpool(call, job_id)
        log.info("dashboard: %s of dead job %s: %s", action, job_id, "done" if done else "not done")
        if done and action == "replay":
            text = f"Job {job_id} was queued again from attempt 1."
        elif done:
            text = f"Job {job_id} was discarded."
        else:
            text = f"Job {job_id} was not {action}ed: there is no such dead job, or one with its id is pending."
        return self._back(request, text)

    def _back(self, request: Request, notice: str) -> RedirectResponse:
        # The notice stays on the server; the address names it by a random key, so that no one
        # can make the page say what a link of theirs writes.
        key = secrets.token_urlsafe(8)
        self._notices[key] = notice
        while len(self._notices) > _NOTICES:
            self._notices.popitem(last=False)
        return RedirectResponse(f"{_root(request)}/?notice={key}", status_code=303)


_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def same_origin(request: Request) -> bool:
    """Whether the ``Origin`` (else the ``Referer``) names the host the request was sent to."""
    host = request.headers.get("host")
    source = request.headers.get("origin") or request.headers.get("referer")
    if not host or not source:
        return False
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


async def _form(request: Request) -> dict[str, str]:
    # Parsed here: Starlette's form parser needs python-multipart, even for urlencoded forms.
    body = await request.body()
    fields = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=8)
    return {name: values[0] for name, values in fields.items()}


def _refused(request: Request, reason: str, status: int = 403) -> Response:
    return HTMLResponse(_views.refused(reason, _root(request)), status, headers=_SECURITY_HEADERS)
