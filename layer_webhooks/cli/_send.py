"""``layer-webhooks send``: deliver signed events to a service exactly as Layer would."""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._layer import DELIVERY_DEADLINE, DELIVERY_RETRY_SCHEDULE
from ._common import EXIT_FAILED, EXIT_OK, CommandError, Progress, UsageError, secrets_of, show, show_json

if TYPE_CHECKING:
    import requests

NAME = "send"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_to(commands: Any) -> None:
    """Add the command to the ``layer-webhooks`` parser's sub-commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        NAME,
        help="deliver signed events to a URL as Layer does, and count the answers",
        description=(
            "POST events to URL exactly as Layer delivered them: compact JSON, Layer's headers, "
            "signed with the secret; a non-2xx answer (or none within --timeout) is retried on "
            "Layer's schedule times --retry-scale unless --no-retry. With --count, each delivery is "
            "a new event (a fresh event id), shown by a progress bar on a terminal; then a summary "
            "of the answers and latency percentiles. Exit 0 when every delivery got a 2xx. Needs no "
            "extra (requests is a dependency)."
        ),
    )
    parser.add_argument("url", help="the hook's full URL, e.g. http://127.0.0.1:8000/new-message")
    parser.add_argument("--secret", help="the webhook secret to sign with (default: $LAYER_WEBHOOK_SECRET)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--event", metavar="TYPE", help="a realistic payload of this type, e.g. message.sent")
    what.add_argument("--file", metavar="PAYLOAD", help="a JSON payload with an event.type (- for stdin)")
    parser.add_argument("--count", type=int, default=1, help="how many deliveries (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=0.0, help="at most this many per second (default: no limit)")
    parser.add_argument("--concurrency", type=int, default=1, help="deliveries in flight (default: %(default)s)")
    parser.add_argument("--no-retry", action="store_true", help="one attempt per delivery")
    parser.add_argument(
        "--retry-scale",
        type=float,
        default=0.01,
        help="factor of Layer's retry schedule, 10 30 120 300 1200 s (default: %(default)s; 1 is Layer's)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DELIVERY_DEADLINE, help="seconds per attempt (default: Layer's %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    parser.set_defaults(run=run)


@dataclass
class Outcome:
    """One delivery: the answer of each attempt (a status, or 0 when there was none)."""

    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """Whether the last attempt was answered 2xx."""
        return bool(self.statuses) and 200 <= self.statuses[-1] < 300


def run(args: argparse.Namespace) -> int:
    """Send, summarise, and return 0 when every delivery was answered 2xx."""
    (secret,) = secrets_of([args.secret] if args.secret else None)
    if args.count < 1 or args.concurrency < 1 or args.rate < 0 or args.retry_scale < 0 or args.timeout <= 0:
        raise UsageError("--count and --concurrency must be >= 1, --rate and --retry-scale >= 0, --timeout > 0")
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"expected an http(s) URL, not {args.url!r}")
    payload = _payload(args)
    webhook_id = f"layer:///apps/{uuid.uuid4()}/webhooks/{uuid.uuid4()}"
    schedule = () if args.no_retry else tuple(s * args.retry_scale for s in DELIVERY_RETRY_SCHEDULE)

    from ..testing import compact, layer_headers

    def body(index: int) -> tuple[bytes, dict[str, str]]:
        event = payload(index)
        data = compact(event)
        return data, layer_headers(data, secret, webhook_id=webhook_id, request_id=event["event"]["id"])

    loopback = parts.hostname in _LOOPBACK
    progress = Progress(args.count) if args.count > 1 and sys.stderr.isatty() else None
    started = time.monotonic()
    outcomes = deliver(
        args.url, body, args.count, args.concurrency, args.rate, schedule, args.timeout, loopback, progress
    )
    elapsed = time.monotonic() - started
    summary = summarise(outcomes, elapsed)
    if args.json:
        show_json(summary)
    else:
        for line in describe(summary, args.url, args.concurrency):
            show(line)
    return EXIT_OK if summary["failed"] == 0 else EXIT_FAILED


def _payload(args: argparse.Namespace) -> Callable[[int], dict[str, Any]]:
    from ..testing import EVENT_TYPES, make_event

    if args.event is not None:
        if args.event not in {t for types in EVENT_TYPES.values() for t in types}:
            raise UsageError(f"unknown event type {args.event!r}; one of: {', '.join(EVENT_TYPES['1.0'])}, ...")
        return lambda index: make_event(args.event)
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        loaded = json.loads(text)
    except OSError as exc:
        raise CommandError(f"cannot read {args.file!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CommandError(f"{args.file!r} is not JSON: {exc}") from None
    event = loaded.get("event") if isinstance(loaded, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise CommandError(f'{args.file!r} has no event.type: a Layer payload is {{"event": {{"type": ...}}, ...}}')
    if args.count == 1:
        event.setdefault("id", str(uuid.uuid4()))
        return lambda index: loaded
    # Each copy is a new event, so that a receiver's de-duplication does not fold them into one.
    return lambda index: {**loaded, "event": {**event, "id": str(uuid.uuid4())}}


def deliver(
    url: str,
    body: Callable[[int], tuple[bytes, Mapping[str, str]]],
    count: int,
    concurrency: int,
    rate: float,
    schedule: tuple[float, ...],
    timeout: float,
    loopback: bool,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Make ``count`` deliveries from ``concurrency`` threads, at most ``rate`` per second."""
    import requests

    outcomes = [Outcome() for _ in range(count)]
    lock, next_index, start = threading.Lock(), [0], time.monotonic()

    def worker() -> None:
        with requests.Session() as session:
            session.trust_env = not loopback  # no proxy from the environment for a local service
            while True:
                with lock:
                    index = next_index[0]
                    next_index[0] += 1
                if index >= count:
                    return
                if rate:
                    time.sleep(max(0.0, start + index / rate - time.monotonic()))
                data, headers = body(index)
                _attempts(session, url, data, headers, schedule, timeout, outcomes[index])
                if progress is not None:
                    progress.step()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(concurrency, count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if progress is not None:
        progress.done()
    return outcomes


def _attempts(
    session: requests.Session,
    url: str,
    data: bytes,
    headers: Mapping[str, str],
    schedule: tuple[float, ...],
    timeout: float,
    outcome: Outcome,
) -> None:
    import requests

    for wait in (*schedule, None):
        began = time.monotonic()
        try:
            status = session.post(url, data=data, headers=dict(headers), timeout=timeout).status_code
        except requests.RequestException as exc:
            status = 0
            outcome.errors.append(type(exc).__name__)
        outcome.statuses.append(status)
        outcome.latencies.append(time.monotonic() - began)
        if 200 <= status < 300 or wait is None:
            return
        time.sleep(wait)


def summarise(outcomes: list[Outcome], elapsed: float) -> dict[str, Any]:
    """Counts of deliveries, attempts and answers, and latency percentiles in milliseconds."""
    answers = Counter(str(s) for o in outcomes for s in o.statuses if s)
    errors = Counter(e for o in outcomes for e in o.errors)
    latencies = sorted(latency for o in outcomes for latency in o.latencies)
    delivered = sum(o.delivered for o in outcomes)

    def percentile(p: float) -> float:
        rank = max(0, min(len(latencies) - 1, math.ceil(p / 100 * len(latencies)) - 1))
        return round(latencies[rank] * 1000, 2)

    return {
        "deliveries": len(outcomes),
        "delivered": delivered,
        "failed": len(outcomes) - delivered,
        "attempts": sum(len(o.statuses) for o in outcomes),
        "answers": dict(sorted(answers.items())),
        "errors": dict(sorted(errors.items())),
        "seconds": round(elapsed, 3),
        "latency_ms": {f"p{p}": percentile(p) for p in (50, 90, 99)} | {"max": percentile(100)},
    }


def describe(summary: Mapping[str, Any], url: str, concurrency: int) -> list[str]:
    """The summary in plain words."""
    per_second = summary["deliveries"] / summary["seconds"] if summary["seconds"] else 0.0
    answers = ", ".join(f"{status} x {n}" for status, n in summary["answers"].items()) or "none"
    errors = ", ".join(f"{name} x {n}" for name, n in summary["errors"].items())
    latency = ", ".join(f"{name} {value:g} ms" for name, value in summary["latency_ms"].items())
    return [
        f"sent {summary['deliveries']} deliveries to {url} in {summary['seconds']:g} s "
        f"({per_second:.1f}/s, {concurrency} at a time)",
        f"answers: {answers}" + (f"; no answer: {errors}" if errors else ""),
        f"delivered (2xx): {summary['delivered']} of {summary['deliveries']}, in {summary['attempts']} attempts",
        f"latency per attempt: {latency}",
    ]
