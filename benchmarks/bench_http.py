"""Requests/s and latency of the webhook path beside a bare endpoint, on real servers over loopback.

Run from the checkout root:  python -m benchmarks.bench_http [--duration 10] [--rounds 3] [--connections 16]

For gunicorn (2 sync workers) and uvicorn (1 process), each round starts the server on a free
127.0.0.1 port with this module's app (``benchmarks.bench_http:wsgi_app`` / ``:asgi_app``), warms
it up, then measures, on the same server and settings:

(a) ``POST /bare``: an endpoint behind the adapter that reads the body and answers 200;
(b) ``POST /hook``: the adapter and the ``Receiver``: HMAC check, parse, de-duplication claim on
    a ``MemoryStore``, job on a ``MemoryQueue``, 200. A thread in the server drains the queue
    every 50 ms with a no-op handler (its cost counts in (b)), as a deployed queue is drained;
(c) ``POST /floor``: the work no receiver can skip, on the bare endpoint: read the body, HMAC
    check, ``json.loads``, keep the payload (dropped by the same drain thread), 200. (c)/(a) is
    the most any webhook path can reach on this server; (b)/(c) is what the library costs.

Every request carries a distinct, signed ~1.5 KB ``message.sent`` (made and signed beforehand,
read by wrk's Lua script), so that each (b) request takes the whole accept path: none is a
duplicate (the script warns if a run sends more requests than there are bodies). The load
comes from wrk when it is on PATH, else from a threaded Python client (which loads the shared
cores more itself). Prints each run, then per server the medians of req/s, p50 and p99 and the
ratio (b)/(a). Targets: (b) >= 80% of (a); p99 well under Layer's 1 s deadline.
"""

from __future__ import annotations

import argparse
import hmac
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._processes import free_port, running
from benchmarks.bench_core import SECRET, make_bodies
from layer_webhooks import Hook, MemoryQueue, Receiver, sign
from layer_webhooks.adapters import asgi, wsgi

HEADERS = {
    "Content-Type": "application/vnd.layer.webhooks+json; version=1.0",
    "Layer-Webhook-Event-Type": "message.sent",
}
SERVERS = {
    "gunicorn": ["gunicorn", "--workers", "2", "--log-level", "warning", "benchmarks.bench_http:wsgi_app"],
    "uvicorn": [
        "uvicorn",
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
        "benchmarks.bench_http:asgi_app",
    ],
}


def _receiver() -> Receiver:
    # The queue is drained by a worker thread, as a deployed queue is: one that only grew would
    # measure the cyclic GC walking every job ever received, not the accept path.
    queue = MemoryQueue()
    queue.process("Webhook Example", lambda job: None)

    def drain() -> None:
        while True:
            queue.run_due()
            _KEPT.clear()
            time.sleep(0.05)

    threading.Thread(target=drain, name="drain", daemon=True).start()
    return Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue)


_KEY = SECRET.encode()
_KEPT: list[Any] = []


def _floor(body: bytes, signature: str) -> None:
    if hmac.compare_digest(hmac.digest(_KEY, body, "sha1"), bytes.fromhex(signature)):
        _KEPT.append(json.loads(body))


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ["PATH_INFO"] == "/floor":
        _floor(body, environ["HTTP_LAYER_WEBHOOK_SIGNATURE"])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"OK"]


async def bare_asgi(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    if scope["path"] == "/floor":
        _floor(b"".join(chunks), dict(scope["headers"])[b"layer-webhook-signature"].decode())
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"OK"})


def __getattr__(name: str) -> Any:
    # The servers' apps, built in the server process only (each with its queue and drain thread).
    if name == "wsgi_app":
        return wsgi.WebhookMiddleware(bare_wsgi, _receiver())
    if name == "asgi_app":
        return asgi.WebhookMiddleware(bare_asgi, _receiver())
    raise AttributeError(name)


LUA = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local threads = tonumber(args[2])
  bodies, signatures, n, i = {}, {}, 0, 0
  for line in io.lines(args[1]) do
    if i % threads == id then
      local signature, body = line:match("^(%x+) (.*)$")
      table.insert(bodies, body)
      table.insert(signatures, signature)
    end
    i = i + 1
  end
  headers = {}
  for name, value in pairs({HEADERS}) do headers[name] = value end
end
function request()
  n = n + 1
  local k = (n - 1) % #bodies + 1
  headers["Layer-Webhook-Signature"] = signatures[k]
  return wrk.format("POST", nil, headers, bodies[k])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def lua_script() -> str:
    table = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in HEADERS.items()) + "}"
    return LUA.replace("{HEADERS}", table)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children so far (Linux /proc; 0 elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


@contextmanager
def serving(name: str, log: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    program, *args = SERVERS[name]
    bind = ["--bind", f"127.0.0.1:{port}"] if name == "gunicorn" else ["--port", str(port), "--lifespan", "off"]
    root = Path(__file__).resolve().parents[1]
    with running([sys.executable, "-m", program, *bind, *args], log=log, port=port, cwd=root) as process:
        yield f"http://127.0.0.1:{port}", process.pid


def run_wrk(url: str, path: str, seconds: float, connections: int, script: Path, bodies: Path) -> dict[str, float]:
    threads = 2
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script)]
    out = subprocess.run(
        [*argv, url + path, "--", str(bodies), str(threads)], capture_output=True, text=True, timeout=seconds + 60
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))
    count, micros, errors, p50, p99 = map(int, line.split()[1:])
    return {"requests": count, "rps": count / (micros / 1e6), "errors": errors, "p50": p50 / 1e3, "p99": p99 / 1e3}


def run_python(
    url: str, path: str, seconds: float, connections: int, signed: list[tuple[str, bytes]]
) -> dict[str, float]:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine = signed[index::connections]
        for k in range(10**9):  # bounded by the deadline below
            signature, body = mine[k % len(mine)]
            start = time.perf_counter()
            if start > deadline:
                break
            try:
                conn.request("POST", path, body, {**HEADERS, "Layer-Webhook-Signature": signature})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except OSError:
                ok = False
                conn.close()
            latencies[index].append(time.perf_counter() - start)
            errors[index] += not ok
        conn.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 30)
    elapsed = time.perf_counter() - began
    every = sorted(x for each in latencies for x in each)
    q = statistics.quantiles(every, n=100)
    return {
        "requests": len(every),
        "rps": len(every) / elapsed,
        "errors": sum(errors),
        "p50": q[49] * 1e3,
        "p99": q[98] * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--bodies", type=int, default=80_000, help="distinct signed deliveries")
    parser.add_argument("--servers", default="gunicorn,uvicorn")
    parser.add_argument(
        "--python-client", action="store_true", help="use the Python load generator even if wrk is there"
    )
    args = parser.parse_args()

    use_wrk = shutil.which("wrk") is not None and not args.python_client
    signed = [(sign(body, SECRET), body) for body in make_bodies(args.bodies)]
    work = Path(tempfile.mkdtemp(prefix="bench_http-"))
    script, bodies = work / "deliveries.lua", work / "bodies.txt"
    script.write_text(lua_script())
    with bodies.open("wb") as out:
        for signature, body in signed:
            out.write(signature.encode() + b" " + body + b"\n")

    def measure(url: str, path: str, seconds: float) -> dict[str, float]:
        if use_wrk:
            return run_wrk(url, path, seconds, args.connections, script, bodies)
        return run_python(url, path, seconds, args.connections, signed)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}")
    print(f"load: {'wrk' if use_wrk else 'Python threads'}, {args.connections} connections, {args.duration:g} s a run")
    print(f"body: ~{statistics.median(len(b) for _, b in signed[:1000]):.0f} bytes, {len(signed)} distinct deliveries")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for round_ in range(1, args.rounds + 1):
        for name in args.servers.split(","):
            with serving(name, work / f"{name}.log") as (url, pid):
                measure(url, "/bare", 2)  # warm-up
                runs = [("a", "/bare"), ("c", "/floor"), ("b", "/hook")]
                for label, path in runs if round_ % 2 else runs[::-1]:  # alternate, so drift hits both
                    before = cpu_seconds(pid)
                    r = measure(url, path, args.duration)
                    r["cpu"] = (cpu_seconds(pid) - before) / max(r["requests"], 1) * 1e6
                    results.setdefault((name, label), []).append(r)
                    print(
                        f"round {round_} {name:8} ({label}) {path:5}: {r['rps']:7,.0f} req/s  p50 {r['p50']:5.1f} ms  "
                        f"p99 {r['p99']:6.1f} ms  server CPU {r['cpu']:5.1f} us/req  errors {r['errors']:.0f}",
                        flush=True,
                    )
                    if path != "/bare" and r["requests"] > len(signed):
                        print(f"  warning: {r['requests']:.0f} requests > {len(signed)} bodies: some were duplicates")
    print("\nmedians over the rounds; ratios are per round (same server, back to back), then their median:")
    for name in args.servers.split(","):
        a, b, c = results[(name, "a")], results[(name, "b")], results[(name, "c")]

        def ratio(x: list[dict[str, float]], y: list[dict[str, float]], key: str = "rps") -> float:
            return statistics.median(v[key] / u[key] for u, v in zip(x, y, strict=True) if u[key])

        for label, runs_ in (("(a) bare ", a), ("(c) floor", c), ("(b) hook ", b)):
            med = {k: statistics.median(r[k] for r in runs_) for k in runs_[0]}
            print(
                f"{name:8} {label} {med['rps']:7,.0f} req/s  p50 {med['p50']:.1f} ms  p99 {med['p99']:.1f} ms  "
                f"server CPU {med['cpu']:.0f} us/req"
            )
        print(
            f"{name:8} (b)/(a) {ratio(a, b):.0%} (target >= 80%); (c)/(a) {ratio(a, c):.0%} (the ceiling); "
            f"(b)/(c) {ratio(c, b):.0%}"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
