"""``layer-webhooks dashboard``: the operator's page, served on its own."""

from __future__ import annotations

import argparse
import os
import secrets
import threading
from typing import Any

from ._common import CommandError, add_layer_options, base_url, load, need, serve_until_stopped, show, stop_on_signals

NAME = "dashboard"


def add_to(commands: Any) -> None:
    """Add the command to the ``layer-webhooks`` parser's sub-commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        NAME,
        help="serve the operator's page: webhooks, pending and dead jobs (replay, discard), deliveries",
        description=(
            "Serve the operator's page for MODULE:OBJECT (WebhooksServices, a Receiver, a queue, or a "
            "Dashboard) on 127.0.0.1 until Ctrl-C or SIGTERM: Layer's webhooks and their status, pending "
            "and dead jobs with their errors, replay and discard buttons (signed in with the dashboard "
            "token), the last deliveries the receivers of this process answered. Needs the wsgi and asgi "
            "extras (werkzeug, starlette)."
        ),
    )
    parser.add_argument("target", metavar="MODULE:OBJECT", help="e.g. tasks:services")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8001, help="port, 0 for a free one (default: %(default)s)")
    parser.add_argument(
        "--dashboard-token",
        help="the token that signs in for actions (default: $LAYER_DASHBOARD_TOKEN, else a new one, printed)",
    )
    add_layer_options(parser)
    parser.set_defaults(run=run)


def build(args: argparse.Namespace, token: str) -> Any:
    """The :class:`~layer_webhooks.dashboard.Dashboard` for ``args.target``."""
    need("starlette", NAME)
    from ..dashboard import Dashboard

    found = load(args.target)
    if isinstance(found, Dashboard):
        return found
    client = None
    layer_token = args.token or os.environ.get("LAYER_BEARER_TOKEN")
    app_id = args.app_id or os.environ.get("LAYER_APP_ID")
    if layer_token and app_id:
        from ..rest._client import LayerClient

        client = LayerClient(layer_token, app_id, base_url=base_url(args))
    try:
        return Dashboard(found, token=token, client=client)  # type: ignore[arg-type]
    except Exception as exc:  # ConfigurationError: not a source the page can show
        raise CommandError(f"{args.target!r}: {exc}") from None


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve the page until ``stop`` (SIGINT, SIGTERM) is set."""
    need("werkzeug", NAME)
    from werkzeug.serving import make_server

    token = args.dashboard_token or os.environ.get("LAYER_DASHBOARD_TOKEN")
    generated = not token
    token = token or secrets.token_urlsafe(16)
    dashboard = build(args, token)
    from ..dashboard._wsgi import WsgiBridge

    bridge = WsgiBridge(dashboard)
    stop = stop or stop_on_signals()
    server = make_server(args.host, args.port, bridge, threaded=True)
    show(f"dashboard of {dashboard.queue!r} on http://{args.host}:{server.server_port}/ (Ctrl-C to stop)")
    if generated:
        # Said once, to the operator who started it; the page itself never shows it.
        show(f"dashboard token (sign in with it to replay or discard): {token}")
    try:
        serve_until_stopped(server, stop)
    finally:
        bridge.close()
    return 0
