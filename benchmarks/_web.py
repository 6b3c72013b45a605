"""What ``bench_http`` and ``bench_huey`` share: the apps the servers load, the deliveries wrk
sends, the servers' command lines, and one measured cell (a server, a variant, a load).

The servers import this module (``benchmarks._web:asgi_app`` / ``:wsgi_app()``, run from the
checkout root) and build the app named by ``BENCH_VARIANT``:

- ``bare``: an app that reads the body and answers 200 (no library code);
- ``receiver``: the library's adapter and ``Receiver`` on a queue that keeps nothing (not in the
  issue's table: what the receiver costs without any queue behind it);
- ``memory``: the library's adapter and ``Receiver`` on a ``MemoryQueue`` (its private
  ``MemoryStore`` de-duplicating), drained every 50 ms by a thread with a no-op handler, as a
  deployed queue is drained;
- ``roundtrip``: the receiver, each job one plain huey task call (one ``LPUSH`` round trip,
  blocking, on the event loop under uvicorn): "one huey enqueue per request";
- ``hueyqueue``: the receiver on ``HueyQueue`` (``RedisHuey``).

The ``floor`` server is :mod:`benchmarks._floor` (variants ``bare`` and ``durable``).
"""

from __future__ import annotations

import hmac
import http.client
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script (bench_huey) or by a server: import the checkout
    sys.path.insert(0, str(ROOT))

from benchmarks._processes import cpu_seconds, free_port, running  # noqa: E402
from benchmarks.bench_core import SECRET, make_bodies  # noqa: E402

HOOK_NAME, HOOK_PATH = "Webhook Example", "/hook"
LABELS = {
    "bare": "bare",
    "receiver": "receiver, no queue",
    "memory": "receiver + MemoryQueue",
    "roundtrip": "+ one huey enqueue per request",
    "hueyqueue": "+ HueyQueue",
    "durable": "HMAC + json.loads + grouped LPUSH",
}
HEADERS = {
    "Content-Type": "application/vnd.layer.webhooks+json; version=1.0",
    "Layer-Webhook-Event-Type": "message.sent",
}


# -- the apps the measured servers load (configured by BENCH_* environment variables) ----------


class _RoundTripQueue:
    """One plain huey task call per job: one LPUSH round trip, blocking (the event loop too)."""

    def __init__(self, huey: Any) -> None:
        self.deliver = huey.task(name="bench_deliver")(lambda name, data: None)

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        self.deliver(name, dict(data))

    async def enqueue_async(
        self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None
    ) -> None:
        self.enqueue(name, data)

    def process(self, name: str, handler: Callable[..., object], *, attempts: int = 10, backoff: float = 10) -> None:
        pass


class _NoQueue(_RoundTripQueue):
    """A queue that keeps nothing: the receiver's own cost, with no write behind it."""

    def __init__(self) -> None:
        pass

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        pass


def make_huey(redis_url: str | None = None, name: str | None = None) -> Any:
    """The ``RedisHuey`` every process of a cell shares (``BENCH_REDIS_URL``, ``BENCH_HUEY_NAME``)."""
    import redis
    from huey import RedisHuey

    pool = redis.ConnectionPool.from_url(redis_url or os.environ["BENCH_REDIS_URL"], socket_timeout=10)
    return RedisHuey(name or os.environ["BENCH_HUEY_NAME"], connection_pool=pool)


def _memory_queue() -> Any:
    from layer_webhooks import MemoryQueue

    # Drained by a thread, as a deployed queue is: one that only grew would measure the cyclic
    # GC walking every job ever received, not the accept path.
    queue = MemoryQueue()
    queue.process(HOOK_NAME, lambda job: None)

    def drain() -> None:
        while True:
            queue.run_due()
            time.sleep(0.05)

    threading.Thread(target=drain, name="drain", daemon=True).start()
    return queue


def _receiver() -> Any:
    from layer_webhooks import Hook, Receiver

    variant = os.environ["BENCH_VARIANT"]
    if variant == "memory":
        queue = _memory_queue()
    elif variant == "receiver":
        queue = _NoQueue()
    elif variant == "roundtrip":
        queue = _RoundTripQueue(make_huey())
    elif variant == "hueyqueue":
        from layer_webhooks.adapters.huey import HueyQueue

        queue = HueyQueue(make_huey())
    else:
        raise SystemExit(f"unknown BENCH_VARIANT {variant!r}")
    return Receiver(SECRET, [Hook(HOOK_NAME, HOOK_PATH, ["message.sent"])], queue)


def empty_task(name: str, data: Mapping[str, Any]) -> None:
    """The plain huey task of the drain floor: it does nothing with the job it is given."""


def consumer() -> Any:
    """The huey instance ``huey_consumer benchmarks._web.huey`` runs, as ``BENCH_CONSUMER`` says:
    ``plain`` (:func:`empty_task` as a huey task) or ``hueyqueue`` (a ``HueyQueue``, an empty handler)."""
    instance = make_huey()
    if os.environ["BENCH_CONSUMER"] == "plain":
        instance.task(name="bench_empty")(empty_task)
        return instance
    from layer_webhooks.adapters.huey import HueyQueue

    queue = HueyQueue(instance)
    queue.process(HOOK_NAME, lambda job: None)
    return instance


def __getattr__(name: str) -> Any:
    if name == "huey" and os.environ.get("BENCH_CONSUMER"):
        globals()["huey"] = instance = consumer()
        return instance
    raise AttributeError(name)


async def _bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"OK"})


def _bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"OK"]


def asgi_app() -> Any:
    """``uvicorn --factory benchmarks._web:asgi_app``"""
    if os.environ["BENCH_VARIANT"] == "bare":
        return _bare_asgi
    from layer_webhooks.adapters.asgi import WebhookApp

    return WebhookApp(None, _receiver())


def wsgi_app() -> Any:
    """``gunicorn 'benchmarks._web:wsgi_app()'``"""
    if os.environ["BENCH_VARIANT"] == "bare":
        return _bare_wsgi
    from layer_webhooks.adapters.wsgi import WebhookMiddleware

    return WebhookMiddleware(None, _receiver())


# -- the servers -------------------------------------------------------------------------------

_UVICORN = ["-m", "uvicorn", "--factory", "benchmarks._web:asgi_app", "--host", "127.0.0.1"]
_UVICORN_TAIL = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
_GUNICORN = ["-m", "gunicorn", "--log-level", "warning"]

#: name -> (label, argv after the interpreter, given the port). "floor" is benchmarks/_floor.py.
SERVERS: dict[str, tuple[str, Callable[[int], list[str]]]] = {
    "uvicorn-1": (
        "uvicorn, 1 worker",
        lambda port: [*_UVICORN, "--port", str(port), "--workers", "1", *_UVICORN_TAIL, "--lifespan", "off"],
    ),
    "uvicorn-2": (
        "uvicorn, 2 workers",
        lambda port: [*_UVICORN, "--port", str(port), "--workers", "2", *_UVICORN_TAIL, "--lifespan", "off"],
    ),
    "gunicorn-sync": (
        "gunicorn, 2 sync workers",
        lambda port: [*_GUNICORN, "-b", f"127.0.0.1:{port}", "-w", "2", "-k", "sync", "benchmarks._web:wsgi_app()"],
    ),
}


def gthread(threads: int) -> str:
    """Register (once) and name the server ``gunicorn -w 2 -k gthread --threads <threads> --keep-alive 5
    --reuse-port`` (each worker its own listening socket: the kernel spreads kept-alive connections
    over the workers, where one shared socket may leave one worker with most of them)."""
    name = f"gthread-{threads}"
    if name not in SERVERS:
        label = f"gunicorn, 2 gthread workers x {threads} threads, keep-alive, reuse-port"
        SERVERS[name] = (
            label,
            lambda port: [
                *_GUNICORN, "-b", f"127.0.0.1:{port}", "-w", "2", "-k", "gthread", "--threads", str(threads),
                "--keep-alive", "5", "--reuse-port", "benchmarks._web:wsgi_app()",
            ],
        )  # fmt: skip
    return name


def label(server: str) -> str:
    if server == "floor":
        return "raw Python server (uvloop + httptools, 1 process)"
    return SERVERS[server][0]


def check_tools(servers: list[str]) -> None:
    """Exit with what to install when a tool the run needs is missing."""
    missing = [tool for tool in ("wrk", "redis-server") if shutil.which(tool) is None]
    modules = ["uvloop", "httptools", "redis", "huey"]
    if any(s.startswith("uvicorn") for s in servers):
        modules.append("uvicorn")
    if any(s.startswith(("gunicorn", "gthread")) for s in servers):
        modules.append("gunicorn")
    missing += [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(
            f"missing: {', '.join(missing)}. uvicorn is measured as uvicorn[standard] runs it (uvloop + "
            "httptools): pip install 'uvicorn[standard]' gunicorn huey redis; apt-get install wrk redis-server"
        )


# -- the deliveries ----------------------------------------------------------------------------

_PLACEHOLDER = "@@ID@@"

_LUA = """
local parts, signatures, ids, sent = {}, {}, {}, 0
local threads_seen = 0
function setup(thread)
  thread:set("index", threads_seen)
  threads_seen = threads_seen + 1
end
function init(args)
  local file = assert(io.open(args[1], "rb"))
  local template, placeholder, threads = file:read("*l"), args[2], tonumber(args[3])
  local start = 1
  while true do
    local i, j = string.find(template, placeholder, start, true)
    if not i then break end
    parts[#parts + 1] = string.sub(template, start, i - 1)
    start = j + 1
  end
  parts[#parts + 1] = string.sub(template, start)
  local n = 0
  for line in file:lines() do
    if n % threads == index then
      signatures[#signatures + 1] = string.sub(line, 1, 40)
      ids[#ids + 1] = string.sub(line, 42)
    end
    n = n + 1
  end
  file:close()
  headers = {HEADERS}
end
function request()
  sent = sent + 1
  local k = (sent - 1) % #ids + 1
  headers["Layer-Webhook-Signature"] = signatures[k]
  return wrk.format("POST", nil, headers, table.concat(parts, ids[k]))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Deliveries:
    """``count`` distinct signed ``message.sent`` deliveries for wrk: one body template whose
    event id (and message id) wrk fills in per request, and a signature per id."""

    directory: Path
    count: int
    template: str = ""
    path: Path = field(default_factory=Path)
    script: Path = field(default_factory=Path)

    def __post_init__(self) -> None:
        payload = json.loads(make_bodies(1)[0])
        message_uuid = payload["message"]["id"].rsplit("/", 1)[1]
        payload["event"]["id"] = _PLACEHOLDER
        self.template = json.dumps(payload, separators=(",", ":")).replace(message_uuid, _PLACEHOLDER)
        parts = [part.encode() for part in self.template.split(_PLACEHOLDER)]
        key, nonce = SECRET.encode(), uuid.uuid4().hex[:8]
        self.path = self.directory / f"deliveries-{nonce}.txt"
        with self.path.open("wb") as out:
            out.write(self.template.encode() + b"\n")
            for i in range(self.count):
                event_id = f"{nonce}-0000-4000-8000-{i:012x}".encode()
                signature = hmac.digest(key, event_id.join(parts), "sha1").hex().encode()
                out.write(signature + b" " + event_id + b"\n")
        self.script = self.directory / "deliveries.lua"
        table = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in HEADERS.items()) + "}"
        self.script.write_text(_LUA.replace("{HEADERS}", table))

    @property
    def size(self) -> int:
        """Bytes in one body."""
        return len(self.template.replace(_PLACEHOLDER, str(uuid.UUID(int=0))).encode())


def run_wrk(url: str, deliveries: Deliveries, connections: int, seconds: int) -> dict[str, float]:
    """``wrk -t1 -c<connections> -d<seconds>s`` posting ``deliveries`` in turn."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(deliveries.script), url]
    out = subprocess.run(
        [*argv, "--", str(deliveries.path), _PLACEHOLDER, "1"], capture_output=True, text=True, timeout=seconds + 60
    )
    line = next((line for line in out.stdout.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")
    count, micros, connect, read, write, status, timeout, p50, p99 = map(int, line.split()[1:])
    return {
        "requests": count,
        "ok": count - status,
        "rps": count / (micros / 1e6),
        "errors": connect + read + write + timeout,
        "non2xx": status,
        "p50": p50 / 1e3,
        "p99": p99 / 1e3,
    }


# -- one cell ----------------------------------------------------------------------------------


@dataclass
class Bench:
    """What every cell of one run shares: Redis, the deliveries, the load and a place for logs."""

    redis_url: str
    directory: Path
    deliveries: Deliveries
    warm: Deliveries
    duration: int
    warmup: int = 1  # wrk takes whole seconds
    failures: list[str] = field(default_factory=list)

    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis_url)

    @contextmanager
    def serving(self, server: str, variant: str) -> Iterator[tuple[int, int, str]]:
        """Start ``server`` serving ``variant``; yield its port, pid and huey name."""
        port, name = free_port(), f"b{uuid.uuid4().hex[:8]}"
        if server == "floor":
            argv = [str(HERE / "_floor.py"), "--port", str(port), "--mode", variant]
            argv += ["--redis", self.redis_url, "--key", f"floor.{name}"]
        else:
            argv = SERVERS[server][1](port)
        env = {
            "BENCH_VARIANT": variant,
            "BENCH_REDIS_URL": self.redis_url,
            "BENCH_HUEY_NAME": name,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        log = self.directory / f"{server}-{variant}.log"
        with running([sys.executable, *argv], log=log, port=port, env=env, cwd=ROOT) as process:
            _probe(port, process, log)
            yield port, process.pid, name

    def measure(self, server: str, variant: str, connections: int) -> dict[str, float]:
        """One run of ``variant`` on a fresh ``server``: warm up, measure, count the jobs stored."""
        client = self.redis()
        client.flushall()
        with self.serving(server, variant) as (port, pid, name):
            url = f"http://127.0.0.1:{port}{HOOK_PATH}"
            run_wrk(url, self.warm, connections, self.warmup)  # other ids than the measured run's
            client.flushall()
            redis_pid = int(client.info("server")["process_id"])
            before, redis_before = cpu_seconds(pid), cpu_seconds(redis_pid)
            figures = run_wrk(url, self.deliveries, connections, self.duration)
            figures["cpu"] = (cpu_seconds(pid) - before) / max(figures["requests"], 1) * 1e6
            figures["redis_cpu"] = (cpu_seconds(redis_pid) - redis_before) / max(figures["requests"], 1) * 1e6
        expected = figures["ok"]
        if figures["requests"] > self.deliveries.count and variant in ("memory", "roundtrip", "hueyqueue"):
            print(
                f"  warning: {figures['requests']:.0f} requests > {self.deliveries.count} distinct deliveries:"
                " some were duplicates (raise --deliveries)",
                flush=True,
            )
            expected = min(expected, self.deliveries.count)
        figures["stored"] = self._stored(server, variant, name, expected)
        if figures["stored"] >= 0 and figures["stored"] < expected:
            failure = (
                f"{server} {variant}: {figures['ok']:.0f} answered 2xx, only {figures['stored']:.0f} jobs in Redis"
            )
            self.failures.append(failure)
            print(f"  LOST: {failure}", flush=True)
        if figures["errors"] or figures["non2xx"]:
            print(f"  note: {figures['non2xx']:.0f} non-2xx, {figures['errors']:.0f} socket errors", flush=True)
        client.flushall()
        return figures

    def _stored(self, server: str, variant: str, name: str, expected: float) -> float:
        """Jobs found in Redis after a run (-1 where nothing is written to Redis)."""
        client = self.redis()
        if server == "floor":
            return float(client.llen(f"floor.{name}")) if variant == "durable" else -1.0
        if variant not in ("roundtrip", "hueyqueue"):
            return -1.0
        instance = make_huey(self.redis_url, name)
        count = int(instance.pending_count())  # one huey message per job, as huey's enqueue writes it
        if variant == "hueyqueue" and count < expected:  # the ledger's own count, if messages are grouped
            from layer_webhooks.adapters.huey import HueyQueue

            queue = HueyQueue(instance)
            count = max(count, len(queue.pending()))
            queue.close()
        return float(count)


def _probe(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait (at most 30 s) until the server answers one HTTP request (gunicorn binds first)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", HOOK_PATH, b"{}", HEADERS)
            conn.getresponse().read()
            conn.close()
            return
        except (OSError, http.client.HTTPException):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {port} does not answer: see {log}") from None
            time.sleep(0.05)


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def ratio(runs: list[dict[str, float]], bases: list[dict[str, float]], key: str = "rps") -> float:
    """The median of the per-round ratios (each round's two runs are back to back)."""
    return statistics.median(ratios(runs, bases, key))


def ratios(runs: list[dict[str, float]], bases: list[dict[str, float]], key: str = "rps") -> list[float]:
    """Each round's ratio of ``runs`` to ``bases``, in round order."""
    return [run[key] / base[key] for run, base in zip(runs, bases, strict=True) if base[key]]
