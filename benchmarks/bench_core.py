"""Events per second of ``Receiver.handle`` beside the floor: HMAC + ``json.loads``.

Run:  python benchmarks/bench_core.py [--events 20000] [--rounds 7]

Each round feeds distinct, signed ``message.sent`` deliveries (~1.5 KB, compact JSON) to a fresh
``Receiver`` on a ``MemoryQueue`` (which keeps every job), and, in the same run, computes the
floor: the HMAC-SHA1 check and ``json.loads`` of the same bodies, keeping each parsed payload as
the queue keeps its jobs. ``gc.collect()`` runs before each timed loop, and each is timed in
this process's CPU time (``time.process_time``), so that other work on a shared machine does
not count. Prints the median events/s of both over the rounds and their cost ratio (target:
handle <= 1.2x the floor). With orjson installed (the ``speed`` extra), ``Receiver.handle`` is measured twice in each
round, on the standard library's path and on orjson's, and both ratios are printed.
"""

from __future__ import annotations

import argparse
import gc
import hmac
import json
import platform
import statistics
import time
import uuid

from layer_webhooks import Hook, MemoryQueue, Receiver, Request, sign
from layer_webhooks.jobs import _codec

ORJSON = getattr(_codec, "fast_loads", None)  # None: no orjson (or a tree before the speed extra)

SECRET = "benchmark secret"


def make_bodies(count: int) -> list[bytes]:
    """Distinct ~1.5 KB message.sent bodies, compact JSON as Layer sends them."""
    bodies = []
    for _ in range(count):
        message_id = f"layer:///messages/{uuid.uuid4()}"
        conversation = str(uuid.uuid4())
        payload = {
            "event": {
                "created_at": "2015-09-17T20:46:47.561Z",
                "type": "message.sent",
                "id": str(uuid.uuid4()),
                "actor": {"user_id": "12345"},
            },
            "message": {
                "id": message_id,
                "url": f"https://api.layer.com/apps/082d4684-0992-11e5-a6c0-1697f925ec7b/messages/{message_id[18:]}",
                "conversation": {
                    "id": f"layer:///conversations/{conversation}",
                    "url": f"https://api.layer.com/apps/082d4684-0992-11e5-a6c0-1697f925ec7b/conversations/{conversation}",
                },
                "parts": [
                    {"id": f"{message_id}/parts/0", "mime_type": "text/plain", "body": "This is the message. " * 12},
                    {
                        "id": f"{message_id}/parts/1",
                        "mime_type": "image/png",
                        "content": {
                            "id": f"layer:///content/{uuid.uuid4()}",
                            "download_url": "http://storage.example.com/some/download/path",
                            "expiration": "2014-09-09T04:44:47+00:00",
                            "refresh_url": f"https://api.layer.com/apps/082d4684-0992-11e5-a6c0-1697f925ec7b/content/{uuid.uuid4()}",
                            "size": 172114124,
                        },
                    },
                ],
                "sent_at": "2014-09-09T04:44:47+00:00",
                "sender": {"user_id": "12345"},
                "recipient_status": {"12345": "read", "999": "sent", "111": "sent", "222": "delivered"},
            },
            "config": {"name": "Webhook Example"},
        }
        bodies.append(json.dumps(payload, separators=(",", ":")).encode())
    return bodies


def requests_for(bodies: list[bytes]) -> list[Request]:
    return [
        Request(
            "POST",
            "/hook",
            "",
            {
                "Content-Type": "application/vnd.layer.webhooks+json; version=1.0",
                "Layer-Webhook-Signature": sign(body, SECRET),
                "Layer-Webhook-Event-Type": "message.sent",
            },
            body,
        )
        for body in bodies
    ]


def run_handle(requests: list[Request], fast: bool = False) -> float:
    _codec.fast_loads = ORJSON if fast else None  # the parse path to measure
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], MemoryQueue())
    handle = receiver.handle
    gc.collect()
    start = time.process_time()
    for request in requests:
        handle(request)
    elapsed = time.process_time() - start
    assert len(receiver.queue.pending()) == len(requests)  # type: ignore[attr-defined]
    return elapsed


def run_floor(requests: list[Request]) -> float:
    key = SECRET.encode()
    kept = []
    loads, digest, compare = json.loads, hmac.digest, hmac.compare_digest
    gc.collect()
    start = time.process_time()
    for request in requests:
        body = request.body
        if compare(digest(key, body, "sha1"), bytes.fromhex(request.headers["layer-webhook-signature"])):
            kept.append(loads(body))
    elapsed = time.process_time() - start
    assert len(kept) == len(requests)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    bodies = make_bodies(args.events)
    requests = requests_for(bodies)
    paths = ["json", "orjson"] if ORJSON is not None else ["json"]
    floor_times: list[float] = []
    handle_times: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(args.rounds):  # interleaved, so machine noise hits all alike
        floor_times.append(run_floor(requests))
        for path in paths:
            handle_times[path].append(run_handle(requests, fast=path == "orjson"))
    _codec.fast_loads = ORJSON
    floor_rate = args.events / statistics.median(floor_times)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"body size: {statistics.median(map(len, bodies)):.0f} bytes, {args.events} events x {args.rounds} rounds")
    print(f"floor (HMAC + json.loads):      {floor_rate:,.0f} events/s (median)")
    for path in paths:
        handle_rate = args.events / statistics.median(handle_times[path])
        label = f"Receiver.handle ({path}):"
        print(f"{label:31} {handle_rate:,.0f} events/s (median), {floor_rate / handle_rate:.2f}x the floor's cost")
    print("target: handle <= 1.2x the floor's cost")


if __name__ == "__main__":
    main()
