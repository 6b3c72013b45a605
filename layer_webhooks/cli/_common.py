"""What the commands share: expected errors and exit codes, settings from flags or the
environment, ``MODULE:OBJECT`` look-ups, optional imports that name their extra, tables and
JSON, and serving until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from types import FrameType, ModuleType
from typing import Any, Protocol

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: The extra that installs each optional module a command may need.
EXTRAS = {"werkzeug": "wsgi", "starlette": "asgi", "huey": "huey", "redis": "redis"}


class CommandError(Exception):
    """An expected failure, printed as one line (no traceback); the exit code is ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class UsageError(CommandError):
    """The command line cannot work as given (exit code 2, as argparse's own usage errors)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def need(module: str, command: str) -> ModuleType:
    """Import ``module`` for ``command``, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.partition(".")[0]
        extra = EXTRAS.get(top, "all")
        raise CommandError(
            f"`layer-webhooks {command}` needs {top}, which is not installed: "
            f"python3 -m pip install 'layer-webhooks[{extra}]'"
        ) from None


def setting(value: str | None, env: str, flag: str, what: str) -> str:
    """``value`` (from ``flag``), else the environment variable ``env``; a usage error if neither."""
    found = value or os.environ.get(env)
    if not found:
        raise UsageError(f"{what} is missing: pass {flag} or set {env}")
    return found


def add_layer_options(parser: argparse.ArgumentParser) -> None:
    """``--token``, ``--app-id`` and ``--base-url``: where Layer's REST API is, and who we are."""
    group = parser.add_argument_group("Layer's REST API")
    group.add_argument("--token", help="bearer token (default: $LAYER_BEARER_TOKEN)")
    group.add_argument("--app-id", help="app id, a UUID or layer:///apps/... (default: $LAYER_APP_ID)")
    group.add_argument(
        "--base-url",
        help="API root, e.g. an emulator's http://127.0.0.1:PORT (default: $LAYER_BASE_URL, else Layer's)",
    )


def base_url(args: argparse.Namespace) -> str:
    """The API root: ``--base-url``, ``$LAYER_BASE_URL``, or Layer's."""
    from .._layer import DEFAULT_BASE_URL

    return str(args.base_url or os.environ.get("LAYER_BASE_URL") or DEFAULT_BASE_URL)


def secrets_of(values: Sequence[str] | None) -> list[str]:
    """The ``--secret`` values given (several while one is rotated), else ``$LAYER_WEBHOOK_SECRET``."""
    if values:
        return list(values)
    return [setting(None, "LAYER_WEBHOOK_SECRET", "--secret", "the webhook secret")]


def load(spec: str) -> object:
    """The object named ``MODULE:OBJECT`` (``OBJECT`` may be dotted), importing ``MODULE`` with
    the working directory on ``sys.path``, as ``huey_consumer`` and ``uvicorn`` do."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"expected MODULE:OBJECT (such as tasks:services), not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: object = importlib.import_module(module_name)
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        hint = f": python3 -m pip install 'layer-webhooks[{EXTRAS[missing]}]'" if missing in EXTRAS else ""
        raise CommandError(f"cannot import {module_name!r}: {exc}{hint}") from None
    for name in attribute.split("."):
        if not hasattr(found, name):
            raise CommandError(f"{spec!r}: {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, name)
    return found


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """``rows`` as aligned columns under ``headers`` (``(none)`` when there are no rows)."""
    cells = [[str(cell) for cell in row] for row in rows]
    if not cells:
        return "(none)"
    grid = [list(headers), *cells]
    widths = [max(len(row[i]) for row in grid) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in grid)


def warn(text: str) -> None:
    """Print a line on standard error."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def show(text: str) -> None:
    """Print a line for the person at the terminal, at once (output may be a pipe)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def show_json(value: Any) -> None:
    """Print ``value`` as one line of JSON, for a script."""
    show(json.dumps(value, separators=(",", ":"), sort_keys=True, default=str))


def short(text: object, width: int = 60) -> str:
    """``text`` on one line, cut to ``width`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."


class Server(Protocol):
    """What :func:`serve_until_stopped` needs of a server (werkzeug's ``BaseWSGIServer``)."""

    def serve_forever(self, poll_interval: float = ...) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...


def stop_on_signals() -> threading.Event:
    """An event that SIGINT and SIGTERM set (the process's main thread only)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    return stop


def serve_until_stopped(server: Server, stop: threading.Event) -> None:
    """Serve in a thread until ``stop`` is set, then shut the server down and close it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        while not stop.wait(0.5):
            if not thread.is_alive():
                break
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Progress:
    """A progress bar on standard error, for ``total`` steps (from any thread)."""

    def __init__(self, total: int) -> None:
        self.total, self.count, self.lock = total, 0, threading.Lock()

    def step(self) -> None:
        """One more step done."""
        with self.lock:
            self.count += 1
            if self.count == self.total or self.count % max(1, self.total // 100) == 0:
                filled = 30 * self.count // self.total
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total}")
                sys.stderr.flush()

    def done(self) -> None:
        """End the bar's line."""
        sys.stderr.write("\n")
        sys.stderr.flush()
