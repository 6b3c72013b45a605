"""Instructions per delivery through the ASGI app, counted by valgrind: figures that do not move
with the machine's speed.

Run:  python benchmarks/bench_instructions.py [--baseline <checkout>] [--lanes 32]
      [--kinds bare,floor,receiver,memory,memory-run,hueyqueue] [--requests 500,2500]

A shared VM's speed swings (here: 2-4x within an hour), and with it every timed figure; the count
of instructions a process runs does not, to a fraction of a percent. Each kind is run in a child
process under ``valgrind --tool=cachegrind --cache-sim=no``, which counts the instructions the
process runs in user space (the kernel's work, socket writes included, is not counted). The child
drives ``lanes`` concurrent requests at a time straight into the ASGI app on uvloop, as uvicorn
would call it (scope, ``receive``, ``send``), with distinct signed ~1.5 KB ``message.sent``
deliveries. It runs twice, with the two request counts (and the same deliveries made); the
difference of the two totals, per request, is the figure (start-up and set-up cancel out). Kinds:

- ``bare``: an ASGI app that reads the body and answers (the harness's own cost);
- ``floor``: that app doing HMAC-SHA1 + ``json.loads`` of the body, as the raw floor does;
- ``receiver``: the library's ``WebhookApp`` and ``Receiver`` on a queue that keeps nothing;
- ``memory``: the same on a ``MemoryQueue``;
- ``memory-run``: the same, and each job run once by ``run_due`` (a handler that does nothing),
  as ``bench_http``'s drained ``MemoryQueue`` runs them;
- ``hueyqueue``: the same on ``HueyQueue(RedisHuey)``, on a redis-server this script starts.

``--baseline`` counts the same kinds with the library (and ``benchmarks.bench_core``) of another
checkout, in the same run. Needs valgrind (``apt-get install valgrind``), uvloop and, for
``hueyqueue``, huey, redis and redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KINDS = ("bare", "floor", "receiver", "memory", "memory-run", "hueyqueue")


# -- the child: one kind, ``count`` requests, under valgrind ---------------------------------------


class _Nothing:
    """A queue that keeps nothing: the receiver's own cost."""

    def enqueue(self, name: str, data: Any, *, delay: float = 0.0, job_id: str | None = None) -> None:
        pass

    async def enqueue_async(self, name: str, data: Any, *, delay: float = 0.0, job_id: str | None = None) -> None:
        pass

    def process(self, name: str, handler: Any, *, attempts: int = 10, backoff: float = 10) -> None:
        pass


def _app(kind: str, secret: str) -> Any:
    async def bare(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        if kind == "floor":
            expected = bytes.fromhex(dict(scope["headers"])[b"layer-webhook-signature"].decode())
            hmac.compare_digest(hmac.digest(secret.encode(), message["body"], "sha1"), expected)
            json.loads(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    if kind in ("bare", "floor"):
        return bare
    from layer_webhooks import Hook, MemoryQueue, Receiver
    from layer_webhooks.adapters.asgi import WebhookApp

    queue: Any
    if kind == "receiver":
        queue = _Nothing()
    elif kind in ("memory", "memory-run"):
        queue = MemoryQueue()
        queue.process("Webhook Example", lambda job: None)
    else:
        import redis
        from huey import RedisHuey

        from layer_webhooks.adapters.huey import HueyQueue

        pool = redis.ConnectionPool.from_url(os.environ["BENCH_REDIS_URL"], socket_timeout=10)
        queue = HueyQueue(RedisHuey(f"i{uuid.uuid4().hex[:8]}", connection_pool=pool))
    return WebhookApp(None, Receiver(secret, [Hook("Webhook Example", "/hook", ["message.sent"])], queue))


def child(kind: str, count: int, lanes: int, made: int) -> None:
    import uvloop

    from benchmarks.bench_core import SECRET, make_bodies

    bodies = make_bodies(made)  # as many in both runs: only the requests differ
    signatures = [hmac.digest(SECRET.encode(), body, "sha1").hex().encode() for body in bodies]
    app = _app(kind, SECRET)

    async def one(i: int) -> None:
        headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/vnd.layer.webhooks+json; version=1.0"),
            (b"layer-webhook-event-type", b"message.sent"),
            (b"layer-webhook-signature", signatures[i]),
            (b"content-length", str(len(bodies[i])).encode()),
        ]
        scope = {"type": "http", "method": "POST", "path": "/hook", "root_path": "", "query_string": b""}
        scope["headers"] = headers

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": bodies[i], "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        await app(scope, receive, send)

    async def lane(first: int) -> None:
        for i in range(first, count, lanes):
            await one(i)

    async def main() -> None:
        await asyncio.gather(*(lane(k) for k in range(lanes)))

    uvloop.run(main())
    if kind == "memory-run":
        assert app.receiver.queue.run_due(limit=count) == count


# -- the parent ------------------------------------------------------------------------------------


def instructions(checkout: Path, kind: str, count: int, lanes: int, made: int, redis_url: str) -> int:
    """The instructions (cachegrind's ``I refs``) of one child run."""
    argv = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    argv += [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(count), str(lanes), str(made)]
    env = {**os.environ, "PYTHONPATH": str(checkout), "BENCH_REDIS_URL": redis_url}
    out = subprocess.run(argv, capture_output=True, text=True, cwd=checkout, env=env, timeout=1800)
    line = next((line for line in out.stderr.splitlines() if "I   refs:" in line or "I refs:" in line), None)
    if out.returncode or line is None:
        raise RuntimeError(f"{kind} in {checkout} failed:\n{out.stdout}{out.stderr[-3000:]}")
    return int(line.split(":")[1].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--child", nargs=4, metavar=("KIND", "COUNT", "LANES", "MADE"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline", type=Path, help="another checkout, counted in the same run")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--requests", default="500,2500", help="the two request counts")
    parser.add_argument("--lanes", type=int, default=32, help="requests in flight at once")
    args = parser.parse_args()
    if args.child:
        kind, count, lanes, made = args.child
        child(kind, int(count), int(lanes), int(made))
        return
    kinds = args.kinds.split(",")
    if unknown := [kind for kind in kinds if kind not in KINDS]:
        sys.exit(f"unknown kinds {unknown}: choose from {', '.join(KINDS)}")
    low, high = (int(n) for n in args.requests.split(","))
    if not 0 < low < high:
        sys.exit(f"--requests {args.requests}: two counts, the first smaller")
    missing = [tool for tool in ("valgrind", "redis-server") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (apt-get install valgrind redis-server)")
    checkouts = {"this checkout": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    sys.path.insert(0, str(ROOT))
    from benchmarks._processes import redis_server

    figures: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp), appendonly=False) as url:
        for kind in kinds:
            for label, checkout in checkouts.items():
                counts = [instructions(checkout, kind, n, args.lanes, high, url) for n in (low, high)]
                figures[label, kind] = (counts[1] - counts[0]) / (high - low)
                print(f"  {kind:10} {label:14} {figures[label, kind]:10,.0f} instructions a delivery", flush=True)
    print(f"\nInstructions a delivery (valgrind, {high - low} requests, {args.lanes} in flight):\n")
    header = "| kind | " + " | ".join(checkouts) + (" | change |" if args.baseline else " |")
    print(header + "\n" + "|---" * (header.count("|") - 1) + "|")
    for kind in kinds:
        cells = []
        for label in checkouts:
            cell = f"{figures[label, kind]:,.0f}"
            if "floor" in kinds and kind not in ("bare", "floor"):
                cell += f" ({figures[label, kind] / figures[label, 'floor']:.2f}x the floor)"
            cells.append(cell)
        if args.baseline:
            cells.append(f"{figures['this checkout', kind] / figures['baseline', kind] - 1:+.1%}")
        print(f"| {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
