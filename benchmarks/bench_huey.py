"""HueyQueue on Redis: enqueue throughput, the webhook path over HTTP, and the consumers' drain.

Run:  python benchmarks/bench_huey.py [--rounds 2] [--duration 8] [--connections 64] [--jobs 10000]

Starts its own redis-server (append-only file, ``appendfsync everysec``) on a free loopback
port, and every server it measures; needs redis-server, wrk, uvicorn, gunicorn, starlette.
Each round runs every measurement once; the medians over the rounds are printed with ratios
against baselines measured in the same run (the machine is shared: absolute figures vary).

1. Enqueue, in this process, of the ~1.5 KB ``message.sent`` job: raw redis-py ``LPUSH`` of
   the same record, one round trip per call (the floor); ``HueyQueue.enqueue`` (one Lua call
   per job); ``HueyQueue.enqueue_async`` from ``--connections`` concurrent callers (group commit).
2. HTTP, ``wrk -t2 -c<connections> -d<duration>s --latency``, a signed ``message.sent`` body
   (no event id; each request carries its own ``layer-webhook-request-id``, so de-duplication
   claims a new key and every request enqueues a job), against uvicorn (1 worker, the ASGI
   adapter) and gunicorn (2 sync workers, the WSGI middleware), serving: ``bare`` (read the
   body, answer 200), ``verify+parse`` (the receiver on a queue that drops jobs),
   ``1 round trip`` (the receiver, each job one huey task call, i.e. one blocking LPUSH: on
   the event loop under uvicorn), and ``HueyQueue``. Every 2xx is counted against the jobs
   found in Redis afterwards. Target: uvicorn ``HueyQueue`` >= 2x ``1 round trip``, p99 <= 50 ms.
3. Drain: ``--jobs`` jobs queued, then ``huey_consumer -k thread`` with 1 and 2 workers and a
   handler that does nothing; jobs/s from the first claim to the last finish.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from _processes import free_port, redis_server, running  # noqa: E402
from bench_core import make_bodies  # noqa: E402

from layer_webhooks import Hook, Job, Receiver, sign  # noqa: E402

SECRET = "benchmark secret"
HOOK = Hook("Webhook Example", "/hook", ["message.sent"])


def body() -> bytes:
    """A compact ~1.5 KB message.sent delivery without an event id."""
    payload = json.loads(make_bodies(1)[0])
    del payload["event"]["id"]
    return json.dumps(payload, separators=(",", ":")).encode()


# -- the apps the measured servers load (configured by BENCH_* environment variables) ----------


class _DropQueue:
    """Drops every job: the receiver's own cost (verify, parse, claim) and nothing else."""

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        pass

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        pass

    def process(self, name: str, handler: Callable[[Job], object], *, attempts: int = 10, backoff: float = 10) -> None:
        pass


class _RoundTripQueue(_DropQueue):
    """One plain huey task call per job: one LPUSH round trip, blocking (the event loop too)."""

    def __init__(self, huey: Any) -> None:
        self.deliver = huey.task(name="bench_deliver")(lambda name, data: None)

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        self.deliver(name, dict(data))

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        self.enqueue(name, data)


def _huey() -> Any:
    import redis
    from huey import RedisHuey

    pool = redis.ConnectionPool.from_url(os.environ["BENCH_REDIS_URL"], socket_timeout=5)
    return RedisHuey(os.environ["BENCH_HUEY_NAME"], connection_pool=pool)


def _queue() -> Any:
    from layer_webhooks.adapters.huey import HueyQueue

    return HueyQueue(_huey())


def _receiver() -> Receiver:
    variant = os.environ["BENCH_VARIANT"]
    queues: dict[str, Callable[[], Any]] = {
        "parse": _DropQueue,
        "roundtrip": lambda: _RoundTripQueue(_huey()),
        "hueyqueue": _queue,
    }
    return Receiver(SECRET, [HOOK], queues[variant]())


async def _bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"OK"})


def _bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"OK"]


def asgi_app() -> Any:
    """uvicorn --factory bench_huey:asgi_app"""
    if os.environ["BENCH_VARIANT"] == "bare":
        return _bare_asgi
    from layer_webhooks.adapters.asgi import WebhookApp

    return WebhookApp(_receiver())


def wsgi_app() -> Any:
    """gunicorn 'bench_huey:wsgi_app()'"""
    if os.environ["BENCH_VARIANT"] == "bare":
        return _bare_wsgi
    from layer_webhooks.adapters.wsgi import WebhookMiddleware

    return WebhookMiddleware(None, _receiver())


if os.environ.get("BENCH_CONSUMER"):  # huey_consumer bench_huey.huey: a handler that does nothing
    queue = _queue()
    huey = queue.huey
    queue.process(HOOK.name, lambda job: None)


# -- measuring ---------------------------------------------------------------------------------


def wrk_script(directory: Path) -> Path:
    nonce = uuid.uuid4().hex[:8]
    raw = body()
    lua = f"""
wrk.method = "POST"
wrk.body = [==[{raw.decode()}]==]
wrk.headers["Content-Type"] = "application/vnd.layer.webhooks+json; version=1.0"
wrk.headers["Layer-Webhook-Signature"] = "{sign(raw, SECRET)}"
wrk.headers["Layer-Webhook-Event-Type"] = "message.sent"
local threads = 0
prefix = ""
counter = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "{nonce}-" .. threads)
end
function request()
  counter = counter + 1
  wrk.headers["Layer-Webhook-Request-Id"] = prefix .. "-" .. counter
  return wrk.format(nil, "/hook")
end
"""
    path = directory / f"post-{nonce}.lua"
    path.write_text(lua)
    return path


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(url: str, script: Path, connections: int, duration: float) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p99": float(value) * _UNITS[unit],
        "done": done,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def http_round(
    redis_url: str, directory: Path, connections: int, duration: float
) -> dict[tuple[str, str], dict[str, float]]:
    import redis

    client = redis.Redis.from_url(redis_url)
    results: dict[tuple[str, str], dict[str, float]] = {}
    for server in ("uvicorn", "gunicorn"):
        for variant in ("bare", "parse", "roundtrip", "hueyqueue"):
            client.flushall()
            port = free_port()
            name = f"b{uuid.uuid4().hex[:8]}"
            env = {"BENCH_VARIANT": variant, "BENCH_REDIS_URL": redis_url, "BENCH_HUEY_NAME": name}
            if server == "uvicorn":
                command = [
                    sys.executable, "-m", "uvicorn", "--factory", "bench_huey:asgi_app", "--host", "127.0.0.1",
                    "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
                    "--lifespan", "off",
                ]  # fmt: skip
            else:
                command = [
                    sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                    "--log-level", "warning", "bench_huey:wsgi_app()",
                ]  # fmt: skip
            with running(command, log=directory / f"{server}.log", port=port, env=env, cwd=HERE):
                # A new request-id prefix per run: the server de-duplicates on it.
                run_wrk(f"http://127.0.0.1:{port}", wrk_script(directory), connections, 1.0)  # warm up
                client.flushall()
                figures = run_wrk(f"http://127.0.0.1:{port}", wrk_script(directory), connections, duration)
            if variant == "hueyqueue":
                stored = client.hlen(f"huey.layer_webhooks.{name}.record")
            elif variant == "roundtrip":
                stored = client.llen(f"huey.redis.{name}")
            else:
                stored = -1
            if stored >= 0 and stored < figures["done"] - figures["non2xx"]:
                raise RuntimeError(f"{server} {variant}: {stored} jobs stored for {figures['done']} answers")
            results[(server, variant)] = figures
            print(
                f"  {server:9s}{LABELS[variant]:15s}{figures['rps']:9.0f} req/s  p99 {figures['p99']:7.1f} ms"
                f"  non-2xx {figures['non2xx']:.0f}",
                flush=True,
            )
    return results


def enqueue_round(redis_url: str, jobs: int, concurrency: int) -> dict[str, float]:
    import redis

    from layer_webhooks.adapters.huey import HueyQueue

    payload = json.loads(make_bodies(1)[0])
    data = {"title": HOOK.name, "type": "message.sent", "message": payload["message"], "config": None}
    record = json.dumps({"name": HOOK.name, "data": data}, ensure_ascii=False)
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    started = time.perf_counter()
    for _ in range(jobs):
        client.lpush("bench.floor", record)
    floor = jobs / (time.perf_counter() - started)

    os.environ.update(BENCH_REDIS_URL=redis_url, BENCH_HUEY_NAME=f"e{uuid.uuid4().hex[:8]}")
    queue: HueyQueue = _queue()
    started = time.perf_counter()
    for _ in range(jobs):
        queue.enqueue(HOOK.name, data)
    sync = jobs / (time.perf_counter() - started)

    async def caller(count: int) -> None:
        for _ in range(count):
            await queue.enqueue_async(HOOK.name, data)

    async def callers() -> None:
        await asyncio.gather(*(caller(jobs // concurrency) for _ in range(concurrency)))

    started = time.perf_counter()
    asyncio.run(callers())
    grouped = (jobs // concurrency * concurrency) / (time.perf_counter() - started)
    queue.close()
    return {"floor": floor, "sync": sync, "async": grouped}


async def fill(queue: Any, data: Mapping[str, Any], jobs: int) -> None:
    for start in range(0, jobs, 500):
        await asyncio.gather(*(queue.enqueue_async(HOOK.name, data) for _ in range(min(500, jobs - start))))


def drain_round(redis_url: str, directory: Path, jobs: int) -> dict[int, float]:
    import redis

    client = redis.Redis.from_url(redis_url)
    rates = {}
    for workers in (1, 2):
        client.flushall()
        name = f"d{uuid.uuid4().hex[:8]}"
        os.environ.update(BENCH_REDIS_URL=redis_url, BENCH_HUEY_NAME=name)
        queue = _queue()
        data = {"title": HOOK.name, "message": json.loads(make_bodies(1)[0])["message"]}
        asyncio.run(fill(queue, data, jobs))
        queue.close()
        key = f"huey.layer_webhooks.{name}.record"
        env = {"BENCH_CONSUMER": "1", "BENCH_REDIS_URL": redis_url, "BENCH_HUEY_NAME": name}
        command = [
            sys.executable,
            "-m",
            "huey.bin.huey_consumer",
            "bench_huey.huey",
            "-w",
            str(workers),
            "-k",
            "thread",
        ]
        with running(command, log=directory / "consumer.log", env=env, cwd=HERE):
            deadline = time.monotonic() + 600
            while client.hlen(key) == jobs:
                assert time.monotonic() < deadline, "the consumer never started"
                time.sleep(0.005)
            started, left = time.perf_counter(), client.hlen(key)
            while client.hlen(key):
                assert time.monotonic() < deadline, "the consumer did not drain the queue"
                time.sleep(0.02)
            rates[workers] = left / (time.perf_counter() - started)
        print(f"  drain, {workers} worker(s): {rates[workers]:8.0f} jobs/s", flush=True)
    return rates


LABELS = {"bare": "bare", "parse": "verify+parse", "roundtrip": "1 round trip", "hueyqueue": "HueyQueue"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per enqueue and drain measurement")
    parser.add_argument("--skip", action="append", default=[], choices=["enqueue", "http", "drain"])
    args = parser.parse_args()
    for tool in ("redis-server", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, {args.rounds} rounds")

    enqueues: list[dict[str, float]] = []
    https: list[dict[tuple[str, str], dict[str, float]]] = []
    drains: list[dict[int, float]] = []
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        for n in range(args.rounds):
            print(f"round {n + 1}", flush=True)
            if "enqueue" not in args.skip:
                enqueues.append(enqueue_round(url, args.jobs, args.connections))
                print("  enqueue: " + ", ".join(f"{k} {v:.0f}/s" for k, v in enqueues[-1].items()), flush=True)
            if "http" not in args.skip:
                https.append(http_round(url, Path(tmp), args.connections, args.duration))
            if "drain" not in args.skip:
                drains.append(drain_round(url, Path(tmp), args.jobs))

    print(f"\nmedians over {args.rounds} rounds")
    if enqueues:
        floor, sync, grouped = (statistics.median(r[k] for r in enqueues) for k in ("floor", "sync", "async"))
        print("enqueue (jobs/s, in-process)")
        print(f"  raw LPUSH, 1 round trip each (floor) {floor:8.0f}")
        print(f"  HueyQueue.enqueue                    {sync:8.0f}  {sync / floor:5.2f}x floor")
        print(f"  HueyQueue.enqueue_async, {args.connections} callers   {grouped:8.0f}  {grouped / floor:5.2f}x floor")
    if https:
        print(f"HTTP (wrk -t2 -c{args.connections} -d{args.duration:g}s)")
        for server in ("uvicorn", "gunicorn"):
            base = statistics.median(r[(server, "roundtrip")]["rps"] for r in https)
            for variant in ("bare", "parse", "roundtrip", "hueyqueue"):
                rps = statistics.median(r[(server, variant)]["rps"] for r in https)
                p99 = statistics.median(r[(server, variant)]["p99"] for r in https)
                print(f"  {server:9s}{LABELS[variant]:15s}{rps:9.0f} req/s  p99 {p99:7.1f} ms  {rps / base:5.2f}x 1 rt")
        rps = statistics.median(r[("uvicorn", "hueyqueue")]["rps"] for r in https)
        base = statistics.median(r[("uvicorn", "roundtrip")]["rps"] for r in https)
        p99 = statistics.median(r[("uvicorn", "hueyqueue")]["p99"] for r in https)
        ceiling = statistics.median(r[("uvicorn", "parse")]["rps"] for r in https)
        verdict = "met" if rps >= 2 * base and p99 <= 50 else "NOT met"
        print(f"  target (uvicorn HueyQueue >= 2x 1 round trip, p99 <= 50 ms): {verdict}")
        print(
            f"  uvicorn HueyQueue = {rps / base:.2f}x 1 round trip, p99 {p99:.1f} ms;"
            f" {rps / ceiling:.0%} of verify+parse, itself {ceiling / base:.2f}x 1 round trip (the ceiling)"
        )
    if drains:
        for workers in (1, 2):
            print(f"drain, {workers} worker(s)  {statistics.median(r[workers] for r in drains):8.0f} jobs/s")


if __name__ == "__main__":
    main()
