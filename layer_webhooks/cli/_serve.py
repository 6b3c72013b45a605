"""``layer-webhooks serve`` (a user's receivers on a real server, jobs run in process) and
``layer-webhooks worker`` (a user's handlers under huey's consumer)."""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._services import WebhooksServices
from ..jobs._lifecycle import LedgerQueue
from ..jobs._memory_queue import MemoryQueue
from ..receiving._receiver import Receiver
from ._common import CommandError, load, need, serve_until_stopped, show, stop_on_signals

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

#: What huey_consumer is given by `worker` for at-least-once jobs (see docs/huey.md).
GRACEFUL_SIGNAL = "TERM"


def add_to(commands: Any) -> None:
    """Add ``serve`` and ``worker`` to the ``layer-webhooks`` parser's sub-commands."""
    serve: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="serve your receivers on a development server, running their jobs in process",
        description=(
            "Serve the receivers of MODULE:OBJECT (WebhooksServices: every receiver its listen() and "
            "receipts() made; a Receiver; or a list of them) on werkzeug's threaded server, for "
            "development, and run their queue's jobs in this process (a HueyQueue with huey's "
            "consumer threads, a MemoryQueue polled) unless --no-worker. Ctrl-C or SIGTERM stops "
            "it. Needs the wsgi extra (werkzeug), and huey for a HueyQueue."
        ),
    )
    serve.add_argument("target", metavar="MODULE:OBJECT", help="e.g. tasks:services")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port, 0 for a free one (default: %(default)s)")
    serve.add_argument("--workers", type=int, default=2, help="worker threads for jobs (default: %(default)s)")
    serve.add_argument("--no-worker", action="store_true", help="run no jobs here (a `worker` runs them)")
    serve.set_defaults(run=run_serve)
    worker: argparse.ArgumentParser = commands.add_parser(
        "worker",
        help="run your handlers under huey's consumer, at least once, stopping gracefully on SIGTERM",
        description=(
            "Run the handlers of MODULE:OBJECT (a HueyQueue, or WebhooksServices or a Receiver using "
            "one, or the Huey instance) under huey's consumer: what `huey_consumer MODULE.huey -w N "
            "-k thread -g TERM -t 25 -m 1` does, so that SIGTERM is graceful (running jobs get "
            "--shutdown-timeout seconds, then are handed back to run again) and jobs run at least "
            "once (docs/huey.md). Needs the huey extra (redis too for RedisHuey)."
        ),
    )
    worker.add_argument("target", metavar="MODULE:OBJECT", help="e.g. tasks:queue")
    worker.add_argument("--workers", "-w", type=int, default=4, help="worker threads (default: %(default)s)")
    worker.add_argument("--worker-type", "-k", choices=("thread", "process"), default="thread")
    worker.add_argument(
        "--shutdown-timeout", "-t", type=float, default=25.0, help="grace on SIGTERM, s (default: %(default)s)"
    )
    worker.add_argument(
        "--max-delay", "-m", type=float, default=1.0, help="longest poll interval, s (default: %(default)s)"
    )
    worker.set_defaults(run=run_worker)


def receivers_of(spec: str, found: object) -> list[Receiver]:
    """The receivers named by ``spec``."""
    if isinstance(found, WebhooksServices):
        if not found.receivers:
            raise CommandError(f"{spec!r} has no receivers: call services.listen(...) in its module")
        return list(found.receivers)
    if isinstance(found, Receiver):
        return [found]
    if isinstance(found, (list, tuple)) and found and all(isinstance(r, Receiver) for r in found):
        return list(found)
    raise CommandError(f"{spec!r} is a {type(found).__name__}: expected WebhooksServices, a Receiver or a list")


def wsgi_app(receivers: list[Receiver]) -> WSGIApplication:
    """One WSGI app serving every receiver's hook paths (404 elsewhere)."""
    from ..adapters.wsgi import WebhookMiddleware

    app: WSGIApplication | None = None
    for receiver in reversed(receivers):
        app = WebhookMiddleware(app, receiver)
    assert app is not None
    return app


def start_consumer(huey: Any, workers: int) -> Any:
    """huey's consumer threads (its scheduler and ``workers`` workers), started in this process
    without the signal handlers ``Consumer.start()`` installs: the process's own stop it."""
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False, max_delay=0.5)
    consumer.scheduler.start()
    for _, thread in consumer.worker_threads:
        thread.start()
    return consumer


def start_worker(queue: object, workers: int) -> tuple[str, Callable[[], None]]:
    """Start running ``queue``'s jobs in this process; return what runs them, and how to stop it."""
    if type(queue).__name__ == "HueyQueue":
        consumer = start_consumer(queue.huey, workers)  # type: ignore[attr-defined]

        def stop_consumer() -> None:
            consumer.stop(graceful=True)
            queue.close()  # type: ignore[attr-defined]

        return f"{workers} huey consumer thread(s)", stop_consumer
    if isinstance(queue, MemoryQueue):
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.1):
                queue.run_due()

        def stop_polling() -> None:
            stop.set()
            thread.join(5)

        thread = threading.Thread(target=poll, name="layer-webhooks-worker", daemon=True)
        thread.start()
        return "a thread polling the MemoryQueue", stop_polling
    raise CommandError(f"cannot run the jobs of {type(queue).__name__} here: run its worker, and pass --no-worker")


def run_serve(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until ``stop`` (SIGINT, SIGTERM) is set."""
    need("werkzeug", "serve")
    from werkzeug.serving import make_server

    found = load(args.target)
    receivers = receivers_of(args.target, found)
    # Services on their default MemoryQueue run it already, in a thread of their own.
    running = getattr(found, "runner", None) is not None
    stop = stop or stop_on_signals()
    logging.getLogger("werkzeug").setLevel(logging.INFO)  # the access log, one line per request
    server = make_server(args.host, args.port, wsgi_app(receivers), threaded=True)
    hooks = [f"{hook.path} ({hook.name})" for receiver in receivers for hook in receiver.hooks]
    show(f"serving {len(hooks)} hook(s) on http://{args.host}:{server.server_port}: {', '.join(hooks)}")
    stoppers = []
    if running:
        show(f"jobs of {found!r} run here: the services' own thread")
    elif not args.no_worker:
        for queue in {id(r.queue): r.queue for r in receivers}.values():
            if type(queue).__name__ == "HueyQueue":
                need("huey", "serve")
            what, stopper = start_worker(queue, args.workers)
            stoppers.append(stopper)
            show(f"jobs of {queue!r} run here: {what}")
    show("Ctrl-C to stop")
    try:
        serve_until_stopped(server, stop)
    finally:
        for stopper in stoppers:
            stopper()
    return 0


def huey_of(spec: str, found: object) -> Any:
    """The huey instance behind ``found``: a HueyQueue, services or a receiver on one, or huey."""
    queue = found if isinstance(found, LedgerQueue) else getattr(found, "queue", None)
    if isinstance(queue, MemoryQueue):
        raise CommandError(f"{spec!r} uses a MemoryQueue, which lives in one process: `layer-webhooks serve` runs it")
    need("huey", "worker")
    from huey import Huey

    if isinstance(found, Huey):
        return found
    huey = getattr(queue, "huey", None)
    if not isinstance(huey, Huey):
        raise CommandError(f"{spec!r} is a {type(found).__name__}: expected a HueyQueue, services using one, or huey")
    return huey


def run_worker(args: argparse.Namespace) -> int:
    """Run huey's consumer in this process until it is stopped."""
    found = load(args.target)
    huey = huey_of(args.target, found)
    huey_log = logging.getLogger("huey")
    if not huey_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s:%(name)s:%(threadName)s:%(message)s"))
        huey_log.addHandler(handler)
        huey_log.setLevel(logging.INFO)
    show(
        f"running the jobs of huey {huey.name!r} ({type(huey).__name__}): {args.workers} {args.worker_type} "
        f"worker(s); SIGTERM stops gracefully ({args.shutdown_timeout:g} s for running jobs, then hands them back)"
    )
    consumer = huey.create_consumer(
        workers=args.workers,
        worker_type=args.worker_type,
        graceful_signal=GRACEFUL_SIGNAL,
        shutdown_timeout=args.shutdown_timeout,
        max_delay=args.max_delay,
    )
    consumer.run()
    return 0
