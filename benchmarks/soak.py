"""Soak: deliveries at a steady rate through real servers, a real Redis and real consumers, with faults.

Run (the 10-minute soak, the CI soak, the scale-out table)::

    python benchmarks/soak.py --rate 500 --duration 600 --faults
    python benchmarks/soak.py --rate 50 --duration 60 --faults          # tox -e soak
    python benchmarks/soak.py --scale --duration 40 --concurrency 48    # servers x consumers

What runs, every process on this machine:

- one ``redis-server`` with persistence (``appendonly yes``, ``appendfsync always``) on
  127.0.0.1, shared by everything: huey's queue, the ``HueyQueue`` ledger and the
  ``RedisStore`` of the de-duplication claims;
- ``--servers`` uvicorn processes (one worker each: the ASGI adapter, ``enqueue_async`` with
  group commit, ``RedisStore`` with an async client), each on a loopback address of its own
  (127.0.0.2, 127.0.0.3, ...), as on separate machines behind a load balancer;
- ``--consumers`` ``huey_consumer`` processes (``-w 8 -k thread``) running a handler that fails
  at random (``--fail``, retried with backoff), is slow now and then (``--slow`` of the jobs
  sleep ``--slow-seconds``), and appends each event it processed to a file of its own
  (``os.write`` of one line: it survives a SIGKILL);
- a loader in this process that signs and posts ``message.sent`` deliveries as Layer does
  (compact body, Layer's headers, the HMAC of the body) to the servers in turn, with Layer's
  1 s deadline: a timeout, a non-2xx or a broken connection is retried after Layer's schedule
  (10, 30, 120, 300, 1200 s) times ``--retry-scale``. It stands in for the emulator, whose
  worker sends one delivery at a time: too slow for hundreds of deliveries a second.

With ``--faults``, on a schedule through the run: a consumer SIGKILLed (restarted 2 s later,
as a supervisor would), Redis SIGKILLed and restarted 1 s later, a server process SIGKILLed
(restarted 1 s later); then again, in turn, every ``--fault-every`` seconds.

Afterwards it waits (bounded) for the consumers to drain, then reports: published,
acknowledged (events answered 2xx), processed, processed twice, lost (acknowledged, never
processed), not acknowledged (Layer's retries ran out), dead letters, the acknowledgement
latency of the 2xx answers (p50/p99/max; deadline misses counted apart and in the p99),
and throughput over time. Pass: lost = 0, every acknowledged event processed at least once,
p99 acknowledgement under 1 s. The exit status is 0 on a pass. ``--json FILE`` writes the
report as JSON.

``--scale`` runs the same system without process kills (they would dominate short runs;
random handler failures stay on) for each of 1, 2, 4 servers x 1, 2, 4 consumers, the loader
closed-loop (``--concurrency`` deliveries in flight, each next one sent once the last is
answered), and prints acknowledgements/s, jobs processed/s and the scaling factor over 1x1.

Needs redis-server, uvicorn, huey, redis-py and starlette (``pip install -e '.[all]' uvicorn``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from layer_webhooks import Hook, Job, sign  # noqa: E402
from layer_webhooks._layer import DELIVERY_DEADLINE, DELIVERY_RETRY_SCHEDULE  # noqa: E402
from layer_webhooks.testing import compact, layer_headers, make_event  # noqa: E402

SECRET = "soak secret"
HOOK = Hook("Webhook Example", "/hook", ["message.sent"])
LEASE = 10.0  # seconds: a SIGKILLed consumer's jobs run again about this long after

# -- the app the servers and consumers load (configured by SOAK_* environment variables) --------


def _parts() -> tuple[Any, Any, Any]:
    import redis
    from huey import RedisHuey

    from layer_webhooks.adapters.huey import HueyQueue

    # As docs/huey.md advises: one client (its pool shared with huey), timeouts of a few seconds.
    client = redis.Redis.from_url(os.environ["SOAK_REDIS_URL"], socket_timeout=5, socket_connect_timeout=2)
    huey = RedisHuey(os.environ["SOAK_NAME"], connection_pool=client.connection_pool)
    return client, huey, HueyQueue(huey, lease=float(os.environ.get("SOAK_LEASE", LEASE)))


def asgi_app() -> Any:
    """``uvicorn --factory soak:asgi_app``: the receiver on HueyQueue and RedisStore."""
    import redis.asyncio

    from layer_webhooks import Receiver
    from layer_webhooks.adapters.asgi import WebhookApp
    from layer_webhooks.adapters.redis import RedisStore

    client, _, queue = _parts()
    async_client = redis.asyncio.Redis.from_url(os.environ["SOAK_REDIS_URL"], socket_timeout=5)
    store = RedisStore(client, prefix=f"soak:{os.environ['SOAK_NAME']}:", async_client=async_client)
    return WebhookApp(None, Receiver(SECRET, [HOOK], queue, store=store))


def _handler(directory: Path) -> Callable[[Job], None]:
    fail, slow = float(os.environ["SOAK_FAIL"]), float(os.environ["SOAK_SLOW"])
    slow_seconds = float(os.environ["SOAK_SLOW_SECONDS"])
    fd = os.open(directory / f"processed-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def on_message(job: Job) -> None:
        draw = random.random()
        if draw < fail:
            raise RuntimeError("a planned failure")
        if draw < fail + slow:
            time.sleep(slow_seconds)
        os.write(fd, f"{job.data['event_id']}\t{job.attempt}\t{time.time():.3f}\n".encode())

    return on_message


if os.environ.get("SOAK_ROLE") == "consumer":  # huey_consumer soak.huey
    _, huey, _queue = _parts()
    _queue.process(HOOK.name, _handler(Path(os.environ["SOAK_DIR"])), attempts=10, backoff=0.5)


# -- processes ----------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Process:
    """A process this script supervises: started, SIGKILLed, restarted; its output in ``log``."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path, listen: tuple[str, int] | None):
        self.name, self.command, self.env, self.log, self.listen = name, command, env, log, listen
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env={**os.environ, **self.env}, cwd=HERE, stdout=out, stderr=out, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while self.listen is not None and not _listening(*self.listen):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: see {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the process and all its children (its own session)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            self.kill()


@dataclass
class System:
    """Redis, the servers and the consumers of one run."""

    directory: Path
    servers: int
    consumers: int
    fail: float
    slow: float
    slow_seconds: float
    redis: Process = field(init=False)
    web: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    name: str = field(default_factory=lambda: f"soak{uuid.uuid4().hex[:6]}")

    def __post_init__(self) -> None:
        port = free_port()
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        command = [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
            "--logfile", "redis.log",
        ]  # fmt: skip
        self.redis = Process("redis", command, {}, self.directory / "redis.out", ("127.0.0.1", port))
        env = {
            "SOAK_REDIS_URL": self.redis_url, "SOAK_NAME": self.name, "SOAK_DIR": str(self.directory),
            "SOAK_FAIL": str(self.fail), "SOAK_SLOW": str(self.slow), "SOAK_SLOW_SECONDS": str(self.slow_seconds),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
        }  # fmt: skip
        self.addresses = []
        for k in range(self.servers):
            host = f"127.0.0.{k + 2}"
            port = free_port(host)
            self.addresses.append((host, port))
            command = [
                sys.executable, "-m", "uvicorn", "--factory", "soak:asgi_app", "--host", host, "--port", str(port),
                "--workers", "1", "--no-access-log", "--log-level", "warning", "--lifespan", "off",
            ]  # fmt: skip
            self.web.append(Process(f"server {host}", command, env, self.directory / f"server-{k}.log", (host, port)))
        for j in range(self.consumers):
            command = [sys.executable, "-m", "huey.bin.huey_consumer", "soak.huey", "-w", "8", "-k", "thread"]
            consumer_env = {**env, "SOAK_ROLE": "consumer"}
            self.workers.append(
                Process(f"consumer {j}", command, consumer_env, self.directory / f"consumer-{j}.log", None)
            )

    def start(self) -> None:
        self.redis.start()
        for process in (*self.web, *self.workers):
            process.start()
        time.sleep(1.0)  # the consumers import, connect and start their heartbeats

    def stop(self) -> None:
        for process in (*self.workers, *self.web):
            process.stop()
        self.redis.stop()

    def processed(self) -> dict[str, list[tuple[int, float]]]:
        """Event id -> (attempt, time) of each time a handler finished it."""
        done: dict[str, list[tuple[int, float]]] = {}
        for path in self.directory.glob("processed-*.log"):
            for line in path.read_text().splitlines():
                parts = line.split("\t")
                if len(parts) == 3:  # a line cut by a SIGKILL mid-write would be shorter
                    done.setdefault(parts[0], []).append((int(parts[1]), float(parts[2])))
        return done

    def queue_state(self) -> tuple[int, int]:
        """(pending, dead letters) as the ledger has them now."""
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        prefix = f"huey.layer_webhooks.{self.name}."
        try:
            return int(client.hlen(prefix + "record")), int(client.hlen(prefix + "dead"))
        finally:
            client.close()

    def log_errors(self) -> dict[str, int]:
        """Tracebacks per process log (the consumers', the servers')."""
        counts = {}
        for path in sorted(self.directory.glob("*.log")):
            if path.name.startswith(("server", "consumer")):
                counts[path.name] = path.read_text(errors="replace").count("Traceback")
        return counts


# -- the loader: Layer's deliveries over raw HTTP/1.1 keep-alive connections ---------------------


class Connections:
    """Idle keep-alive connections per server address."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    async def post(self, address: tuple[str, int], head: bytes, body: bytes) -> int:
        """POST and read the answer; its status (raises OSError, asyncio.IncompleteReadError...)."""
        idle = self.idle.setdefault(address, [])
        reader, writer = idle.pop() if idle else await asyncio.open_connection(*address)
        try:
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionResetError("closed before answering")
            status = int(status_line.split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        idle.append((reader, writer))
        return status

    def close(self) -> None:
        for pairs in self.idle.values():
            for _, writer in pairs:
                writer.close()


@dataclass
class Tally:
    """What the loader saw."""

    started: float = field(default_factory=time.monotonic)
    published: int = 0
    attempts: int = 0
    acknowledged: dict[str, float] = field(default_factory=dict)  # event id -> when (s since start)
    latencies: list[float] = field(default_factory=list)  # of each 2xx answer
    timeouts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    gave_up: list[str] = field(default_factory=list)


class Loader:
    """Signs and posts deliveries as Layer does, retrying on Layer's schedule times ``retry_scale``."""

    def __init__(self, addresses: list[tuple[str, int]], retry_scale: float) -> None:
        self.addresses = addresses
        self.schedule = [delay * retry_scale for delay in DELIVERY_RETRY_SCHEDULE]
        self.connections = Connections()
        self.tally = Tally()
        self._turn = itertools.count()
        template = make_event("message.sent", event_id="__ID__", config={"name": HOOK.name})
        self.template = compact(template)
        self.headers = layer_headers(self.template, SECRET)  # Layer's header set; values set per event

    def request(self, event_id: str) -> tuple[bytes, bytes]:
        body = self.template.replace(b"__ID__", event_id.encode())
        headers = {**self.headers, "layer-webhook-request-id": event_id, "layer-webhook-signature": sign(body, SECRET)}
        lines = [f"POST {HOOK.path} HTTP/1.1", "Host: soak", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode(), body

    async def deliver(self, event_id: str) -> None:
        """Every attempt of one delivery, until a 2xx or the end of Layer's schedule."""
        tally = self.tally
        tally.published += 1
        head, body = self.request(event_id)
        for wait in (0.0, *self.schedule):
            await asyncio.sleep(wait)
            address = self.addresses[next(self._turn) % len(self.addresses)]
            tally.attempts += 1
            sent = time.monotonic()
            try:
                status = await asyncio.wait_for(self.connections.post(address, head, body), DELIVERY_DEADLINE)
            except asyncio.TimeoutError:
                tally.timeouts += 1
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                tally.statuses["no answer"] = tally.statuses.get("no answer", 0) + 1
                continue
            tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
            if 200 <= status < 300:
                tally.latencies.append(time.monotonic() - sent)
                tally.acknowledged[event_id] = time.monotonic() - tally.started
                return
        tally.gave_up.append(event_id)

    async def open_loop(self, rate: float, duration: float) -> None:
        """Start a delivery every ``1 / rate`` s for ``duration`` s; return once all have ended."""
        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        for n in itertools.count():
            due = start + n / rate
            if due - start >= duration:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.get_running_loop().create_task(self.deliver(f"soak-{n}"))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)

    async def closed_loop(self, concurrency: int, duration: float) -> None:
        """``concurrency`` deliveries in flight, each next one once the last is done, for ``duration`` s."""
        ids = itertools.count()
        end = time.monotonic() + duration

        async def lane() -> None:
            while time.monotonic() < end:
                await self.deliver(f"scale-{next(ids)}")

        await asyncio.gather(*(lane() for _ in range(concurrency)))


# -- faults ---------------------------------------------------------------------------------------


def fault_plan(system: System, duration: float, every: float) -> list[tuple[float, str, Callable[[], None]]]:
    """(when, what, do it): a consumer, Redis, a server, in turn, the first at ``every / 2`` s."""

    def bounce(process: Process, down: float) -> Callable[[], None]:
        def run() -> None:
            process.kill()
            time.sleep(down)
            process.start()

        return run

    kinds = itertools.cycle(["consumer", "redis", "server"])
    plan = []
    for n, when in enumerate(itertools.takewhile(lambda t: t < duration - 5, itertools.count(every / 2, every))):
        kind = next(kinds)
        if kind == "consumer":
            target = system.workers[n % len(system.workers)]
            plan.append((when, f"SIGKILL {target.name}, restarted 2 s later", bounce(target, 2.0)))
        elif kind == "redis":
            plan.append((when, "SIGKILL redis-server, restarted 1 s later", bounce(system.redis, 1.0)))
        else:
            target = system.web[n % len(system.web)]
            plan.append((when, f"SIGKILL {target.name}, restarted 1 s later", bounce(target, 1.0)))
    return plan


async def run_faults(plan: list[tuple[float, str, Callable[[], None]]], log: list[str]) -> None:
    start = time.monotonic()
    for when, what, action in plan:
        await asyncio.sleep(max(0.0, start + when - time.monotonic()))
        log.append(f"{time.monotonic() - start:6.1f} s  {what}")
        print(f"  fault at {when:.0f} s: {what}", flush=True)
        await asyncio.to_thread(action)


# -- one run and its report -------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace, servers: int, consumers: int, faults: bool, closed: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        directory = Path(tmp)
        if args.keep is not None:
            directory = args.keep / f"{servers}x{consumers}-{uuid.uuid4().hex[:6]}"
            directory.mkdir(parents=True)
        system = System(directory, servers, consumers, args.fail, args.slow, args.slow_seconds)
        system.start()
        fault_log: list[str] = []
        try:
            loader = Loader(system.addresses, args.retry_scale)

            async def main() -> None:
                plan = fault_plan(system, args.duration, args.fault_every) if faults else []
                chaos = asyncio.get_running_loop().create_task(run_faults(plan, fault_log))
                if closed:
                    await loader.closed_loop(args.concurrency, args.duration)
                else:
                    await loader.open_loop(args.rate, args.duration)
                await chaos
                loader.connections.close()

            asyncio.run(main())
            tally = loader.tally
            window = time.monotonic() - tally.started
            # Drain: every acknowledged event processed (a killed consumer's jobs wait a lease).
            deadline = time.monotonic() + args.drain
            while True:
                processed = system.processed()
                if set(tally.acknowledged) <= set(processed) or time.monotonic() > deadline:
                    break
                time.sleep(1.0)
            pending, dead = system.queue_state()
            errors = system.log_errors()
        finally:
            system.stop()
    acked = set(tally.acknowledged)
    lost = sorted(acked - set(processed))
    twice = sum(1 for runs in processed.values() if len(runs) > 1)
    deadline_misses = [DELIVERY_DEADLINE] * tally.timeouts
    answered = tally.latencies + deadline_misses
    start_wall = time.time() - (time.monotonic() - tally.started)
    bucket = max(1.0, round(args.duration / 20))
    acks_over_time: dict[int, int] = {}
    for at in tally.acknowledged.values():
        acks_over_time[int(at // bucket)] = acks_over_time.get(int(at // bucket), 0) + 1
    done_over_time: dict[int, int] = {}
    for runs in processed.values():
        for _, at in runs:
            slot = int((at - start_wall) // bucket)
            done_over_time[slot] = done_over_time.get(slot, 0) + 1
    report = {
        "servers": servers,
        "consumers": consumers,
        "mode": f"closed loop, {args.concurrency} in flight" if closed else f"open loop, {args.rate:g} events/s",
        "duration_s": args.duration,
        "faults": fault_log,
        "published": tally.published,
        "attempts": tally.attempts,
        "acknowledged": len(acked),
        "processed": len(set(processed)),
        "processed_twice": twice,
        "lost": len(lost),
        "lost_ids": lost[:20],
        "not_acknowledged": len(tally.gave_up),
        "dead_letters": dead,
        "pending_after_drain": pending,
        "answers": dict(sorted(tally.statuses.items())),
        "deadline_misses": tally.timeouts,
        "ack_latency_ms": {
            "p50": 1000 * percentile(tally.latencies, 0.50),
            "p99": 1000 * percentile(answered, 0.99),
            "max": 1000 * max(tally.latencies, default=float("nan")),
            "p99_of_2xx_only": 1000 * percentile(tally.latencies, 0.99),
        },
        "ack_rate_per_s": len(acked) / args.duration,
        "processed_rate_per_s": _processed_rate(processed, start_wall, args.duration),
        "bucket_s": bucket,
        "acks_per_bucket": [acks_over_time.get(i, 0) for i in range(int(window // bucket) + 1)],
        "processed_per_bucket": [done_over_time.get(i, 0) for i in range(max(done_over_time, default=0) + 1)],
        "tracebacks_in_logs": errors,
    }
    report["pass"] = (
        report["lost"] == 0 and acked <= set(processed) and report["ack_latency_ms"]["p99"] < 1000 * DELIVERY_DEADLINE
    )
    return report


def _processed_rate(processed: dict[str, list[tuple[int, float]]], start: float, duration: float) -> float:
    """Jobs finished per second while deliveries were being published."""
    finished = sum(1 for runs in processed.values() for _, at in runs if start <= at <= start + duration)
    return finished / duration


def print_report(report: dict[str, Any]) -> None:
    lat = report["ack_latency_ms"]
    print(f"\n{report['servers']} server(s) x {report['consumers']} consumer(s), {report['mode']}, "
          f"{report['duration_s']:g} s")  # fmt: skip
    for line in report["faults"]:
        print(f"  fault {line}")
    for key in ("published", "attempts", "acknowledged", "processed", "processed_twice", "lost",
                "not_acknowledged", "dead_letters", "pending_after_drain", "deadline_misses"):  # fmt: skip
        print(f"  {key.replace('_', ' '):22s} {report[key]}")
    print(f"  answers                {report['answers']}")
    print(f"  ack latency            p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms (2xx only "
          f"{lat['p99_of_2xx_only']:.1f} ms), max {lat['max']:.1f} ms")  # fmt: skip
    print(f"  acknowledged/s         {report['ack_rate_per_s']:.1f}")
    print(f"  processed/s            {report['processed_rate_per_s']:.1f}")
    print(f"  acks per {report['bucket_s']:g} s         {report['acks_per_bucket']}")
    print(f"  processed per {report['bucket_s']:g} s    {report['processed_per_bucket']}")
    print(f"  tracebacks in logs     {report['tracebacks_in_logs']}")
    if report["lost_ids"]:
        print(f"  lost, first ones       {report['lost_ids']}")
    print(f"  PASS: {report['pass']} (lost = 0, every acknowledged event processed, p99 ack < 1 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0, help="events per second (open loop)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of publishing")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--faults", action="store_true", help="kill a consumer, Redis, a server, in turn")
    parser.add_argument("--fault-every", type=float, default=30.0, help="seconds between two faults")
    parser.add_argument("--fail", type=float, default=0.05, help="share of handler runs that raise")
    parser.add_argument("--slow", type=float, default=0.002, help="share of handler runs that are slow")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--retry-scale", type=float, default=0.05, help="factor of Layer's retry schedule")
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to wait for the consumers at the end")
    parser.add_argument("--scale", action="store_true", help="1, 2, 4 servers x 1, 2, 4 consumers, closed loop")
    parser.add_argument("--concurrency", type=int, default=48, help="deliveries in flight (closed loop)")
    parser.add_argument("--json", type=Path, help="write the report(s) here")
    parser.add_argument("--keep", type=Path, help="keep each run's logs and Redis files under this directory")
    args = parser.parse_args()
    for tool in ("redis-server",):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}", flush=True)
    if not args.scale:
        report = run(args, args.servers, args.consumers, args.faults, closed=False)
        print_report(report)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        sys.exit(0 if report["pass"] else 1)
    reports = []
    for servers in (1, 2, 4):
        for consumers in (1, 2, 4):
            print(f"\n-- {servers} server(s) x {consumers} consumer(s)", flush=True)
            report = run(args, servers, consumers, faults=False, closed=True)
            print_report(report)
            reports.append(report)
    base = min(reports[0]["ack_rate_per_s"], reports[0]["processed_rate_per_s"]) or 1.0
    print("\nservers x consumers   acks/s   processed/s   end to end   scaling   lost")
    for report in reports:
        through = min(report["ack_rate_per_s"], report["processed_rate_per_s"])
        print(f"  {report['servers']} x {report['consumers']}           {report['ack_rate_per_s']:7.0f}   "
              f"{report['processed_rate_per_s']:11.0f}   {through:10.0f}   {through / base:6.2f}x   "
              f"{report['lost']}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    sys.exit(0 if all(r["lost"] == 0 for r in reports) else 1)


if __name__ == "__main__":
    main()
