"""The ``layer-webhooks`` command line, also ``python -m layer_webhooks``.

::

    layer-webhooks demo                                   # the whole library, end to end
    layer-webhooks serve tasks:services --port 8000       # your receivers, jobs run in process
    layer-webhooks worker tasks:queue                     # your handlers under huey's consumer
    layer-webhooks send http://127.0.0.1:8000/hook --secret S --event message.sent --count 200
    layer-webhooks verify --secret S --request captured.http
    layer-webhooks webhooks list                          # LAYER_BEARER_TOKEN, LAYER_APP_ID
    layer-webhooks jobs dead tasks:queue
    layer-webhooks emulator --port 8765
    layer-webhooks dashboard tasks:services

Built on the standard library's :mod:`argparse`: no dependency of its own. One module per
command group; each imports werkzeug, huey, starlette or requests only when it runs, and names
the extra to install when one is missing. Exit codes: 0 done, 1 failed (an invalid signature,
a job not replayed, Layer's error), 2 a usage error. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Sequence

from .. import __version__
from ..errors import LayerWebhooksError
from ._common import EXIT_FAILED, CommandError, warn

__all__ = ["main"]

#: The modules of the command groups, in the order ``--help`` lists them.
COMMANDS = ("_demo", "_serve", "_send", "_verify", "_webhooks", "_jobs", "_emulator", "_dashboard")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="layer-webhooks",
        description="Receive, verify and process Layer's webhooks: the library's command line.",
        epilog="`layer-webhooks COMMAND --help` tells each command; docs/cli.md has an example of each.",
    )
    parser.add_argument("--version", action="version", version=f"layer-webhooks {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the library's INFO lines to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        importlib.import_module(f"{__name__}.{module}").add_to(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv``, default ``sys.argv[1:]``); return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("layer_webhooks").setLevel(logging.INFO)
    where = " ".join(p for p in ("layer-webhooks", args.command, getattr(args, "action", None)) if p)
    try:
        return int(args.run(args))
    except CommandError as exc:
        warn(f"{where}: error: {exc}")
        return exc.code
    except LayerWebhooksError as exc:  # the library's expected errors: Layer's answers, configuration
        warn(f"{where}: error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
