"""``layer-webhooks emulator``: Layer's emulator on its own, for services in any language."""

from __future__ import annotations

import argparse
import logging
import os
import threading
from typing import Any

from ._common import need, show, show_json, stop_on_signals

NAME = "emulator"


def add_to(commands: Any) -> None:
    """Add the command to the ``layer-webhooks`` parser's sub-commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        NAME,
        help="run Layer's emulator (REST API, verification, signed deliveries) until stopped",
        description=(
            "Run Layer's emulator on its own, until Ctrl-C or SIGTERM: the Webhooks REST API and "
            "the Platform API pieces under its base URL, the verification challenge of each webhook "
            "registered, signed deliveries with Layer's retries. It prints its base URL, token and "
            "app id; point any service at them (LAYER_BASE_URL, LAYER_BEARER_TOKEN, LAYER_APP_ID). "
            "Needs the wsgi extra (werkzeug)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--token", help="the bearer token it wants (default: $LAYER_BEARER_TOKEN, else test-token)")
    parser.add_argument("--app-id", help="the app's UUID (default: $LAYER_APP_ID, else the fixtures' app)")
    parser.add_argument(
        "--retry-scale", type=float, default=1.0, help="factor of Layer's retry schedule (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the settings as one JSON line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Start the emulator, say where it is, and run until ``stop`` (SIGINT or SIGTERM) is set."""
    need("werkzeug", NAME)
    from ..testing.emulator import LayerEmulator

    options: dict[str, Any] = {"host": args.host, "port": args.port, "retry_scale": args.retry_scale}
    token = args.token or os.environ.get("LAYER_BEARER_TOKEN")
    app_id = args.app_id or os.environ.get("LAYER_APP_ID")
    if token:
        options["token"] = token
    if app_id:
        options["app_id"] = app_id
    # http:// targets on loopback are what local services use: the warning each time is noise here.
    logging.getLogger("layer_webhooks.testing").setLevel(logging.ERROR)
    stop = stop or stop_on_signals()
    with LayerEmulator(**options) as layer:
        settings = {"base_url": layer.base_url, "token": layer.token, "app_id": layer.app_id}
        if args.json:
            show_json(settings)
        else:
            show(f"Layer emulator on {layer.base_url} (Ctrl-C to stop)")
            show(f"  base URL  {layer.base_url}")
            show(f"  token     {layer.token}")
            show(f"  app id    {layer.app_id}")
            show(
                f"Point a service at it: LAYER_BASE_URL={layer.base_url} "
                f"LAYER_BEARER_TOKEN='{layer.token}' LAYER_APP_ID={layer.app_id}"
            )
            show("To deliver signed events to a service as Layer does: `layer-webhooks send` (docs/cli.md).")
        while not stop.wait(0.5):
            pass
    return 0
